"""The pace of the SMS sent for a VASP's messages, by the kind of their sender
(:mod:`wap_push.senders`; issue 18.6).

Operators grant about 100 SMS a second to a short code and about 10 to a long number;
alphanumeric senders are usually held to the long numbers' pace (they are not a
numbering resource and are throttled by SMSCs as such), hence the defaults of
``[advertising]``.
"""

from __future__ import annotations

from collections.abc import Mapping

from wap_push.senders import sender_kind
from wap_push.smpp_client import RateLimiter

from mmsc.state import MessageRecord

#: Senders with a limiter at most (a VASP without allowed_senders names any sender).
MAX_SENDERS = 10_000


def sender_of(originator: str) -> str:
    """The sender in a message's originator (``36000/TYPE=PLMN`` → ``36000``)."""
    return originator.partition("/TYPE=")[0]


class SenderLimits:
    """One :class:`~wap_push.smpp_client.RateLimiter` per VASP sender, at the pace of its
    kind (``mps`` by kind); the SMS of a message wait their sender's turn without blocking
    the loop, on top of the route's own ``max_mps``. Only VASPs' messages are paced, and at
    most :data:`MAX_SENDERS` senders are remembered (the oldest is forgotten first)."""

    def __init__(self, mps: Mapping[str, float]) -> None:
        self.mps = dict(mps)
        self._limiters: dict[str, RateLimiter] = {}

    async def wait(self, sender: str) -> None:
        limiter = self._limiters.get(sender)
        if limiter is None:
            try:
                rate = self.mps.get(sender_kind(sender), 0.0)
            except ValueError:
                return
            if rate <= 0:
                return
            if len(self._limiters) >= MAX_SENDERS:
                del self._limiters[next(iter(self._limiters))]
            limiter = self._limiters[sender] = RateLimiter(rate)
        await limiter.wait()


class Pacing:
    """The per-sender pace of :class:`~mmsc.relay.engine.Engine` (``self.senders``)."""

    async def _pace(self, message: MessageRecord) -> None:
        """Wait the turn of the message's sender before one of its SMS (a VASP's message
        only: a handset's own sends are not a sender's traffic)."""
        if message.vasp_id is not None and message.originator:
            await self.senders.wait(sender_of(message.originator))
