"""Requests mmsc sends to VASPs over MM7: the DeliveryReportReq owed when a recipient of a
VASP's message reaches a final state (TS 23.140 §8.7.8) and the ReadReplyReq when it reads
it (§8.7.9), written in the VASP's configured namespace and version, else in those of the
SubmitReq they answer.

A VASP whose endpoint asks for HTTP Basic gets its credentials from the configuration
(``report_username``/``report_password``, or ``user:password@`` in ``report_url``). They
are kept in memory only: the state store, the log and the events see the URL without them.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timezone
from typing import Any, Mapping

import aiohttp
from yarl import URL

from mmsc.state import ReportRecord, StateStore, VaspRecord

from mmsc.message import Message

from .auth import basic_authorization
from .soap import DEFAULT_NAMESPACE, Mm7Error, build_deliver, build_report, parse_request
from .status import is_success

log = logging.getLogger(__name__)


def split_credentials(url: str) -> tuple[str, str | None]:
    """The URL without its userinfo (RFC 3986 §3.2.1), and the HTTP Basic ``Authorization``
    that held."""
    parsed = URL(url)
    if parsed.user is None:
        return url, None
    return str(parsed.with_user(None)), basic_authorization(parsed.user, parsed.password or "")


class VaspReporter:
    """Sends the reports of the outbox to each VASP's ``report_url``, with the HTTP Basic
    ``credentials`` (``Authorization`` values) of the VASPs that want them, by VASP id."""

    def __init__(self, state: StateStore, timeout: float = 15.0,
                 credentials: Mapping[str, str] | None = None) -> None:
        self.state = state
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.credentials = dict(credentials or {})
        self._http: aiohttp.ClientSession | None = None

    async def send(self, report: ReportRecord) -> tuple[bool, bool, dict[str, Any]]:
        """(sent, worth retrying, detail for the event)."""
        message = await self.state.get_message(report.message_id)
        recipient = await self.state.get_recipient(report.recipient_id or 0)
        vasp = await self.state.get_vasp(message.vasp_id or "") if message else None
        if message is None or recipient is None or vasp is None or not vasp.report_url:
            return False, False, {"why": "no report_url for this VASP"}
        namespace = vasp.mm7_namespace or message.mm7_namespace or DEFAULT_NAMESPACE
        version = vasp.mm7_version or message.mm7_version or "6.8.0"
        body = build_report(
            kind=report.kind, namespace=namespace, version=version, transaction_id=secrets.token_hex(8),
            message_id=message.id, recipient=recipient.address, sender=message.originator,
            status=report.status, date=datetime.fromtimestamp(report.created_at, timezone.utc),
            text=report.status_text)
        taken, retry, detail = await self._post(vasp, body, "text/xml; charset=utf-8")
        return taken, retry, {**detail, "status": report.status}

    async def deliver(self, vasp_id: str, message: Message) -> tuple[bool, bool, dict[str, Any]]:
        """A DeliverReq (§8.7.3) with a handset's message to the VASP's URL."""
        vasp = await self.state.get_vasp(vasp_id)
        if vasp is None or not vasp.report_url:
            return False, False, {"why": f"no URL for VASP {vasp_id}"}
        body, content_type = build_deliver(
            namespace=vasp.mm7_namespace or DEFAULT_NAMESPACE,
            version=vasp.mm7_version or "6.8.0", transaction_id=secrets.token_hex(8),
            message=message)
        return await self._post(vasp, body, content_type)

    async def _post(self, vasp: VaspRecord, body: bytes,
                    content_type: str) -> tuple[bool, bool, dict[str, Any]]:
        """Post one request to the VASP's URL; an answer with a success status is taken, a
        3xxx/4xxx status, a refusal of the credentials or a network failure is worth a
        retry, a 2xxx (the request is wrong) is not."""
        # a row written before mmsc kept credentials out of the state store may still hold them
        url, in_url = split_credentials(vasp.report_url or "")
        auth = self.credentials.get(vasp.id) or in_url
        headers = {"Content-Type": content_type, "SOAPAction": '""'}
        if auth:
            headers["Authorization"] = auth
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=self.timeout)
        try:
            async with self._http.post(url, data=body, headers=headers) as response:
                http_status = response.status
                if http_status == 401:
                    # its body says nothing more, and may have no length on a connection
                    # kept open (read until the timeout): closed unread
                    response.close()
                    return False, True, {"to": url, "why": "HTTP 401: " + (
                        "the VASP refused the credentials" if auth else
                        "the VASP asks for credentials (report_username)")}
                answer = await response.read()
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return False, True, {"why": f"{url}: {exc!r}"}
        try:
            code = parse_request(answer).status_code
        except Mm7Error:
            code = None
        if code is None:
            return False, http_status >= 500, {"why": f"HTTP {http_status}, unreadable answer"}
        return is_success(code), 3000 <= code < 5000, {"to": url, "answer": code}

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
