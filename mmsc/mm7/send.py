"""``mmsc send``: the VASP side of MM7 for testers. Builds a SubmitReq (with a SMIL made from the
parts unless one is given), posts it, prints the MessageID and status; with ``--listen`` it
also receives the DeliveryReportReq for that message and prints it."""

from __future__ import annotations

import asyncio
import mimetypes
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp import web

from mmsc.message import RELATED, Envelope, Message, MessagePart
from mmsc.smil import build_smil, default_presentation

from .auth import basic_authorization
from .soap import NS_PREFIX, Mm7Error, build_response, build_submit, parse_request
from .status import status_text

#: MM7Version -> the namespace that goes with it.
NAMESPACES = {"5.3.0": NS_PREFIX + "REL-5-MM7-1-3", "6.8.0": NS_PREFIX + "REL-6-MM7-1-4"}


class SendError(Exception):
    """The MMSC refused the submit (a fault, or not an MM7 answer): printed, exit status 1."""


@dataclass
class Submission:
    url: str
    to: list[str]
    user: str | None = None
    password: str | None = None
    sender: str | None = None
    subject: str | None = None
    text: str | None = None
    files: list[Path] = field(default_factory=list)
    smil: Path | None = None
    delivery_report: bool = False
    version: str = "6.8.0"


def _number(address: str) -> str:
    return address if "@" in address or "/TYPE=" in address else f"{address}/TYPE=PLMN"


def compose(s: Submission) -> Message:
    """The MM: text and files as parts, and a SMIL (the given one, or one made for them)."""
    parts = []
    if s.text:
        parts.append(MessagePart.from_text(s.text, content_id="text", content_location="text.txt"))
    for i, path in enumerate(s.files):
        media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        parts.append(MessagePart(media, path.read_bytes(), content_id=f"part{i}",
                                 content_location=path.name))
    if not parts:
        raise SendError("nothing to send: give --text or --file")
    smil = s.smil.read_bytes() if s.smil else build_smil(default_presentation(parts))
    parts.insert(0, MessagePart("application/smil", smil, content_id="smil",
                                content_location="smil.xml"))
    return Message(Envelope(to=[_number(a) for a in s.to], subject=s.subject,
                            delivery_report=s.delivery_report or None),
                   parts, multipart=RELATED, start="smil")


async def submit(s: Submission) -> tuple[str, int, str]:
    """Post the SubmitReq; (MessageID, StatusCode, StatusText), or SendError."""
    namespace = NAMESPACES.get(s.version, NAMESPACES["6.8.0"])
    body, content_type = build_submit(
        namespace=namespace, version=s.version, transaction_id=secrets.token_hex(8),
        vasp_id=s.user, vas_id=None, sender=s.sender, message=compose(s))
    headers = {"Content-Type": content_type, "SOAPAction": '""'}
    if s.user:
        headers["Authorization"] = basic_authorization(s.user, s.password or "")
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
        async with http.post(s.url, data=body, headers=headers) as response:
            answer = await response.read()
            http_status = response.status
    try:
        parsed = parse_request(answer)
    except Mm7Error:
        raise SendError(f"HTTP {http_status}: not an MM7 answer") from None
    code = parsed.status_code or 0
    text = status_text(code)
    if parsed.operation != "SubmitRsp" or code >= 2000:
        raise SendError(f"{code} {text}")
    return parsed.fields.get("MessageID", ""), code, text


class ReportListener:
    """An MM7 endpoint on loopback that takes DeliveryReportReq (and ReadReplyReq) and
    remembers the first by MessageID; started before the submit so that no report can come
    too early."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reports: dict[str, str] = {}
        self._arrived = asyncio.Event()
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.add_routes([web.post("/{tail:.*}", self._handle)])
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def _handle(self, request: web.Request) -> web.Response:
        report = parse_request(await request.read())
        who = report.recipient.value if report.recipient else ""
        self.reports.setdefault(report.fields.get("MessageID", ""), (
            f"{report.operation} {report.fields.get('MessageID')}: "
            f"{report.fields.get('MMStatus')} {who} "
            f"({report.namespace.rsplit('/', 1)[-1]} {report.version})"))
        self._arrived.set()
        return web.Response(body=build_response(
            report.operation.replace("Req", "Rsp"), namespace=report.namespace,
            version=report.version, transaction_id=report.transaction_id),
            content_type="text/xml")

    async def wait_for(self, message_id: str, timeout: float) -> str:
        async with asyncio.timeout(timeout):
            while message_id not in self.reports:
                self._arrived.clear()
                await self._arrived.wait()
        return self.reports[message_id]

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
