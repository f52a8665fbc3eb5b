"""SMSC delivery receipts, matched through the state store and acted on.

Every SMS the engine sends about a recipient is recorded by its SMSC message ids
(:meth:`Receipts.record`, the ``smsc_ids`` rows), after the transition that sent it: a
receipt that reaches any bind of any process or node finds it there (SMSCs hand an
account's receipts to whichever of its binds they like). A final receipt becomes one event
on the recipient's timeline, ``push-``, ``link-`` or ``report-push-`` then ``delivered``
(when the last segment of the SMS is delivered) or ``undeliverable`` (at the first segment
that is not), with the SMSC's id, stat and err; and:

- a notification push that the SMSC says is undeliverable (UNDELIV, REJECTD, EXPIRED,
  DELETED) counts as a failed notification now: a recipient still waiting in ``notified``
  gets its link SMS at once rather than after the re-notification back-off;
- a link SMS it says is undeliverable leaves nothing else to try: a recipient still in
  ``fallback-sent`` ends ``unreachable`` at once (with the report owed);
- a push delivered and never fetched afterwards is worth a line (``delivered-not-fetched``:
  the phone got the notification but never fetched), written when the recipient's timer
  comes (:meth:`Receipts.unfetched`).

A receipt may overtake the record of its own SMS (the SMSC sends it as soon as it answers
the submit, the record is written once the last segment is answered, perhaps by another
process): an id not found is looked up again after each of :data:`RETRY` (the last time
also read in the other base, hex for decimal and back), then logged and dropped. Nothing is kept of a receipt for an unknown id; rows whose receipt never comes go
at the message's expiry (:meth:`Receipts.prune`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from wap_push.smpp import Receipt, message_id_keys

from mmsc.state import MessageRecord, RecipientRecord, RecipientState, SmscIdRecord

if TYPE_CHECKING:
    from .engine import Engine

log = logging.getLogger(__name__)
S = RecipientState

#: Seconds between the lookups of a receipt whose id is not (yet) recorded.
RETRY: Sequence[float] = (0.1, 0.5, 2.0, 5.0)
#: Receipts waiting for a lookup at most; more are logged and dropped.
MAX_WAITING = 10_000
#: Seconds between two prunings of expired rows.
PRUNE_INTERVAL = 600.0
#: The event prefix of each kind of SMS ("report-undeliverable" is another event's name).
_PREFIX = {"push": "push", "link": "link", "report": "report-push"}
NOT_FETCHED = "delivered-not-fetched"


class Receipts:
    """The receipts of one engine's SMS: :meth:`on_receipt` is the SMPP client's callback."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.state = engine.state
        self._tasks: set[asyncio.Task[None]] = set()
        self._pruned_at = float("-inf")

    async def record(self, r: RecipientRecord, message: MessageRecord, kind: str,
                     smsc_ids: Sequence[str]) -> None:
        """Keep the SMSC ids of one SMS sent to or about ``r`` until the message expires.
        A store that fails here costs only the matching of its receipts: logged."""
        try:
            await self.state.add_smsc_ids(r.id or 0, kind,
                                          [message_id_keys(i)[0] for i in smsc_ids if i],
                                          now=self.engine.clock(),
                                          expires_at=self.engine.expiry(message))
        except Exception as exc:  # noqa: BLE001 - the SMS left: its receipts go unmatched
            log.warning("SMSC ids %s of %s's %s not recorded: %s", list(smsc_ids), r.address,
                        kind, exc)

    def on_receipt(self, receipt: Receipt) -> None:
        """A receipt from the SMPP client, on the loop: handled in a task of its own."""
        if receipt.outcome is None:
            log.debug("receipt %s %s: not final", receipt.message_id, receipt.state)
            return
        if len(self._tasks) >= MAX_WAITING:
            log.warning("receipt %s %s dropped: %d receipts wait already", receipt.message_id,
                        receipt.state, len(self._tasks))
            return
        task = asyncio.create_task(self.handle(receipt))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def handle(self, receipt: Receipt) -> None:
        """Match ``receipt`` (looked up again while not found) and act on it."""
        keys = message_id_keys(receipt.message_id)
        tries = (0.0, *RETRY)
        try:
            for n, delay in enumerate(tries):
                await asyncio.sleep(delay)
                # the id read in the other base only at the last try: "10" may be an id
                # not recorded yet as much as hex "a" written in decimal
                taken = await self.state.take_smsc_id(
                    keys if n == len(tries) - 1 else keys[:1],
                    whole_sms=receipt.outcome != "delivered")
                if taken is not None:
                    await self._act(*taken, receipt)
                    return
        except Exception:  # noqa: BLE001 - a receipt must not stop anything
            log.exception("receipt %s %s not handled", receipt.message_id, receipt.state)
            return
        log.info("receipt %s %s err %s: no SMS sent with this id (unknown, or its message "
                 "is gone): ignored", receipt.message_id, receipt.state, receipt.error)

    async def _act(self, row: SmscIdRecord, left: int, receipt: Receipt) -> None:
        r = await self.state.get_recipient(row.recipient_id)
        message = await self.state.get_message(r.message_id) if r is not None else None
        if r is None or message is None:
            return
        if receipt.outcome == "delivered" and left:
            return  # the SMS is delivered with its last segment
        outcome = {"delivered": "delivered", "unknown": "receipt"}.get(receipt.outcome or "",
                                                                       "undeliverable")
        kind = f"{_PREFIX[row.kind]}-{outcome}"
        detail = {"smsc_id": receipt.message_id, "stat": receipt.state, "err": receipt.error}
        log.info("%s %s: receipt %s %s err %s (%s)", r.message_id, r.address, receipt.message_id,
                 receipt.state, receipt.error, kind)
        engine, now = self.engine, self.engine.clock()
        if outcome == "undeliverable" and now < engine.expiry(message):
            if row.kind == "push" and r.state == S.NOTIFIED:
                moved = await self.state.transition(r.id or 0, expected=(S.NOTIFIED,),
                                                    to=S.NOTIFIED, now=now, kind=kind,
                                                    detail=detail, release=False)
                if moved is not None:  # the link SMS now, not after the back-off
                    await engine._send_link(moved.record, message)  # noqa: SLF001
                    return
            elif row.kind == "link" and r.state == S.FALLBACK_SENT:
                if await engine._finish(r, message, S.UNREACHABLE, kind=kind,  # noqa: SLF001
                                        detail=detail, expected=(S.FALLBACK_SENT,)):
                    return
        await self.state.add_event(r.message_id, kind, now=now, detail=detail,
                                   recipient_id=r.id)

    async def unfetched(self, r: RecipientRecord) -> None:
        """The timer of a recipient in ``notified`` came: if a push of it was delivered and
        no fetch followed, say so once (event ``delivered-not-fetched``)."""
        events = [e for e in await self.state.events_of(r.message_id) if e.recipient_id == r.id]
        delivered = [i for i, e in enumerate(events) if e.kind == "push-delivered"]
        if not delivered or any(e.kind in ("fetched", "fetched-again", NOT_FETCHED)
                                for e in events[delivered[-1] + 1:]):
            return
        await self.state.add_event(r.message_id, NOT_FETCHED, now=self.engine.clock(),
                                   recipient_id=r.id,
                                   detail={"delivered_at": events[delivered[-1]].at})

    async def prune(self) -> None:
        """Drop the rows of expired messages whose receipts never came, every
        :data:`PRUNE_INTERVAL` seconds at most."""
        now = self.engine.clock()
        if now - self._pruned_at < PRUNE_INTERVAL:
            return
        self._pruned_at = now
        pruned = await self.state.prune_smsc_ids(now=now)
        if pruned:
            log.info("%d SMSC ids of expired messages dropped, their receipts never came",
                     pruned)

    async def close(self) -> None:
        """Stop waiting for the receipts still looked up."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
