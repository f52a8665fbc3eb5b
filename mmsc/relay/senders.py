"""The senders VASPs send as (issue 18.6): what kind each ``[[vasp]] allowed_senders`` entry
is, and the pace of the SMS sent for a message from each.

- A *short code*: 3 to 6 digits, the operator's own numbering (36000). Handsets can answer it.
- A *long number*: an E.164 number, "+" and up to 15 digits (ITU-T E.164 §6), or 7 to 15
  digits without the "+". Handsets can answer it.
- An *alphanumeric* sender ID: 1 to 11 characters of the GSM 03.38 default alphabet with at
  least one letter (TS 23.040 §9.1.2.5: an alphanumeric TP-OA holds 11 septets; an
  extension character takes two). Nothing can be sent back to it: no STOP either.

Operators grant about 100 SMS a second to a short code and about 10 to a long number;
alphanumeric senders are usually held to the long numbers' pace (they are not a
numbering resource and are throttled by SMSCs as such), hence the defaults of
``[advertising]``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from wap_push.sms import gsm7_septets
from wap_push.smpp_client import RateLimiter

from mmsc.state import MessageRecord

SHORT_CODE, LONG_NUMBER, ALPHANUMERIC = "short code", "long number", "alphanumeric"
KINDS = (SHORT_CODE, LONG_NUMBER, ALPHANUMERIC)
#: Septets of an alphanumeric originating address (TS 23.040 §9.1.2.5).
ALPHANUMERIC_MAX = 11
#: Senders with a limiter at most (a VASP without allowed_senders names any sender).
MAX_SENDERS = 10_000


def sender_kind(sender: str) -> str:
    """The kind of a sender (one of :data:`KINDS`), or ValueError saying why it is none."""
    if re.fullmatch(r"\d{3,6}", sender):
        return SHORT_CODE
    if re.fullmatch(r"\+\d{1,15}|\d{7,15}", sender):
        return LONG_NUMBER
    if re.fullmatch(r"\+?\d+", sender):
        raise ValueError("a number of more than 15 digits (E.164), or of 1, 2 digits")
    septets = gsm7_septets(sender)
    if septets is None:
        raise ValueError("a sender ID must be in the GSM 03.38 default alphabet")
    if len(septets) > ALPHANUMERIC_MAX:
        raise ValueError(f"a sender ID of {len(septets)} characters (GSM 03.38 septets): "
                         f"at most {ALPHANUMERIC_MAX}")
    if not any(ch.isalpha() for ch in sender):
        raise ValueError("a sender ID needs a letter")
    return ALPHANUMERIC


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
