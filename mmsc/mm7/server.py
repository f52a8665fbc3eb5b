"""MM7 over HTTP (aiohttp): ``POST /mm7`` for VASP requests, ``HEAD /mm7`` as their heartbeat.

The handler reads the body within a size limit, authenticates the VASP (HTTP Basic), parses
with :mod:`mmsc.mm7.soap`, hands a SubmitReq to the relay engine, and answers in the request's
namespace and MM7Version. Every refusal is a SOAP Fault with an RSErrorRsp and the status of
TS 23.140 (HTTP 500, as SOAP 1.1 §6.2 asks; 401 for missing or wrong credentials).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from aiohttp import web

from mmsc import metrics
from mmsc.cache import TtlCache
from mmsc.http_limits import BodyTooLarge, read_body
from mmsc.relay.accept import AcceptError
from mmsc.relay.engine import UNAVAILABLE, Engine
from mmsc.state import Interface, StateStore, VaspRecord

from .auth import basic_credentials, check_password
from .soap import Mm7Error, Mm7Request, ReplyTo, build_fault, build_response, parse_request, \
    scan_reply_to, to_message

log = logging.getLogger(__name__)
XML = "text/xml"
#: How much of a body too large to take is read, to find where to answer.
SCAN_HEAD = 64 * 1024
#: The operation and MM7 status code of an answer, for the metrics.
MM7_STATUS = web.ResponseKey("mm7_status", tuple)


@dataclass
class _Bucket:
    """A token bucket: ``rate`` submits per second, bursts of up to one second's worth."""

    rate: float
    tokens: float
    at: float

    def take(self, now: float) -> bool:
        self.tokens = min(self.rate, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class Mm7:
    """The MM7 handlers around one engine and the VASP registry of the state store."""

    def __init__(self, engine: Engine, state: StateStore, *, path: str = "/mm7",
                 max_message_size: int = 600 * 1024) -> None:
        self.engine = engine
        self.state = state
        self.path = path
        self.max_message_size = max_message_size
        #: base64 inflates attachments by 4/3; the envelope and MIME headers add a little.
        self.max_body = max_message_size * 4 // 3 + 256 * 1024
        self._checked: dict[tuple[str, str], str] = {}
        self._vasps: TtlCache[str, VaspRecord | None] = TtlCache()
        self._buckets: dict[str, _Bucket] = {}

    def routes(self) -> list[web.RouteDef]:
        return [web.post(self.path, self.post), web.head(self.path, self.heartbeat)]

    async def heartbeat(self, request: web.Request) -> web.Response:
        """VASP gateways send HEAD as a keep-alive and give up on an MMSC that fails it."""
        return web.Response(status=200, content_type=XML)

    @staticmethod
    def fault(status: int, text: str, to: ReplyTo | Mm7Request,
              http_status: int = 500) -> web.Response:
        """A SOAP Fault echoing the request's namespace, MM7Version and TransactionID."""
        body = build_fault(namespace=to.namespace, version=to.version, status=status, text=text,
                           transaction_id=to.transaction_id)
        response = web.Response(status=http_status, body=body, content_type=XML)
        response[MM7_STATUS] = (getattr(to, "operation", "unknown"), status)
        if http_status == 401:
            response.headers["WWW-Authenticate"] = 'Basic realm="mmsc MM7"'
        return response

    async def _read(self, request: web.Request) -> tuple[bytes, bool]:
        """The body and whether it is whole. One over the limit is read no further than the
        limit, or than its first 64 KB when its Content-Length says so at once: enough to
        find the SOAP envelope's namespace and TransactionID, which the fault echoes."""
        limit = self.max_body
        if request.content_length is not None and request.content_length > limit:
            limit = SCAN_HEAD
        try:
            return await read_body(request, limit), True
        except BodyTooLarge as exc:
            return exc.received, False

    async def authenticate(self, request: web.Request) -> VaspRecord | None:
        credentials = basic_credentials(request.headers.get("Authorization"))
        if credentials is None:
            return None
        vasp = await self._vasps.get(credentials[0], self.state.get_vasp)
        if vasp is None or not vasp.enabled:
            return None
        if self._checked.get(credentials) != vasp.password_hash:  # PBKDF2 once per password
            if not check_password(credentials[1], vasp.password_hash):
                return None
            self._checked[credentials] = vasp.password_hash
        return vasp

    async def post(self, request: web.Request) -> web.Response:
        """One request, counted by operation and status (``mmsc_mm7_requests_total``)."""
        response = await self._post(request)
        metrics.mm7_request(*response.get(MM7_STATUS, ("unknown", 3000)))
        return response

    async def _post(self, request: web.Request) -> web.Response:
        """Every answer, faults included, in the request's namespace and MM7Version with its
        TransactionID: from the envelope when it reads, else from a scan of the body."""
        body, whole = await self._read(request)
        vasp = await self.authenticate(request)
        if vasp is None:
            log.warning("MM7 from %s refused: missing or wrong credentials", request.remote)
            return self.fault(4001, "Improper identification", scan_reply_to(body),
                              http_status=401)
        if not whole:
            log.warning("MM7 from VASP %s refused: body over %d octets", vasp.id, self.max_body)
            return self.fault(2004, f"message larger than {self.max_message_size} octets",
                              scan_reply_to(body))
        try:
            parsed = parse_request(body, request.headers.get("Content-Type", XML))
        except Mm7Error as exc:
            log.warning("MM7 from VASP %s refused (%d): %s", vasp.id, exc.status, exc.text)
            return self.fault(exc.status, exc.text, exc.reply_to or scan_reply_to(body))
        except Exception:  # noqa: BLE001 - a fault of ours: the VASP still gets a SOAP Fault
            log.exception("MM7 request of VASP %s could not be read", vasp.id)
            return self.fault(3000, "the MMSC failed to read this request", scan_reply_to(body))
        handler = {"SubmitReq": self.submit, "CancelReq": self.cancel,
                   "ReplaceReq": self.replace}.get(parsed.operation)
        if handler is None:
            return self.fault(4003, f"{parsed.operation} is not supported by this MMSC", parsed)
        try:
            return await handler(vasp, parsed)
        except Mm7Error as exc:  # a SOAP element read as the request is handled (a date)
            log.warning("%s %s of VASP %s refused (%d): %s", parsed.operation,
                        parsed.transaction_id, vasp.id, exc.status, exc.text)
            return self.fault(exc.status, exc.text, parsed)
        except UNAVAILABLE as exc:
            log.error("%s %s of VASP %s failed: %s", parsed.operation, parsed.transaction_id,
                      vasp.id, exc)
            return self.fault(4006, "storage unavailable, retry later", parsed)

    @staticmethod
    def answer(operation: str, parsed: Mm7Request, message_id: str | None = None) -> web.Response:
        """The response to ``parsed``, Success, in its namespace and version."""
        response = web.Response(body=build_response(
            operation, namespace=parsed.namespace, version=parsed.version,
            transaction_id=parsed.transaction_id, message_id=message_id), content_type=XML)
        response[MM7_STATUS] = (parsed.operation, 1000)
        return response

    async def cancel(self, vasp: VaspRecord, parsed: Mm7Request) -> web.Response:
        """CancelReq (§8.7.5) for a message of this VASP not yet retrieved by everyone."""
        message_id = parsed.fields.get("MessageID", "")
        stopped = await self.engine.cancel(message_id, vasp.id)
        if stopped is None:
            return self.fault(2005, f"no message {message_id!r} of this VASP", parsed)
        if stopped == 0:
            return self.fault(3001, "every recipient has the message already", parsed)
        return self.answer("CancelRsp", parsed)

    async def replace(self, vasp: VaspRecord, parsed: Mm7Request) -> web.Response:
        """ReplaceReq (§8.7.6): new content for the recipients that have not fetched yet."""
        message_id = parsed.fields.get("MessageID", "")
        content = parsed.content
        if content is None or not content.parts:
            return self.fault(2007, "ReplaceReq without content", parsed)
        if content.size > self.max_message_size:
            return self.fault(2004, f"content of {content.size} octets is over "
                              f"{self.max_message_size}", parsed)
        done = await self.engine.replace(message_id, vasp.id, content)
        if done is None:
            return self.fault(2005, f"no message {message_id!r} of this VASP", parsed)
        if not done:
            return self.fault(3001, "every recipient has the message already", parsed)
        return self.answer("ReplaceRsp", parsed)

    async def submit(self, vasp: VaspRecord, parsed: Mm7Request) -> web.Response:
        """SubmitReq (§8.7.2): checks, then durable acceptance, then SubmitRsp."""
        message = to_message(parsed)
        sender = parsed.sender.value if parsed.sender else None
        if sender is None and vasp.allowed_senders:
            sender = vasp.allowed_senders[0]
            message.envelope.originator = f"{sender}/TYPE=PLMN" if "@" not in sender else sender
        if sender is None:
            return self.fault(2002, "no SenderAddress and no default sender for this VASP",
                              parsed)
        if vasp.allowed_senders and sender not in vasp.allowed_senders:
            log.warning("VASP %s may not send as %s", vasp.id, sender)
            return self.fault(2001, f"sender {sender} is not allowed for this VASP", parsed)
        if not message.envelope.recipients:
            return self.fault(2002, "no recipient", parsed)
        if not message.parts:
            return self.fault(2007, "no content", parsed)
        if message.size > self.max_message_size:
            return self.fault(2004, f"message of {message.size} octets is over "
                              f"{self.max_message_size}", parsed)
        if vasp.rate_limit:
            bucket = self._buckets.setdefault(
                vasp.id, _Bucket(vasp.rate_limit, vasp.rate_limit, time.monotonic()))
            if not bucket.take(time.monotonic()):
                return self.fault(4006, "submit rate limit exceeded, retry later", parsed)
        try:
            done = await self.engine.submit(message, Interface.MM7, vasp_id=vasp.id,
                                            mm7_namespace=parsed.namespace,
                                            mm7_version=parsed.version)
        except AcceptError as exc:
            return self.fault(2007, str(exc), parsed)
        if done.duplicate:
            log.info("SubmitReq %s of VASP %s is a repeat: %s", parsed.transaction_id, vasp.id,
                     done.message_id)
        return self.answer("SubmitRsp", parsed, message_id=done.message_id)
