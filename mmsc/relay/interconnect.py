"""Other operators and e-mail: a recipient's copy forwarded to its operator's MMSC (MM4,
3GPP TS 23.140 §6.8) or mailed to an e-mail address (MM3, §6.9), and what the peer MMSCs
answer about the copies they took.

An MM4 recipient is its own outbox row: due in ``accepted``, it goes out as an
MM4_forward.REQ asking for an MM4_forward.RES (X-Mms-Ack-Request); a peer that cannot be
reached, or says a transient SMTP error, is tried again with the report back-off
(``[delivery] report_backoff``), then the recipient ends ``unreachable`` and the sender is
told. Once the peer said 250 the recipient waits for the RES: Ok makes it ``forwarded``,
an error ``unreachable`` (with the peer's status); a RES that never comes is asked for again
by sending the forward again (same transaction and message ids) at the next back-off step,
and after the last one the 250 stands for it. The delivery report the peer sends later
(MM4_delivery_report.REQ) moves a ``forwarded`` recipient to its final state and reaches
the sender as any report does.
"""

from __future__ import annotations

import logging
from typing import Any

from mmsc.ids import new_token
from mmsc.message import Message
from mmsc.pdu import Status
from mmsc.state import Interface, MessageRecord, RecipientRecord, Route

from . import notices
from .accept import Accepted
from .core import S

log = logging.getLogger(__name__)

#: The final state an MM4 delivery report moves a forwarded recipient to (TS 23.140
#: §8.4.2.1); the other statuses (Deferred, Indeterminate, Forwarded) are events only.
_REPORTED = {Status.RETRIEVED: S.ACKNOWLEDGED, Status.REJECTED: S.REJECTED,
             Status.UNRECOGNISED: S.REJECTED, Status.EXPIRED: S.EXPIRED}


class Interconnect:
    """The MM4 and MM3 side of :class:`~mmsc.relay.engine.Engine`."""

    async def _relay(self, r: RecipientRecord, message: MessageRecord) -> None:
        """accepted → (MM4 sent, awaiting the RES) → forwarded | unreachable; for an e-mail
        address accepted → forwarded (the smarthost took it) | unreachable."""
        if self.mailer is None:
            what = "[mm4] and [[peer]]" if r.route == Route.MM4 else "[mm3] smarthost"
            await self._finish(r, message, S.UNREACHABLE, kind="unreachable",
                               detail={"why": f"no {r.route.value} route: configure {what}"})
            return
        if r.route == Route.MM4 and r.transaction_id is None:
            # kept from the first try on, so that the RES of any try finds the recipient
            tid = new_token()
            r = await self._move(r, r.state, kind="transaction-id", transaction_id=tid,
                                 release=False) or r
            if r.transaction_id != tid:
                return
        content = await self.original(message)
        content.envelope.message_id = message.id
        send = self.mailer.forward if r.route == Route.MM4 else self.mailer.email
        try:
            taken, retry, detail = await send(r, message, content)
        except Exception as exc:  # noqa: BLE001 - a failed send is retried, never lost
            taken, retry, detail = False, True, {"why": repr(exc)}
        attempts = r.attempts + 1
        steps = self.settings.report_backoff
        if taken and r.route == Route.EMAIL:
            await self._finish(r, message, S.FORWARDED, kind="mailed", detail=detail)
        elif taken and attempts > len(steps):
            await self._finish(r, message, S.FORWARDED, kind="forwarded",
                               detail={**detail, "res": "none came"})
        elif taken:
            await self._move(r, r.state, kind="mm4-sent", detail=detail, attempts=attempts,
                             next_attempt_at=self.clock() + steps[attempts - 1])
        elif retry and attempts <= len(steps):
            await self._move(r, r.state, kind=f"{r.route.value}-failed", detail=detail,
                             attempts=attempts, next_attempt_at=self.clock() + steps[attempts - 1])
        else:
            await self._finish(r, message, S.UNREACHABLE, kind="unreachable", detail=detail)

    async def forward_answered(self, transaction_id: str, status: str, ok: bool,
                               text: str | None = None) -> bool:
        """MM4_forward.RES (TS 23.140 §8.4.1.2) for a copy this MMSC forwarded: Ok →
        ``forwarded``, an error → ``unreachable`` and the sender told. False when no copy
        of this MMSC waits for that transaction."""
        r = await self.state.recipient_by_transaction(transaction_id)
        if r is None or r.route != Route.MM4:
            return False
        message = await self.state.get_message(r.message_id)
        if message is None:
            return False
        detail: dict[str, Any] = {"status": status, **({"text": text} if text else {})}
        if ok:
            await self._finish(r, message, S.FORWARDED, kind="forwarded", detail=detail,
                               expected=(S.ACCEPTED,))
        else:
            await self._finish(r, message, S.UNREACHABLE, kind="peer-refused", detail=detail,
                               expected=(S.ACCEPTED,))
        return True

    async def delivery_reported(self, message_id: str, recipient: str,
                                status: Status) -> bool:
        """MM4_delivery_report.REQ (§8.4.2.1) about a copy this MMSC forwarded: Retrieved,
        Rejected, Unrecognised and Expired end the recipient (and owe the sender its
        report); the other statuses are events. False when there is no such copy."""
        message = await self.state.get_message(message_id)
        if message is None:
            return False
        number = notices.plmn_number(recipient) or recipient
        r = next((r for r in await self.state.recipients_of(message_id)
                  if (notices.plmn_number(r.address) or r.address) == number
                  and r.route == Route.MM4), None)
        if r is None:
            return False
        to = _REPORTED.get(status)
        if to is None:
            await self.state.add_event(message_id, "mm4-delivery-report", now=self.clock(),
                                       recipient_id=r.id, detail={"status": status.label})
        else:
            await self._finish(r, message, to, kind=f"reported-{status.label.lower()}",
                               expected=(S.FORWARDED, S.ACCEPTED),
                               detail={"status": status.label, "via": "mm4"})
        return True

    async def accept_forward(self, content: Message, *, peer_message_id: str,
                             reply_to: str) -> Accepted:
        """An MM4_forward.REQ for this MMSC's subscribers (§8.4.1.1), accepted durably as
        any message, remembering where its reports go."""
        return await self.submit(content, Interface.MM4, mm4_message_id=peer_message_id,
                                 mm4_reply_to=reply_to)
