"""MM1 over HTTP (aiohttp): ``POST /mms`` for what handsets send, ``GET /m/<token>`` for
retrieval. Handlers parse with the codec, call the engine, and encode the answer; every
refusal is the PDU the handset expects (m-send-conf or m-retrieve-conf with an error status),
never an HTML page.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import replace
from datetime import datetime, timezone

from aiohttp import web

from wap_push.wsp import ContentType, EncodedString

from mmsc.http_limits import BodyTooLarge, read_body
from mmsc.message import Message
from mmsc.mms_body import from_pdu
from mmsc.pdu import (
    MessageClass, MessageType, MmsPdu, PduDecodeError, PduEncodeError, ResponseStatus,
    RetrieveStatus, Status, decode, encode, problems,
)
from mmsc.relay.accept import AcceptError
from mmsc.relay.engine import UNAVAILABLE, ContentLost, Engine
from mmsc.relay.notices import mms_address, plmn_number, retrieve_conf
from mmsc.state import Interface

log = logging.getLogger(__name__)
MMS_TYPE = "application/vnd.wap.mms-message"


def _answer(pdu: MmsPdu) -> web.Response:
    return web.Response(body=encode(pdu), content_type=MMS_TYPE)


def send_conf(transaction_id: str, status: ResponseStatus, text: str | None = None,
              message_id: str | None = None,
              message_type: MessageType = MessageType.SEND_CONF) -> web.Response:
    """m-send-conf (or m-forward-conf), OMA-MMS-ENC §6.1.2 / §6.5.2. A transaction id that
    the lenient decoder took but the strict encoder cannot write is answered as "0"."""
    pdu = MmsPdu(message_type, transaction_id=transaction_id or "0", response_status=status,
                 message_id=message_id, response_text=EncodedString(text) if text else None)
    try:
        return _answer(pdu)
    except PduEncodeError:
        pdu.transaction_id = "0"
        return _answer(pdu)


def retrieve_error(status: RetrieveStatus, text: str) -> web.Response:
    """m-retrieve-conf carrying an error status and a short text body (§6.3, §7.3.50)."""
    return _answer(MmsPdu(MessageType.RETRIEVE_CONF, date=datetime.now(timezone.utc),
                          retrieve_status=status, retrieve_text=EncodedString(text),
                          content_type=ContentType("text/plain", {"charset": "utf-8"}),
                          body=text.encode()))


class Mm1:
    """The MM1 handlers around one engine."""

    def __init__(self, engine: Engine, *, max_message_size: int, msisdn_header: str = "X-MSISDN",
                 trusted_proxies: Collection[str] = ("127.0.0.1", "::1"),
                 open_mm1: bool = False) -> None:
        self.engine = engine
        self.max_message_size = max_message_size
        self.msisdn_header = msisdn_header
        self.trusted_proxies = set(trusted_proxies)
        self.open_mm1 = open_mm1

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/mms", self.post), web.get("/m/{token:.+}", self.retrieve)]

    def msisdn(self, request: web.Request) -> str | None:
        """The handset's number from the WAP gateway's header, believed only from a trusted
        proxy address."""
        value = request.headers.get(self.msisdn_header)
        if not value or request.remote not in self.trusted_proxies:
            return None
        return plmn_number(value.strip())

    async def post(self, request: web.Request) -> web.Response:
        limit = self.max_message_size + 64 * 1024  # the PDU's headers around the content
        try:
            if (request.content_length or 0) > limit:  # refused before reading it
                raise BodyTooLarge(b"")
            body = await read_body(request, limit)
        except BodyTooLarge:
            raise web.HTTPRequestEntityTooLarge(limit, request.content_length or 0) from None
        try:
            pdu = decode(body)
        except PduDecodeError as exc:
            log.warning("MM1 POST from %s: undecodable PDU (%s)", request.remote, exc)
            return send_conf("", ResponseStatus.ERROR_PERMANENT_MESSAGE_FORMAT_CORRUPT, str(exc))
        handler = {MessageType.SEND_REQ: self.send_req,
                   MessageType.NOTIFYRESP_IND: self.notifyresp,
                   MessageType.ACKNOWLEDGE_IND: self.acknowledge,
                   MessageType.READ_REC_IND: self.read_rec,
                   MessageType.FORWARD_REQ: self.forward_req}.get(pdu.message_type)
        if handler is None:
            log.warning("MM1 POST from %s: %s is not something a handset sends", request.remote,
                        getattr(pdu.message_type, "label", pdu.message_type))
            raise web.HTTPBadRequest(text="not an MM1 request PDU\n")
        return await handler(request, pdu)

    def _originator(self, request: web.Request, pdu: MmsPdu) -> str | None:
        """The sender: the number a trusted proxy's header names (OMA-MMS-ENC §6.1.1: the
        MMSC inserts the address it knows). A From written in the PDU is believed only under
        ``[http] open_mm1`` (a lab without a WAP gateway); otherwise a request that no
        trusted header names is not taken (no spoofing)."""
        number = self.msisdn(request)
        if number is not None:
            return mms_address(number)
        if self.open_mm1 and isinstance(pdu.sender, str) and pdu.sender.strip():
            return str(pdu.sender).strip()
        return None

    def _unidentified(self, request: web.Request, what: str) -> None:
        log.warning("%s from %s refused: no %s header from a trusted proxy%s", what,
                    request.remote, self.msisdn_header,
                    "" if self.open_mm1 else " and [http] open_mm1 is off")

    async def send_req(self, request: web.Request, pdu: MmsPdu) -> web.Response:
        tid = pdu.transaction_id or ""
        wrong = [p for p in problems(pdu) if "lacks" in p]
        if isinstance(pdu.message_class, int) and not isinstance(pdu.message_class, MessageClass):
            # neither a Class-identifier nor Token-text (OMA-MMS-ENC §7.3.27): the class drives
            # the rules of marketing messages, so it is not guessed
            wrong.append(f"X-Mms-Message-Class 0x{pdu.message_class:02x} is not a class")
        if wrong:
            log.warning("m-send-req %s refused: %s", tid, "; ".join(wrong))
            return send_conf(tid, ResponseStatus.ERROR_PERMANENT_MESSAGE_FORMAT_CORRUPT,
                             "; ".join(wrong))
        originator = self._originator(request, pdu)
        if originator is None:
            self._unidentified(request, f"m-send-req {tid!r}")
            return send_conf(tid, ResponseStatus.ERROR_PERMANENT_SENDING_ADDRESS_UNRESOLVED,
                             "sender not identified")
        message = from_pdu(pdu)
        message.envelope.originator = originator
        return await self._submit(tid, message, MessageType.SEND_CONF)

    async def _submit(self, tid: str, message: Message, conf: MessageType) -> web.Response:
        if message.size > self.max_message_size:
            return send_conf(tid, ResponseStatus.ERROR_PERMANENT_CONTENT_NOT_ACCEPTED,
                             f"message too large ({message.size} > {self.max_message_size} "
                             "octets)", message_type=conf)
        if not message.envelope.recipients:
            return send_conf(tid, ResponseStatus.ERROR_PERMANENT_MESSAGE_FORMAT_CORRUPT,
                             "no recipient", message_type=conf)
        try:
            done = await self.engine.submit(message, Interface.MM1)
        except AcceptError as exc:
            return send_conf(tid, ResponseStatus.ERROR_PERMANENT_MESSAGE_FORMAT_CORRUPT, str(exc),
                             message_type=conf)
        except UNAVAILABLE as exc:
            log.error("m-send-req %s not accepted, storage failed: %s", tid, exc)
            return send_conf(tid, ResponseStatus.ERROR_TRANSIENT_FAILURE, "try again later",
                             message_type=conf)
        return send_conf(tid, ResponseStatus.OK, message_id=done.message_id, message_type=conf)

    async def notifyresp(self, request: web.Request, pdu: MmsPdu) -> web.Response:
        """M-NotifyResp.ind: taken when its transaction id is a delivery of the number the
        trusted header names (any, without that header). No answer PDU exists (§6.2): 204."""
        known = await self.engine.notify_response(pdu.transaction_id or "",
                                                  pdu.status or Status.RETRIEVED,
                                                  caller=self.msisdn(request))
        if not known:
            log.warning("m-notifyresp-ind from %s for unknown transaction %r", request.remote,
                        pdu.transaction_id)
        return web.Response(status=204)

    async def acknowledge(self, request: web.Request, pdu: MmsPdu) -> web.Response:
        if not await self.engine.acknowledge(pdu.transaction_id or "",
                                             caller=self.msisdn(request)):
            log.warning("m-acknowledge-ind from %s for unknown transaction %r", request.remote,
                        pdu.transaction_id)
        return web.Response(status=204)

    async def read_rec(self, request: web.Request, pdu: MmsPdu) -> web.Response:
        reader = self._originator(request, pdu)
        if reader is None:
            self._unidentified(request, "m-read-rec-ind")
        elif not pdu.message_id or pdu.read_status is None or \
                not await self.engine.read_report(pdu.message_id, reader, pdu.read_status):
            log.warning("m-read-rec-ind for %r from %r not matched", pdu.message_id, reader)
        return web.Response(status=204)

    async def forward_req(self, request: web.Request, pdu: MmsPdu) -> web.Response:
        tid = pdu.transaction_id or ""
        originator = self._originator(request, pdu)
        if originator is None:
            self._unidentified(request, f"m-forward-req {tid!r}")
            return send_conf(tid, ResponseStatus.ERROR_PERMANENT_SENDING_ADDRESS_UNRESOLVED,
                             "no sender address", message_type=MessageType.FORWARD_CONF)
        envelope = replace(from_pdu(pdu).envelope, originator=originator)
        if not envelope.recipients or not pdu.content_location:
            return send_conf(tid, ResponseStatus.ERROR_PERMANENT_MESSAGE_FORMAT_CORRUPT,
                             "no recipient or no content location",
                             message_type=MessageType.FORWARD_CONF)
        try:
            done = await self.engine.forward(pdu.content_location, originator,
                                             Message(envelope))
        except UNAVAILABLE as exc:
            log.error("m-forward-req %s failed: %s", tid, exc)
            return send_conf(tid, ResponseStatus.ERROR_TRANSIENT_FAILURE, "try again later",
                             message_type=MessageType.FORWARD_CONF)
        if done is None:
            return send_conf(tid, ResponseStatus.ERROR_PERMANENT_MESSAGE_NOT_FOUND,
                             "no such message for this sender",
                             message_type=MessageType.FORWARD_CONF)
        return send_conf(tid, ResponseStatus.OK, message_id=done.message_id,
                         message_type=MessageType.FORWARD_CONF)

    async def retrieve(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        try:
            found = await self.engine.fetch(token, request.headers, caller=self.msisdn(request))
        except ContentLost:  # logged by the engine, which ended the delivery
            return retrieve_error(RetrieveStatus.ERROR_PERMANENT_MESSAGE_NOT_FOUND,
                                  "message content lost")
        except UNAVAILABLE as exc:
            log.error("retrieval of %s failed: %s", token, exc)
            return retrieve_error(RetrieveStatus.ERROR_TRANSIENT_FAILURE, "try again later")
        if found is None:
            log.info("retrieval of unknown or expired token %r from %s", token, request.remote)
            return retrieve_error(RetrieveStatus.ERROR_PERMANENT_MESSAGE_NOT_FOUND,
                                  "message not found or expired")
        recipient, record, content = found
        pdu = retrieve_conf(transaction_id=recipient.transaction_id, message_id=record.id,
                            created_at=record.created_at, content=content)
        try:
            return _answer(pdu)
        except PduEncodeError as exc:  # a stored field the binary encoding cannot carry
            log.error("message %s cannot be encoded for %s: %s", record.id, recipient.address,
                      exc)
            return retrieve_error(RetrieveStatus.ERROR_PERMANENT_CONTENT_UNSUPPORTED,
                                  "message cannot be encoded")
