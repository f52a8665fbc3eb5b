"""The web link of a recipient whose phone takes no MMS, or whose MMS client never fetched:
the rules of the text SMS that carries it, of the optional PIN, and of what the web viewer may
show for a token.

Nothing secret is kept at rest: the recipient row holds the SHA-256 of the link's token (the
lookup is by that digest, so the time a lookup takes says nothing of how close a guessed token
came) and an HMAC of the PIN keyed by the token, so that neither can be read back from the
state store, and a stolen database opens no link. A new token (and PIN) is therefore made for
each sending attempt; the one of a failed attempt never worked.

A link works until ``[viewer] link_ttl`` after its SMS, and never beyond the message's expiry;
it stops at once when the recipient's delivery ends otherwise (cancelled by the VASP, expired,
unreachable). Unknown, expired and withdrawn tokens are the same answer to the caller (None).

The PIN (``[viewer] pin``): :data:`PIN_DIGITS` digits in the link SMS; each attempt is
counted before it is checked, so parallel guesses each use one up; after
``[viewer] pin_attempts`` wrong ones the link is locked for good (the token itself is 128
random bits, so a locked link is the recipient's own, and only a guesser loses by it).
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from mmsc.ids import new_token, token_digest
from mmsc.state import MessageRecord, RecipientRecord, RecipientState, StateStore

S = RecipientState

#: Digits of a PIN: a short code a person types from an SMS.
PIN_DIGITS = 6
#: Delivery states after which the link is withdrawn.
WITHDRAWN = frozenset({S.REJECTED, S.EXPIRED, S.UNREACHABLE, S.FORWARDED})


def pin_digest(token: str, pin: str) -> str:
    """What the state store keeps of a PIN: HMAC-SHA-256 keyed by the link's token."""
    return hmac.new(token.encode("utf-8", "surrogateescape"), b"pin:" + pin.encode(),
                    hashlib.sha256).hexdigest()


def session_value(token: str, stored_pin: str) -> str:
    """The cookie that proves the right PIN was given for this link: derived from the token
    (which the state store does not hold) and the stored PIN digest."""
    return hmac.new(token.encode("utf-8", "surrogateescape"), b"session:" + stored_pin.encode(),
                    hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class NewLink:
    """A link about to be sent: the token and PIN for the SMS, the columns for the row."""

    token: str
    pin: str | None
    digest: str
    pin_digest: str | None
    expires_at: float


def new_link(*, now: float, ttl: float, message_expiry: float, with_pin: bool) -> NewLink:
    """A fresh link (128 random bits, not the MM1 content-location token) and, when asked,
    a PIN of :data:`PIN_DIGITS` digits."""
    token = new_token()
    pin = "".join(secrets.choice("0123456789") for _ in range(PIN_DIGITS)) if with_pin else None
    return NewLink(token, pin, token_digest(token), pin_digest(token, pin) if pin else None,
                   min(now + ttl, message_expiry))


class PinCheck(enum.Enum):
    RIGHT = "right"
    WRONG = "wrong"
    LOCKED = "locked"


@dataclass(frozen=True)
class Link:
    """A link that works: its recipient and message, and where its PIN stands."""

    recipient: RecipientRecord
    message: MessageRecord
    attempts: int  # PIN attempts counted since the last right one
    max_attempts: int

    @property
    def pin_required(self) -> bool:
        return self.recipient.viewer_pin is not None

    @property
    def locked(self) -> bool:
        return self.pin_required and self.attempts >= self.max_attempts


class Links:
    """Looks tokens up and checks PINs over the state store."""

    def __init__(self, state: StateStore, *, max_attempts: int) -> None:
        self.state = state
        self.max_attempts = max_attempts

    async def open(self, token: str, *, now: float) -> Link | None:
        """The link of ``token``, or None when it is unknown, expired or withdrawn. The
        same lookups are made whichever it is."""
        r = await self.state.recipient_by_token(viewer_token=token_digest(token))
        message = await self.state.get_message(r.message_id if r else "")
        attempts = await self.state.pin_attempts(r.id if r and r.id else 0)
        if (r is None or message is None or r.state in WITHDRAWN
                or r.viewer_expires_at is None or now >= r.viewer_expires_at):
            return None
        return Link(r, message, attempts, self.max_attempts)

    def has_session(self, link: Link, token: str, cookie: str | None) -> bool:
        """Whether ``cookie`` is the session value of this link (constant-time compare)."""
        if not link.pin_required:
            return True
        expected = session_value(token, link.recipient.viewer_pin or "")
        return cookie is not None and hmac.compare_digest(expected.encode(),
                                                          cookie.encode("utf-8", "replace"))

    async def check_pin(self, link: Link, token: str, pin: str, *, now: float,
                        ) -> tuple[PinCheck, int]:
        """Count the attempt, then check it: the outcome and the attempts left."""
        r = link.recipient
        if r.viewer_pin is None or r.id is None:
            return PinCheck.RIGHT, self.max_attempts
        used = await self.state.count_pin_attempt(r.id, now=now)
        if used > self.max_attempts:
            return PinCheck.LOCKED, 0
        if hmac.compare_digest(pin_digest(token, pin.strip()), r.viewer_pin):
            await self.state.clear_pin_attempts(r.id)
            return PinCheck.RIGHT, self.max_attempts
        left = self.max_attempts - used
        return (PinCheck.WRONG if left > 0 else PinCheck.LOCKED), left
