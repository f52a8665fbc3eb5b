"""What mmsc sends over SMTP: MM4_forward.REQ to the MMSC of a recipient's operator, the
MM4 reports and answers owed to the MMSC a message came from, and MM3 e-mail through the
smarthost. :class:`SmtpRelay` is the engine's ``Mailer``; it speaks SMTP with aiosmtplib,
one connection per message, STARTTLS when the peer offers it and its ``tls`` is on.

An SMTP 4xx answer, a refused connection or a timeout is worth another try (the engine's
back-off); a 5xx is not.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import aiosmtplib

from mmsc.message import Message
from mmsc.pdu import Status
from mmsc.relay.notices import plmn_number
from mmsc.state import MessageRecord, RecipientRecord, ReportRecord, StateStore

from . import status as st
from .codec import (
    Kind, Pdu, domain_of, encode, encode_forward, local_address, mm4_address, system_address,
)
from .mm3 import email_sender, to_email

log = logging.getLogger(__name__)

Outcome = tuple[bool, bool, dict[str, Any]]


@dataclass(frozen=True)
class Peer:
    """Another operator's MMSC (``[[peer]]``): its MM4 domain, the number prefixes it serves,
    where its SMTP listener is, whether to use STARTTLS, and the addresses it may connect
    from (empty: any)."""

    name: str
    domain: str
    prefixes: tuple[str, ...] = ()
    host: str = "127.0.0.1"
    port: int = 25
    tls: bool = False
    allow: tuple[str, ...] = ()

    def serves(self, domain: str) -> bool:
        """Whether ``domain`` is this peer's MM4 domain or one below it."""
        own = self.domain.lower()
        return domain == own or domain.endswith("." + own)


class SmtpRelay:
    """SMTP out, for the engine (forwards, e-mail, reports) and for the MM4 listener (RES)."""

    def __init__(self, state: StateStore, *, domain: str, peers: Sequence[Peer] = (),
                 smarthost: str = "", mm3_domain: str = "", timeout: float = 30.0) -> None:
        self.state = state
        self.domain = domain
        self.peers = tuple(peers)
        self.smarthost = smarthost
        self.mm3_domain = mm3_domain or domain
        self.timeout = timeout

    @property
    def prefixes(self) -> tuple[str, ...]:
        """Every number prefix a peer serves (the engine routes these over MM4)."""
        return tuple(p for peer in self.peers for p in peer.prefixes)

    def peer_for_number(self, number: str) -> Peer | None:
        """The peer with the longest prefix of ``number``."""
        found = [(len(p), peer) for peer in self.peers for p in peer.prefixes
                 if number.startswith(p)]
        return max(found, key=lambda item: item[0])[1] if found else None

    def peer_for_address(self, address: str) -> Peer | None:
        """The peer whose MM4 domain ``address`` is at."""
        domain = domain_of(address)
        return next((peer for peer in self.peers if domain and peer.serves(domain)), None)

    # -- the engine's Mailer -----------------------------------------------------------------

    async def forward(self, r: RecipientRecord, message: MessageRecord,
                      content: Message) -> Outcome:
        """An MM4_forward.REQ of ``r``'s copy to the peer that serves its number."""
        address = local_address(r.address)
        number = plmn_number(address)
        peer = self.peer_for_number(number) if number else None
        if peer is None:
            return False, False, {"why": f"no [[peer]] serves {r.address}"}
        data = encode_forward(content, transaction_id=r.transaction_id or message.id,
                              domain=self.domain, recipient_domain=peer.domain)
        return await self._send(peer.host, peer.port, peer.tls, self._sender(message),
                                [mm4_address(address, peer.domain)], data)

    async def email(self, r: RecipientRecord, message: MessageRecord,
                    content: Message) -> Outcome:
        """``r``'s copy as an e-mail (MM3) through the smarthost."""
        if not self.smarthost:
            return False, False, {"why": "no [mm3] smarthost"}
        host, _, port = self.smarthost.rpartition(":")
        number = plmn_number(message.originator)
        sender = f"{email_sender(message.originator)}@{self.mm3_domain}" if number \
            else message.originator if "@" in message.originator \
            else system_address(self.mm3_domain)
        data = to_email(content, sender=sender, recipient=r.address, message_id=message.id,
                        domain=self.mm3_domain)
        return await self._send(host or "127.0.0.1", int(port or 25), True, sender,
                                [r.address], data)

    async def send(self, report: ReportRecord) -> Outcome:
        """The MM4_delivery_report.REQ or MM4_read_reply_report.REQ (TS 23.140 §8.4.2,
        §8.4.3) owed to the MMSC a message came from."""
        message = await self.state.get_message(report.message_id)
        recipient = await self.state.get_recipient(report.recipient_id or 0)
        if message is None or recipient is None or not message.mm4_reply_to:
            return False, False, {"why": "not an MM4 message: nobody to report to"}
        peer = self.peer_for_address(message.mm4_reply_to)
        if peer is None:
            return False, False, {"why": f"no [[peer]] for {message.mm4_reply_to}"}
        if report.kind == "delivery":
            kind, label = Kind.DELIVERY_REPORT_REQ, st.mm_status_label(
                Status.from_label(report.status))  # type: ignore[arg-type]
        else:
            kind, label = Kind.READ_REPLY_REQ, "Read" if report.status == "Read" \
                else "Deleted without being read"
        pdu = Pdu(kind, secrets.token_hex(10), message_id=message.mm4_message_id,
                  sender=mm4_address(recipient.address, self.domain),
                  recipients=[mm4_address(message.originator, peer.domain)],
                  originator_system=system_address(self.domain), ack_request=True,
                  status=label, date=datetime.fromtimestamp(report.created_at, timezone.utc))
        taken, retry, detail = await self._send(peer.host, peer.port, peer.tls,
                                                system_address(self.domain),
                                                [message.mm4_reply_to], encode(pdu))
        return taken, retry, {**detail, "status": label}

    # -- for the listener ----------------------------------------------------------------------

    async def answer(self, res: Pdu, to: str) -> Outcome:
        """A RES to the peer whose system address is ``to``."""
        peer = self.peer_for_address(to)
        if peer is None:
            return False, False, {"why": f"no [[peer]] for {to}"}
        return await self._send(peer.host, peer.port, peer.tls, system_address(self.domain),
                                [to], encode(res))

    # -- SMTP ----------------------------------------------------------------------------------

    def _sender(self, message: MessageRecord) -> str:
        """The SMTP envelope sender of a forward: the originator in MM4 form (IR.52), or
        this MMSC's system address for an originator that is no phone number."""
        originator = local_address(message.originator) if message.originator else ""
        return mm4_address(originator, self.domain) if plmn_number(originator) \
            else system_address(self.domain)

    async def _send(self, host: str, port: int, tls: bool, sender: str,
                    recipients: list[str], data: bytes) -> Outcome:
        where = f"{host}:{port}"
        smtp = aiosmtplib.SMTP(hostname=host, port=port, timeout=self.timeout,
                               start_tls=None if tls else False, validate_certs=False)
        try:
            async with smtp:
                refused, answer = await smtp.sendmail(sender, recipients, data)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [e.code for e in exc.recipients]
            return False, any(c < 500 for c in codes), {
                "to": where, "why": "; ".join(f"{e.recipient}: {e.code} {e.message}"
                                              for e in exc.recipients)}
        except aiosmtplib.SMTPResponseException as exc:
            return False, exc.code < 500, {"to": where, "why": f"{exc.code} {exc.message}"}
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return False, True, {"to": where, "why": repr(exc)}
        if refused:
            log.warning("%s refused some recipients: %s", where, refused)
        return True, False, {"to": where, "answer": answer}
