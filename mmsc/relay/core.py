"""What every part of the relay engine shares: its settings, the services it calls (as
protocols), the groups of recipient states its steps test, and the errors it raises."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from adaptation.ffmpeg import Ffmpeg
from adaptation.profile_fetch import ProfileFetcher
from adaptation.uaprof import DeviceProfile
from mmsc.message import Message
from mmsc.state import MessageRecord, RecipientRecord, RecipientState, ReportRecord, StateError
from mmsc.store import ObjectNotFound, ObjectStoreError

from .hours import SendingHours

S = RecipientState

#: What the stores raise when they cannot serve a request now (down, too slow, refusing): an
#: interface answers "retry later" (MM7 fault 4006, MM1 transient failure, HTTP 503).
UNAVAILABLE = (ObjectStoreError, StateError, OSError)


class ContentLost(ObjectNotFound):
    """A message's original is gone from the object store. When it is raised, the message's
    waiting recipients have been ended ``unreachable``; an interface answers with its
    permanent "message not found"."""


class Reporter(Protocol):
    """What talks MM7 to VASPs (``mmsc.mm7.client.VaspReporter`` is one): the reports owed to
    them, and the messages handsets send to their short codes. Each returns whether it was
    taken, whether a failure is worth retrying, and a detail for the event."""

    async def send(self, report: ReportRecord) -> tuple[bool, bool, dict[str, Any]]: ...

    async def deliver(self, vasp_id: str, message: Message) -> tuple[bool, bool, dict[str, Any]]:
        ...


class Messenger(Protocol):
    """What the engine sends SMS through (``wap_push.smpp_client.SmppClient`` is one). A send
    that fails with ``decision`` "link" never reached the SMSC; ``connected`` says whether
    one can reach it now."""

    @property
    def connected(self) -> bool: ...

    async def send_push(self, destination: str, push_pdu: bytes) -> list[str]: ...

    async def send_text(self, destination: str, text: str,
                        source: str | None = None) -> list[str]: ...


class Mailer(Protocol):
    """What talks SMTP (``mmsc.mm4.client.SmtpRelay`` is one): an MM4_forward.REQ of a
    recipient's copy to the MMSC of its operator, an e-mail of it to an e-mail address (MM3),
    and the MM4 reports owed to the MMSC a message came from. Each returns whether it was
    taken (SMTP 250), whether a failure is worth retrying, and a detail for the event."""

    async def forward(self, r: RecipientRecord, message: MessageRecord,
                      content: Message) -> tuple[bool, bool, dict[str, Any]]: ...

    async def email(self, r: RecipientRecord, message: MessageRecord,
                    content: Message) -> tuple[bool, bool, dict[str, Any]]: ...

    async def send(self, report: ReportRecord) -> tuple[bool, bool, dict[str, Any]]: ...


@dataclass
class Advertising:
    """``[advertising]`` as the engine uses it: the opt-out words, the confirmation SMS
    and the notice (texts with ``{short_code}``; empty: none sent, none shown), and the SMS
    rate of each kind of sender (:mod:`.senders`; absent or 0: no limit of its own)."""

    stop_words: Sequence[str] = ("STOP",)
    start_words: Sequence[str] = ("START",)
    stop_confirmation: str = ""
    start_confirmation: str = ""
    optout_notice: str = ""
    sender_mps: Mapping[str, float] = field(default_factory=dict)


@dataclass
class Settings:
    """The engine's knobs (``[delivery]`` and ``[http] public_url`` of the configuration)."""

    public_url: str
    default_expiry: float = 3 * 86400.0
    renotify_backoff: Sequence[float] = (60.0, 300.0, 1800.0, 7200.0)
    fallback_after: float = 6 * 3600.0
    local_prefixes: Sequence[str] = ()  # empty: every number is served here
    mm4_prefixes: Sequence[str] = ()  # numbers of other operators' MMSCs ([[peer]] prefixes)
    report_backoff: Sequence[float] = (10.0, 60.0, 300.0, 1800.0, 3600.0)  # then given up
    profiles: dict[str, DeviceProfile] = field(default_factory=dict)  # by subscriber profile
    profile_fetcher: ProfileFetcher | None = None  # for x-wap-profile URLs
    ffmpeg: Ffmpeg = field(default_factory=Ffmpeg)  # how audio and video are transcoded
    adaptation_workers: int = 2  # adaptations running at once
    content_cache: int = 32 * 1024 * 1024  # octets of fetched content kept in memory
    link_ttl: float = 3 * 86400.0  # how long a web link works after its SMS ([viewer])
    link_pin: bool = False  # the link SMS carries a PIN the viewer asks for
    sending_hours: SendingHours | None = None  # of Advertisement messages; None: any time
    default_classes: dict[str, str] = field(default_factory=dict)  # by VASP id ([[vasp]])
    advertising: Advertising = field(default_factory=Advertising)
    claim_batch: int = 50
    claim_lease: float = 120.0
    node: str = field(default_factory=lambda: f"node-{secrets.token_hex(4)}")


#: States in which a handset may fetch the content (with a token, so notified at least
#: once: a fast handset may fetch before ``notified`` is written).
_FETCHABLE = (S.ACCEPTED, S.ADAPTED, S.NOTIFIED, S.DEFERRED, S.RETRIEVED, S.FALLBACK_SENT,
              S.ACKNOWLEDGED)
_NOT_YET_RETRIEVED = (S.ACCEPTED, S.ADAPTED, S.NOTIFIED, S.DEFERRED, S.FALLBACK_SENT)
_WAITING = (S.ACCEPTED, S.ADAPTED, S.NOTIFIED, S.DEFERRED, S.RETRIEVED, S.FALLBACK_SENT)
