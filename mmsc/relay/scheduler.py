"""The scheduler: claims the recipients whose timer is due and takes each one step.

Timer meaning per state: ``accepted`` → notify now (or at the earliest delivery time);
``notified`` and ``retrieved`` → no confirmation yet, notify again (back-off) or fall back to
the link SMS; ``deferred`` and ``fallback-sent`` → expiry.

An SMS that never reached the SMSC (no bind, the link dropped) is not a handset that did not
answer: the recipient is *parked*, its attempts unspent, and goes again as soon as the
messenger is bound again (:meth:`Scheduler.link_up`); its timer meanwhile is
:data:`PARKED_RETRY` at most, never past the expiry, so expiry and a process that never sees
the bind come back still act on time.
"""

from __future__ import annotations

import asyncio
import logging

from mmsc.state import MessageRecord, RecipientRecord, Route, StateUnavailable

from .core import S, ContentLost

log = logging.getLogger(__name__)

#: Seconds a parked recipient waits at most for the bind that resumes it (rows parked by
#: another process, or by a submit_sm_resp that never came while the link stayed up).
PARKED_RETRY = 60.0


class Scheduler:
    """The timers of :class:`~mmsc.relay.engine.Engine`: nothing waits in memory, so a
    restart resumes where the process stopped."""

    async def run_due(self) -> int:
        """One pass: claim due recipients and take each one step; returns how many."""
        now = self.clock()
        due = await self.state.claim_due(now=now, owner=self.settings.node,
                                         limit=self.settings.claim_batch,
                                         lease=self.settings.claim_lease)
        messages = await self.state.get_messages({r.message_id for r in due}) if due else {}
        await asyncio.gather(*(self._guarded_step(r, messages.get(r.message_id)) for r in due))
        return len(due)

    async def _guarded_step(self, recipient: RecipientRecord,
                            message: MessageRecord | None) -> None:
        """One recipient's step; the claimed ones run side by side, so that one slow SMSC
        answer does not hold up the others."""
        try:
            if message is not None:  # deleted since the claim: nothing left to do
                await self._step(recipient, message)
        except ContentLost:  # the step ended the message's deliveries and logged the loss
            return
        except Exception:  # noqa: BLE001 - one recipient must not stop the others
            log.exception("step of recipient %s of %s failed; retried when its claim lapses",
                          recipient.id, recipient.message_id)

    async def run(self, interval: float = 1.0) -> None:
        """The scheduler loop: a pass every ``interval`` seconds, or at once when woken (also
        when woken during a pass)."""
        while True:
            self.wake.clear()
            try:
                if self._bound_again:
                    await self._resume_parked()
                while await self.run_due() >= self.settings.claim_batch:
                    pass
                await self.send_reports()
                await self.receipts.prune()
                await self.flush_refetches()
            except StateUnavailable as exc:  # the database is away: a line, not a trace
                log.warning("scheduler pass failed: %s", exc)
            except Exception:  # noqa: BLE001 - the store may be down for a while
                log.exception("scheduler pass failed")
            try:
                await asyncio.wait_for(self.wake.wait(), interval)
            except TimeoutError:
                pass

    def link_up(self) -> None:
        """The messenger is bound (again): the recipients parked here go at the next pass,
        now. Call it on the loop."""
        self._bound_again = True
        self.wake.set()

    async def _resume_parked(self) -> None:
        """Make the parked recipients due now (one ``resumed`` event each). Parking happens
        in passes only, so every recipient parked before the bind is in the map; a claim a
        pass holds on one is left alone, and one that moved on is not touched."""
        self._bound_again = False
        parked, self._parked = self._parked, {}
        now = self.clock()
        for recipient_id, state in parked.items():
            await self.state.transition(recipient_id, expected=(state,), to=state, now=now,
                                        kind="resumed", next_attempt_at=now, release=False)
        if parked:
            log.info("SMSC link up: %d parked recipients resumed", len(parked))

    async def _park(self, r: RecipientRecord, message: MessageRecord, kind: str,
                    why: str) -> None:
        """The SMS never left: no attempt spent; due again at the next bind (:meth:`link_up`),
        after PARKED_RETRY at the latest, or at the expiry if sooner."""
        until = min(self.expiry(message), self.clock() + PARKED_RETRY)
        moved = await self._move(r, r.state, kind=kind, detail={"why": why},
                                 next_attempt_at=until)
        if moved is not None and moved.id is not None:
            self._parked[moved.id] = moved.state

    async def _step(self, r: RecipientRecord, message: MessageRecord) -> None:
        now = self.clock()
        if r.state == S.NOTIFIED:
            await self.receipts.unfetched(r)
        if now >= self.expiry(message):
            await self._finish(r, message, S.EXPIRED, kind="expired")
        elif r.state in (S.ACCEPTED, S.ADAPTED) and await self._opted_out(r, message):
            return  # ended rejected before any SMS (mmsc/relay/optout.py)
        elif r.route == Route.MMS and r.state in (S.ACCEPTED, S.ADAPTED):
            await self._notify(r, message)
        elif r.route == Route.MMS and r.state in (S.NOTIFIED, S.RETRIEVED):
            if now - message.created_at >= self.settings.fallback_after:
                await self._send_link(r, message)
            else:
                await self._notify(r, message)
        elif r.route == Route.LEGACY and r.state == S.ACCEPTED:
            await self._send_link(r, message)
        elif r.route == Route.VASP and r.state == S.ACCEPTED:
            await self._deliver_to_vasp(r, message)
        elif r.route in (Route.MM4, Route.EMAIL) and r.state == S.ACCEPTED:
            await self._relay(r, message)
        else:  # deferred, fallback-sent: their timer is the expiry
            await self._move(r, r.state, kind="timer", next_attempt_at=self.expiry(message))

