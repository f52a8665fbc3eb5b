"""Reports to the originator on every final state: M-Delivery.ind by WAP push to a handset,
and for a VASP or a peer MMSC (a message that came over MM7 or MM4) the report outbox
(written in the transaction of the final state, sent and retried with back-off)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from mmsc import metrics
from mmsc.pdu import Status
from mmsc.state import (
    Interface, MessageRecord, RecipientRecord, RecipientState, ReportRecord, Route,
)

from . import notices
from .core import S

log = logging.getLogger(__name__)

#: X-Mms-Status of the delivery report for each final state (OMA-MMS-ENC §7.3.54).
_REPORT_STATUS = {S.ACKNOWLEDGED: Status.RETRIEVED, S.REJECTED: Status.REJECTED,
                  S.EXPIRED: Status.EXPIRED, S.UNREACHABLE: Status.UNREACHABLE,
                  S.FORWARDED: Status.FORWARDED}
#: The interfaces whose reports go through the outbox: MM7 (to the VASP), MM4 (to the MMSC
#: the message came from).
_OUTBOX = (Interface.MM7, Interface.MM4)


class Reports:
    """The final states and reports of :class:`~mmsc.relay.engine.Engine`."""

    async def _finish(self, r: RecipientRecord, message: MessageRecord, to: RecipientState, *,
                      kind: str, detail: dict[str, Any] | None = None,
                      expected: Sequence[RecipientState] | None = None,
                      status_text: str | None = None) -> RecipientRecord | None:
        """Into a final state, then the report to the originator, written to the report outbox
        in the same transaction (so a crash or an SMSC outage cannot lose it): a
        DeliveryReportReq for a VASP, an MM4 delivery report for a peer MMSC, an
        M-Delivery.ind by WAP push for a handset. A copy forwarded over MM4 owes nothing yet:
        the peer's delivery report tells how it ends (:mod:`.interconnect`). ``status_text``
        goes in the report as its StatusText (an opt-out, say)."""
        status = _REPORT_STATUS.get(to)
        owed = status is not None and message.delivery_report and \
            not (to == S.FORWARDED and r.route == Route.MM4)
        durable = message.interface in _OUTBOX or (
            message.interface == Interface.MM1 and notices.plmn_number(message.originator))
        outbox = ("delivery", status.label, status_text) if owed and durable else None
        moved = await self._move(r, to, kind=kind, detail=detail, expected=expected,
                                 next_attempt_at=None, report=outbox)
        if moved is not None and owed and outbox is None:
            await self._report(moved, message)
        if outbox is not None:
            self.wake.set()
        return moved

    async def _report(self, r: RecipientRecord, message: MessageRecord) -> None:
        """A report owed to an originator no report can reach (an MM1 sender that is not a
        phone number, a message from an interface without reports): said on the timeline."""
        status = _REPORT_STATUS[r.state]
        metrics.report("mm1", "undeliverable")
        await self.state.add_event(message.id, "report-undeliverable", now=self.clock(),
                                   recipient_id=r.id, detail={"status": status.label})

    async def _push_report(self, report: ReportRecord, message: MessageRecord,
                           r: RecipientRecord | None) -> tuple[bool, bool, dict[str, Any]]:
        """The M-Delivery.ind by WAP push to a handset originator (OMA-MMS-ENC §6.7.1), from
        the outbox: (sent, worth retrying, detail with the SMSC ids, which the caller
        records with the outbox row). An SMS that could not leave (no bind, a
        throttled or full SMSC) is retried with the outbox's back-off; one the SMSC refused
        for good is not."""
        number = notices.plmn_number(message.originator) or message.originator
        if r is None:
            return False, False, {"why": "recipient gone"}
        push = notices.delivery_ind(message_id=message.id, recipient=r.address,
                                    status=Status.from_label(report.status), date=self.clock())
        try:
            ids = await self.messenger.send_push(number, push)
        except Exception as exc:  # noqa: BLE001 - SMSC refusal or link down
            return False, getattr(exc, "decision", "retry") != "permanent", {"why": str(exc)}
        return True, False, {"status": report.status, "to": number, "smsc_ids": ids}

    async def send_reports(self) -> int:
        """Send the reports owed to VASPs, peer MMSCs and handsets that are due, retrying
        with back-off."""
        due = await self.state.claim_reports(now=self.clock(), limit=self.settings.claim_batch,
                                             lease=self.settings.claim_lease)
        await asyncio.gather(*(self._send_report(report) for report in due))
        return len(due)

    async def _send_report(self, report: ReportRecord) -> None:
        message = await self.state.get_message(report.message_id)
        protocol = message.interface.value if message is not None else "mm7"
        sender = {"mm4": self.mailer, "mm7": self.reporter}.get(protocol)
        r = None
        if message is not None and message.interface == Interface.MM1:
            try:
                r = await self.state.get_recipient(report.recipient_id or 0)
                sent, retry, detail = await self._push_report(report, message, r)
            except Exception as exc:  # noqa: BLE001 - a report must not stop the loop
                sent, retry, detail = False, True, {"why": repr(exc)}
        elif sender is None:
            sent, retry, detail = False, False, {"why": f"no {protocol.upper()} interface to "
                                                        "send it"}
        else:
            try:
                sent, retry, detail = await sender.send(report)
            except Exception as exc:  # noqa: BLE001 - a report must not stop the loop
                sent, retry, detail = False, True, {"why": repr(exc)}
        steps = self.settings.report_backoff
        again = None
        if not sent and retry and report.attempts < len(steps):
            again = self.clock() + steps[report.attempts]
        metrics.report(protocol, "sent" if sent else "retry" if again else "abandoned")
        done = self.state.report_done(report.id or 0, now=self.clock(), sent=sent,
                                      next_attempt_at=again, detail=detail)
        if sent and r is not None and message is not None:  # an M-Delivery.ind pushed:
            # its SMSC ids recorded in the same group commit as the outbox row
            await asyncio.gather(done, self.receipts.record(r, message, "report",
                                                            detail["smsc_ids"]))
        else:
            await done
        if not sent:
            log.warning("report %s for %s not delivered (%s): %s", report.id, report.message_id,
                        "retried" if again else "given up", detail)

