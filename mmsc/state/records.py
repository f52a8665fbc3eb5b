"""The rows of the state store (ARCHITECTURE.md, "Data at rest") and their value sets."""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass, field, fields


@functools.cache
def field_names(kind: type) -> tuple[str, ...]:
    """The fields of a record class, in order (what its table's columns are named)."""
    return tuple(f.name for f in fields(kind))


class RecipientState(enum.StrEnum):
    """The recipient state machine of ARCHITECTURE.md: ``accepted → (adapted) → notified →
    retrieved → acknowledged``, with the side exits."""

    ACCEPTED = "accepted"
    ADAPTED = "adapted"
    NOTIFIED = "notified"
    RETRIEVED = "retrieved"
    ACKNOWLEDGED = "acknowledged"
    DEFERRED = "deferred"
    REJECTED = "rejected"
    EXPIRED = "expired"
    FORWARDED = "forwarded"
    FALLBACK_SENT = "fallback-sent"
    UNREACHABLE = "unreachable"

    @property
    def final(self) -> bool:
        return self in FINAL_STATES


#: States after which nothing more happens to a recipient. ``retrieved`` waits for the
#: acknowledgement and ``fallback-sent`` for the viewer, so neither is final.
FINAL_STATES = frozenset({RecipientState.ACKNOWLEDGED, RecipientState.REJECTED,
                          RecipientState.EXPIRED, RecipientState.FORWARDED,
                          RecipientState.UNREACHABLE})


class Route(enum.StrEnum):
    """Where a recipient's copy goes (ARCHITECTURE.md, per recipient route)."""

    MMS = "mms"  # a local handset with MMS: notification, then MM1 retrieval
    LEGACY = "legacy"  # a local phone without MMS: text SMS with a web-viewer link
    MM4 = "mm4"  # another operator's MMSC over SMTP
    EMAIL = "email"  # an e-mail address (MM3)
    VASP = "vasp"  # a VASP's short code: MM7 DeliverReq


class Interface(enum.StrEnum):
    """The interface a message came in on."""

    MM1 = "mm1"
    MM7 = "mm7"
    MM4 = "mm4"
    WEB = "web"


@dataclass(frozen=True)
class MessageRecord:
    """One accepted message: what the engine needs without reading the object store."""

    id: str
    interface: Interface
    originator: str
    object_key: str
    size: int
    created_at: float
    subject: str | None = None
    message_class: str | None = None
    priority: str | None = None
    date: float | None = None
    expiry_at: float | None = None
    earliest_delivery_at: float | None = None
    delivery_report: bool = False
    read_report: bool = False
    vasp_id: str | None = None
    transaction_id: str | None = None
    linked_id: str | None = None
    service_code: str | None = None
    content_type: str | None = None
    mm7_namespace: str | None = None  # the SubmitReq's, for the reports that answer it
    mm7_version: str | None = None
    mm4_message_id: str | None = None  # an MM4 forward's X-Mms-Message-ID, for its reports
    mm4_reply_to: str | None = None  # where the reports of an MM4 forward go


@dataclass(frozen=True)
class RecipientRecord:
    """One recipient of one message, with its place in the state machine and its timer."""

    id: int | None
    message_id: str
    address: str
    kind: str  # "to", "cc" or "bcc"
    route: Route
    state: RecipientState
    attempts: int = 0
    next_attempt_at: float | None = None
    device_profile: str | None = None
    transaction_id: str | None = None  # of its notifications (the content tokens are elsewhere)
    viewer_token: str | None = None
    updated_at: float = 0.0
    claimed_by: str | None = None
    claimed_until: float | None = None
    viewer_pin: str | None = None  # digest of the link's PIN (mmsc.relay.links)
    viewer_expires_at: float | None = None  # when the web link stops working


@dataclass(frozen=True)
class Moved:
    """A transition done: the state the recipient really left (which a caller's stale copy
    may not show) and the row as it is now."""

    before: RecipientState
    record: RecipientRecord


@dataclass(frozen=True)
class Event:
    """One line of a message's timeline (append-only)."""

    id: int | None
    message_id: str
    recipient_id: int | None
    at: float
    kind: str
    detail: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ReportRecord:
    """A report owed to a VASP: ``kind`` delivery (MMStatus in ``status``) or read."""

    id: int | None
    message_id: str
    recipient_id: int | None
    kind: str
    status: str
    created_at: float
    attempts: int = 0
    next_attempt_at: float | None = None
    claimed_until: float | None = None
    sent_at: float | None = None
    status_text: str | None = None  # the report's StatusText (an opt-out, say); None: none


@dataclass(frozen=True)
class OptOut:
    """A number that asked a VASP for no more Advertisement messages: a stop word to one of
    its short codes, by SMS or MMS (``via`` "handset"), or the operator on its behalf
    ("operator")."""

    vasp_id: str
    address: str
    created_at: float
    via: str


@dataclass(frozen=True)
class CdrRecord:
    """A recipient that reached a final state: the call detail record owed for it (one per
    recipient, ever). ``before`` is the state it left."""

    recipient_id: int
    message_id: str
    at: float
    state: RecipientState
    before: RecipientState
    written_at: float | None = None
    claimed_by: str | None = None
    claimed_until: float | None = None


@dataclass(frozen=True)
class SmscIdRecord:
    """One SMS segment submitted to or about a recipient, by the SMSC's message id."""

    id: int | None
    smsc_id: str  # in its lookup form (wap_push.smpp.message_id_keys)
    sms: str  # the first segment's smsc_id: the same for every segment of one SMS
    recipient_id: int
    kind: str  # "push" (its notification), "link" (its link SMS) or "report" (about it)
    created_at: float
    expires_at: float  # the message's expiry: the row goes then, receipt or not


@dataclass(frozen=True)
class Subscriber:
    """A local subscriber: can the phone take MMS, which device profile, which home MMSC."""

    address: str
    mms_capable: bool = True
    device_profile: str | None = None
    home_mmsc: str | None = None
    updated_at: float = 0.0


@dataclass(frozen=True)
class VaspRecord:
    """A VASP allowed to submit over MM7."""

    id: str
    name: str
    password_hash: str
    allowed_senders: tuple[str, ...] = ()
    rate_limit: float | None = None
    mm7_namespace: str | None = None
    mm7_version: str | None = None
    report_url: str | None = None
    enabled: bool = True
