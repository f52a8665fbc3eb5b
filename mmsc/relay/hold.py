"""The hold of marketing messages: an Advertisement (the MM7 MessageClass of TS 23.140, the
X-Mms-Message-Class of OMA-MMS-ENC §7.3.27 on MM1 and MM4) reaches no phone outside the
sending hours of :mod:`mmsc.relay.hours`.

Acceptance is not held (the sender gets its SubmitRsp 1000 or M-Send.conf Ok at any hour);
what is held is each step that would send an SMS to a recipient's phone: the first
M-Notification.ind, the re-notifications, the text SMS with the web link. Such a step, outside
the hours, moves the recipient's timer to the next opening (never before the message's
earliest delivery time), writes one ``held`` event and spends no attempt. The expiry is not
moved: a recipient whose next opening comes at or after it is due at the expiry, and expires
then. Reports to the originator and copies that leave by MM4, MM3 or MM7 are not held (no
phone of ours is reached).
"""

from __future__ import annotations

from datetime import datetime

from mmsc.state import MessageRecord, RecipientRecord

#: The class that is held, as the standards spell it (compared without regard to case:
#: MM4 peers and Token-text MM1 classes vary).
ADVERTISEMENT = "Advertisement"


def is_advertisement(message_class: str | None) -> bool:
    """Whether a stored class is Advertisement, whatever its case and surrounding spaces."""
    return (message_class or "").strip().lower() == ADVERTISEMENT.lower()


class Hold:
    """The hold of :class:`~mmsc.relay.engine.Engine`'s sending steps."""

    async def _held(self, r: RecipientRecord, message: MessageRecord) -> bool:
        """True when ``r`` may not be sent an SMS now: its timer has been moved to the next
        opening (or to the expiry, if that comes first), with one ``held`` event."""
        rule = self.settings.sending_hours
        if rule is None or not is_advertisement(message.message_class):
            return False
        now = self.clock()
        opening = rule.next_allowed_at(max(now, message.earliest_delivery_at or now))
        if opening <= now:
            return False
        until = min(opening, self.expiry(message))
        await self._move(r, r.state, kind="held", next_attempt_at=until, detail={
            "until": datetime.fromtimestamp(opening, rule.zone).isoformat(),
            "expires_first": until < opening})
        return True
