"""The SMTP listener of MM4 and MM3 (aiosmtpd, on the process's event loop).

It takes, for this MMSC's subscribers, MM4_forward.REQ from peer MMSCs (3GPP TS 23.140
§8.4.1) and plain e-mail (MM3, §6.9); for messages this MMSC sent, the peers' reports and
answers. It is no open relay: a RCPT that is neither this MMSC's system address nor a local
number at ``[mm4] domain`` (or ``[mm3] domain``) is refused at RCPT time with 550; a peer
whose ``[[peer]] allow`` lists addresses is refused at MAIL time from any other. SIZE is
announced and enforced (552). A message is accepted durably (the engine's commit) before
the 250, as over MM1 and MM7.

Answers: an MM4 request that asked for one (X-Mms-Ack-Request) gets its RES to its
X-Mms-Originator-System, or to the SMTP envelope sender when it has none, with Ok or the
request status that applies. What cannot be read is refused with an SMTP 554 that names
the MM4 status, and gets an error RES when it can be answered. The RES is sent after the
250 by a task of its own, with a few tries (it is not kept across a restart: a peer that
gets none sends its request again).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from mmsc.mime_parse import parse_entity
from mmsc.relay.accept import AcceptError
from mmsc.relay.engine import UNAVAILABLE, Engine
from mmsc.relay.notices import plmn_number
from mmsc.state import Interface, Route

from . import status as st
from .client import SmtpRelay
from .codec import (
    SYSTEM_USER, Kind, Mm4Error, Pdu, answer, kind_of, local_address,
    parse_entity_pdu,
)
from .mm3 import Mm3Error, from_email

log = logging.getLogger(__name__)

#: Waits before the second and third try of a RES.
ANSWER_RETRIES = (1.0, 5.0)
_LOCAL_ROUTES = (Route.MMS, Route.LEGACY, Route.VASP)


class Mm4Listener:
    """The aiosmtpd handler around one engine, and its server."""

    def __init__(self, engine: Engine, relay: SmtpRelay, *, domain: str, mm3_domain: str = "",
                 max_message_size: int = 2 * 1024 * 1024) -> None:
        self.engine = engine
        self.relay = relay
        self.domains = {d.lower() for d in (domain, mm3_domain) if d}
        self.domain = domain
        self.max_message_size = max_message_size
        self._server: asyncio.Server | None = None
        self._answers: set[asyncio.Task[None]] = set()

    async def start(self, host: str, port: int) -> int:
        """Listen on host:port; returns the port (0 picks one)."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: SMTP(self, data_size_limit=self.max_message_size, hostname=self.domain,
                         loop=loop), host, port)
        return self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._answers):
            task.cancel()

    # -- aiosmtpd hooks ------------------------------------------------------------------------

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, mail_options: list[str]) -> str:
        peer = self.relay.peer_for_address(address)
        client = session.peer[0] if isinstance(session.peer, tuple) else str(session.peer)
        if peer is not None and peer.allow and client not in peer.allow:
            log.warning("MAIL FROM %s refused: %s may not connect for peer %s", address,
                        client, peer.name)
            return "550 5.7.1 this peer may not send from this address"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        if not await self._ours(address):
            log.warning("RCPT TO %s from %s refused: not this MMSC's (no relay)", address,
                        session.peer)
            return "550 5.7.1 relaying denied: no such recipient at this MMSC"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def _ours(self, address: str) -> bool:
        """This MMSC's system address, or a number it serves, at one of its domains."""
        local, _, domain = address.strip("<>").rpartition("@")
        if domain.lower() not in self.domains:
            return False
        if local.lower() == SYSTEM_USER:
            return True
        number = plmn_number(local_address(address))
        return number is not None and await self.engine.route(f"{number}/TYPE=PLMN") \
            in _LOCAL_ROUTES

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data = envelope.original_content or b""
        entity = parse_entity(data)
        written = kind_of(entity)
        subscribers = [local_address(a) for a in envelope.rcpt_tos
                       if a.rpartition("@")[0].lower() != SYSTEM_USER]
        try:
            if written is None:
                return await self._email(data, subscribers, envelope)
            return await self._mm4(parse_entity_pdu(entity, written), subscribers, envelope)
        except Mm4Error as exc:
            log.warning("MM4 from %s refused (%s): %s", envelope.mail_from, exc.status, exc)
            if exc.pdu is not None and exc.pdu.kind.is_request and exc.pdu.ack_request \
                    and exc.pdu.transaction_id:
                self._answer(exc.pdu, exc.status, envelope, str(exc))
            return f"554 5.6.0 {exc.status}: {exc}"
        except UNAVAILABLE as exc:
            log.warning("message from %s not accepted now: %s", envelope.mail_from, exc)
            return "451 4.3.0 the MMSC cannot store messages now, try again later"

    # -- what each message does ----------------------------------------------------------------

    async def _mm4(self, pdu: Pdu, subscribers: list[str], envelope: Envelope) -> str:
        status = st.OK
        if pdu.kind == Kind.FORWARD_REQ:
            assert pdu.message is not None and pdu.message_id is not None
            if not subscribers:
                status = "Error-unspecified"
                log.warning("MM4_forward.REQ %s names no subscriber of this MMSC",
                            pdu.message_id)
            else:
                _address_to(pdu, subscribers)
                try:
                    done = await self.engine.accept_forward(
                        pdu.message, peer_message_id=pdu.message_id,
                        reply_to=pdu.originator_system or envelope.mail_from)
                except AcceptError as exc:
                    status = "Error-unspecified"
                    log.warning("MM4_forward.REQ %s refused: %s", pdu.message_id, exc)
                else:
                    log.info("MM4_forward.REQ %s from %s accepted as %s", pdu.message_id,
                             envelope.mail_from, done.message_id)
        elif pdu.kind == Kind.FORWARD_RES:
            if not await self.engine.forward_answered(pdu.transaction_id, pdu.status or "",
                                                      st.is_ok(pdu.status), pdu.status_text):
                log.warning("MM4_forward.RES for unknown transaction %s", pdu.transaction_id)
        elif pdu.kind == Kind.DELIVERY_REPORT_REQ:
            mm_status = st.mm_status(pdu.status or "")
            assert mm_status is not None and pdu.message_id is not None
            if not await self.engine.delivery_reported(pdu.message_id, pdu.sender or "",
                                                       mm_status):
                status = "Error-message-not-found"
        elif pdu.kind == Kind.READ_REPLY_REQ:
            read = st.read_status(pdu.status or "")
            assert read is not None and pdu.message_id is not None
            if not await self.engine.read_report(pdu.message_id, pdu.sender or "", read):
                status = "Error-message-not-found"
        else:
            log.info("%s %s for %s: %s", pdu.kind, pdu.transaction_id, pdu.message_id,
                     pdu.status)
        if status != st.OK:
            log.warning("%s %s answered %s", pdu.kind, pdu.transaction_id, status)
        if pdu.kind.is_request and pdu.ack_request:
            self._answer(pdu, status, envelope)
        return "250 OK"

    async def _email(self, data: bytes, subscribers: list[str], envelope: Envelope) -> str:
        """MM3 in: an e-mail to subscribers becomes an MMS to them."""
        if not subscribers:
            return "554 5.5.1 no subscriber among the recipients"
        try:
            message = from_email(data, subscribers)
        except Mm3Error as exc:
            log.warning("e-mail from %s refused: %s", envelope.mail_from, exc)
            return f"554 5.6.0 {exc}"
        try:
            done = await self.engine.submit(message, Interface.MM4)
        except AcceptError as exc:
            return f"554 5.6.0 {exc}"
        log.info("e-mail from %s accepted as %s", envelope.mail_from, done.message_id)
        return "250 OK"

    def _answer(self, request: Pdu, status: str, envelope: Envelope,
                text: str | None = None) -> None:
        """The RES to ``request``, sent by a task of its own (after the SMTP answer)."""
        to = request.originator_system or envelope.mail_from
        if not to:
            return
        res = answer(request, status, domain=self.domain, to=to, text=text)
        task = asyncio.create_task(self._send_answer(res, to))
        self._answers.add(task)
        task.add_done_callback(self._answers.discard)

    async def _send_answer(self, res: Pdu, to: str) -> None:
        detail: dict[str, Any] = {}
        for wait in (0.0, *ANSWER_RETRIES):
            await asyncio.sleep(wait)
            taken, retry, detail = await self.relay.answer(res, to)
            if taken:
                log.info("%s %s (%s) sent to %s", res.kind, res.transaction_id, res.status, to)
                return
            if not retry:
                break
        log.warning("%s %s to %s not sent: %s", res.kind, res.transaction_id, to, detail)


def _address_to(pdu: Pdu, subscribers: list[str]) -> None:
    """The forward's To and Cc kept for the subscribers of this MMSC that the SMTP envelope
    names (the others are served elsewhere); one named only by the envelope is a Bcc."""
    assert pdu.message is not None
    env = pdu.message.envelope
    ours = {plmn_number(a) or a for a in subscribers}
    env.to = [a for a in env.to if (plmn_number(a) or a) in ours]
    env.cc = [a for a in env.cc if (plmn_number(a) or a) in ours]
    shown = {plmn_number(a) or a for a in [*env.to, *env.cc]}
    env.bcc = [a for a in subscribers if (plmn_number(a) or a) not in shown]


