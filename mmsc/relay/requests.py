"""What handsets (MM1) and VASPs (MM7) say about messages already accepted: notification
answers, acknowledgements, read reports, forwards, and a VASP's cancel and replace."""

from __future__ import annotations

from mmsc.message import Message
from mmsc.pdu import ReadStatus, Status
from mmsc.state import Interface, MessageRecord, Route

from . import notices, offload
from .accept import Accepted
from .core import S, ContentLost, _NOT_YET_RETRIEVED, _WAITING


class Requests:
    """The requests :class:`~mmsc.relay.engine.Engine` answers."""

    async def notify_response(self, transaction_id: str, status: Status | int,
                              caller: str | None = None) -> bool:
        """M-NotifyResp.ind (OMA-MMS-ENC §6.3): Retrieved confirms, Deferred postpones,
        Rejected and Unrecognised end the delivery. False when the transaction is unknown or
        belongs to another number than ``caller``."""
        r = await self.by_transaction(transaction_id, caller)
        if r is None:
            return False
        message = await self.state.get_message(r.message_id)
        if message is None:
            return False
        waiting = _WAITING
        if status == Status.RETRIEVED:
            await self._finish(r, message, S.ACKNOWLEDGED, kind="acknowledged", expected=waiting)
        elif status == Status.DEFERRED:
            await self._move(r, S.DEFERRED, kind="deferred",
                             expected=(S.ACCEPTED, S.ADAPTED, S.NOTIFIED, S.RETRIEVED),
                             next_attempt_at=self.expiry(message))
        elif status in (Status.REJECTED, Status.UNRECOGNISED):
            label = Status(status).label.lower()
            await self._finish(r, message, S.REJECTED, kind=label, expected=waiting,
                               detail={"status": label})
        else:
            await self.state.add_event(r.message_id, "notifyresp", now=self.clock(),
                                       recipient_id=r.id, detail={"status": int(status)})
        return True

    async def acknowledge(self, transaction_id: str, caller: str | None = None) -> bool:
        """M-Acknowledge.ind (OMA-MMS-ENC §6.4): the deferred retrieval is complete."""
        r = await self.by_transaction(transaction_id, caller)
        message = await self.state.get_message(r.message_id) if r else None
        if r is None or message is None:
            return False
        await self._finish(r, message, S.ACKNOWLEDGED, kind="acknowledged", expected=_WAITING)
        return True

    async def read_report(self, message_id: str, reader: str, status: ReadStatus | int) -> bool:
        """M-Read-Rec.ind (OMA-MMS-ENC §6.7.2) from a recipient, or an MM4 read-reply report
        from a peer about one: an M-Read-Orig.ind by WAP push to a handset originator that
        asked for read reports; a ReadReplyReq (MM7) or MM4_read_reply_report.REQ owed
        through the outbox when the message came from a VASP or a peer MMSC."""
        message = await self.state.get_message(message_id)
        if message is None:
            return False
        recipients = {notices.plmn_number(r.address) or r.address: r
                      for r in await self.state.recipients_of(message_id)}
        r = recipients.get(notices.plmn_number(reader) or reader)
        if r is None:
            return False
        await self.state.add_event(message_id, "read-report", now=self.clock(),
                                   recipient_id=r.id, detail={"status": int(status)})
        if message.read_report and message.interface in (Interface.MM7, Interface.MM4):
            label = "Read" if status == ReadStatus.READ else "Deleted"
            await self.state.queue_report(message_id, r.id, "read", label, now=self.clock())
            self.wake.set()
            return True
        number = notices.plmn_number(message.originator)
        if message.read_report and number is not None and message.interface == Interface.MM1:
            push = notices.read_orig_ind(message_id=message_id, recipient=r.address,
                                         originator=message.originator,
                                         status=ReadStatus(status), date=self.clock())
            await self.receipts.record(r, message, "report",
                                       await self.messenger.send_push(number, push))
        return True

    async def forward(self, content_location: str, forwarder: str,
                      message: Message) -> Accepted | None:
        """M-Forward.req (OMA-MMS-ENC §6.5.1): the content a recipient was notified of,
        sent on to new recipients with ``message``'s envelope. None when the forwarder is not
        a recipient of that content, or it has expired or is lost."""
        r = await self.by_content_location(content_location, forwarder)
        if r is None:
            return None
        original = await self.state.get_message(r.message_id)
        if original is None or self.clock() >= self.expiry(original):
            return None
        try:
            content = await self.original(original)
        except ContentLost:
            return None
        content.envelope = message.envelope
        done = await self.submit(content, Interface.MM1)
        await self.state.add_event(r.message_id, "forwarded-by-recipient", now=self.clock(),
                                   recipient_id=r.id, detail={"as": done.message_id})
        return done

    # -- what VASPs ask over MM7 -----------------------------------------------------------------

    async def _own_message(self, message_id: str, vasp_id: str) -> MessageRecord | None:
        message = await self.state.get_message(message_id)
        if message is None or message.vasp_id != vasp_id:
            return None
        return message

    async def cancel(self, message_id: str, vasp_id: str | None) -> int | None:
        """CancelReq (TS 23.140 §8.7.5), or an operator's cancel (``vasp_id`` None): stop
        delivery to the recipients that have not retrieved the message yet (they end
        ``rejected``, event ``cancelled``, no report). Returns how many were stopped, or None
        for a message this VASP did not send (or, for an operator, that does not exist)."""
        found = await self._own_message(message_id, vasp_id) if vasp_id is not None else \
            await self.state.get_message(message_id)
        if found is None:
            return None
        stopped = 0
        for r in await self.state.recipients_of(message_id):
            if r.state in _NOT_YET_RETRIEVED and await self._move(
                    r, S.REJECTED, kind="cancelled", expected=_NOT_YET_RETRIEVED,
                    next_attempt_at=None) is not None:
                stopped += 1
        return stopped

    async def renotify(self, message_id: str, recipient_id: int) -> bool | None:
        """An operator asks for a new notification now (a handset that lost the push, or
        deferred): a recipient of a local MMS handset that has not confirmed yet becomes due
        at once (a deferred one is waiting for a notification again), event
        ``renotify-requested``; the scheduler then notifies it, with back-off as usual. None
        for an unknown recipient, False when it is in no state to be notified."""
        r = await self.state.get_recipient(recipient_id)
        if r is None or r.message_id != message_id:
            return None
        waiting = (S.ACCEPTED, S.ADAPTED, S.NOTIFIED, S.DEFERRED, S.RETRIEVED)
        if r.route != Route.MMS or r.state not in waiting:
            return False
        moved = await self._move(r, S.NOTIFIED if r.state == S.DEFERRED else r.state,
                                 kind="renotify-requested", next_attempt_at=self.clock())
        self.wake.set()
        return moved is not None

    async def replace(self, message_id: str, vasp_id: str, content: Message) -> bool | None:
        """ReplaceReq (TS 23.140 §8.7.6): new content for the recipients that fetch from now
        on (the envelope stays). None for a message this VASP did not send or whose content is
        lost; False when every recipient has retrieved it already."""
        record = await self._own_message(message_id, vasp_id)
        if record is None:
            return None
        recipients = await self.state.recipients_of(message_id)
        if not any(r.state in _NOT_YET_RETRIEVED for r in recipients):
            return False
        try:
            stored = await self.original(record)
        except ContentLost:
            return None
        stored.parts, stored.multipart, stored.start, stored.received = (
            content.parts, content.multipart, content.start, content.received)
        await self.objects.put(record.object_key, await offload.encode(stored))
        await self.state.add_event(message_id, "replaced", now=self.clock(),
                                   detail={"parts": len(content.parts), "octets": content.size})
        return True
