"""The state store interface: every query the engine makes, behind one small class, so that a
PostgreSQL implementation can replace SQLite without touching a caller."""

from __future__ import annotations

import abc
import enum
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from .records import (
    CdrRecord, Event, MessageRecord, Moved, OptOut, RecipientRecord, RecipientState,
    ReportRecord, SmscIdRecord, Subscriber, VaspRecord,
)


class StateError(Exception):
    """The state store cannot do what was asked."""


class StateUnavailable(StateError):
    """The store cannot be reached now (a database server down or restarting): the caller
    answers "try later". ``uncertain``: the failure came while a write was committing, so
    it may have been committed (what it refers to must be kept)."""

    def __init__(self, message: str, *, uncertain: bool = False) -> None:
        super().__init__(message)
        self.uncertain = uncertain


class DuplicateMessage(StateError):
    """A message with the same id, or the same VASP TransactionID, is already accepted."""

    def __init__(self, message_id: str) -> None:
        super().__init__(f"message {message_id} is already accepted")
        self.message_id = message_id


class _Unchanged(enum.Enum):
    UNCHANGED = "unchanged"


#: A transition argument left as it is.
UNCHANGED = _Unchanged.UNCHANGED


class StateStore(abc.ABC):
    """Messages, recipients, events, VASPs and subscribers. All methods are coroutines and
    never block the event loop."""

    @abc.abstractmethod
    async def accept_message(self, message: MessageRecord, recipients: Sequence[RecipientRecord],
                             detail: dict[str, Any] | None = None) -> list[RecipientRecord]:
        """Insert the message, its recipients, and ``accepted`` events (one for the message,
        one per recipient) in one transaction; return the recipients with their ids.
        Raises DuplicateMessage, leaving nothing of this call behind."""

    @abc.abstractmethod
    async def get_message(self, message_id: str) -> MessageRecord | None: ...

    @abc.abstractmethod
    async def list_message_ids(self) -> list[str]: ...

    @abc.abstractmethod
    async def get_messages(self, message_ids: Collection[str]) -> dict[str, MessageRecord]:
        """The messages of these ids that exist, by id, in one query."""

    @abc.abstractmethod
    async def delete_message(self, message_id: str) -> None:
        """Remove a message with its recipients and events."""

    @abc.abstractmethod
    async def recipients_of(self, message_id: str) -> list[RecipientRecord]: ...

    @abc.abstractmethod
    async def get_recipient(self, recipient_id: int) -> RecipientRecord | None: ...

    @abc.abstractmethod
    async def recipient_by_token(self, *, content_digest: str | None = None,
                                 viewer_token: str | None = None) -> RecipientRecord | None:
        """The recipient of a content location token (by its digest, ``content_tokens``) or
        of a web link (``viewer_token``, itself a digest); exactly one is given."""

    @abc.abstractmethod
    async def recipient_by_transaction(self, transaction_id: str) -> RecipientRecord | None:
        """The recipient whose notifications carry ``transaction_id``."""

    @abc.abstractmethod
    async def add_content_token(self, recipient_id: int, digest: str, *, now: float) -> None:
        """Record the digest of a content location token about to be sent to a recipient."""

    @abc.abstractmethod
    async def transition(self, recipient_id: int, *, expected: Collection[RecipientState],
                         to: RecipientState, now: float, kind: str | None = None,
                         detail: dict[str, Any] | None = None,
                         next_attempt_at: float | None | _Unchanged = UNCHANGED,
                         attempts: int | _Unchanged = UNCHANGED,
                         device_profile: str | None | _Unchanged = UNCHANGED,
                         transaction_id: str | None | _Unchanged = UNCHANGED,
                         viewer_token: str | None | _Unchanged = UNCHANGED,
                         viewer_pin: str | None | _Unchanged = UNCHANGED,
                         viewer_expires_at: float | None | _Unchanged = UNCHANGED,
                         release: bool = True,
                         report: tuple[str, ...] | None = None) -> Moved | None:
        """Compare-and-set: when the recipient is in one of ``expected``, move it to ``to``,
        set the given columns, release its claim (unless ``release`` is False: a step that
        is not over yet) and write one event (``kind``, default the new state) in one
        transaction, with, when ``report`` is (kind, status) or (kind, status, status
        text), the report it owes to a VASP.
        Returns the state left and the new row, or None (nothing written)."""

    @abc.abstractmethod
    async def count_pin_attempt(self, recipient_id: int, *, now: float) -> int:
        """One more PIN attempt on a recipient's web link, counted before the PIN is checked
        (so parallel guesses each use one up); returns the attempts counted so far."""

    @abc.abstractmethod
    async def add_refetches(self, counts: Mapping[int, tuple[int, float]]) -> None:
        """Add repeated fetches, ``{recipient_id: (how many, when the last was)}``, to the
        recipients' counts, in one write."""

    @abc.abstractmethod
    async def refetches(self, message_id: str) -> dict[int, tuple[int, float]]:
        """The repeated fetches of a message's recipients: ``{recipient_id: (count,
        last_at)}`` for those that have any."""

    @abc.abstractmethod
    async def pin_attempts(self, recipient_id: int) -> int:
        """The PIN attempts counted since the last right one."""

    @abc.abstractmethod
    async def clear_pin_attempts(self, recipient_id: int) -> None:
        """The right PIN was given: the count starts again."""

    @abc.abstractmethod
    async def queue_report(self, message_id: str, recipient_id: int | None, kind: str,
                           status: str, *, now: float) -> None:
        """Owe a VASP a report outside a state change (a read report), with its event."""

    @abc.abstractmethod
    async def claim_reports(self, *, now: float, limit: int, lease: float) -> list[ReportRecord]:
        """Reports due to be sent, claimed for ``lease`` seconds."""

    @abc.abstractmethod
    async def report_done(self, report_id: int, *, now: float, sent: bool,
                          next_attempt_at: float | None, detail: dict[str, Any]) -> None:
        """Record a sending attempt: sent, retried at ``next_attempt_at``, or given up
        (neither), with an event."""

    @abc.abstractmethod
    async def claim_due(self, *, now: float, owner: str, limit: int,
                        lease: float) -> list[RecipientRecord]:
        """Claim up to ``limit`` recipients whose timer is due (``next_attempt_at <= now``),
        not final and not claimed by a live lease, for ``lease`` seconds; oldest first.
        Two claimers never get the same row."""

    @abc.abstractmethod
    async def count_due(self, now: float) -> int:
        """How many recipients' timers are due (``next_attempt_at <= now``, not final): the
        work waiting, claimed or not."""

    @abc.abstractmethod
    async def claim_cdrs(self, *, now: float, owner: str, limit: int,
                         lease: float) -> list[CdrRecord]:
        """Up to ``limit`` CDRs not yet written and not claimed by a live lease, oldest
        first, claimed for ``lease`` seconds; each as it was before this claim (a
        ``claimed_by`` says another claimed it before, and may have written it)."""

    @abc.abstractmethod
    async def cdrs_written(self, recipient_ids: Collection[int], *, now: float) -> None:
        """These CDRs are in a CDR file."""

    @abc.abstractmethod
    async def cdrs_between(self, start: float, end: float) -> list[CdrRecord]:
        """Every CDR of a final state reached in [start, end), written or not, oldest first."""

    @abc.abstractmethod
    async def search_messages(self, *, addresses: Collection[str] = (),
                              vasp_id: str | None = None, state: RecipientState | None = None,
                              since: float | None = None, limit: int = 50,
                              ) -> list[MessageRecord]:
        """Messages newest first: from or to one of ``addresses`` (exact), of ``vasp_id``,
        with a recipient in ``state``, accepted at ``since`` or later (each filter when
        given)."""

    @abc.abstractmethod
    async def state_counts(self, *, since: float, until: float) -> dict[str, Any]:
        """Of the messages accepted in [since, until): ``messages`` by interface, and
        ``recipients`` by interface and state (``{"mm1": {"acknowledged": 3}}``)."""

    @abc.abstractmethod
    async def add_smsc_ids(self, recipient_id: int, kind: str, smsc_ids: Sequence[str], *,
                           now: float, expires_at: float) -> None:
        """Record the SMSC message ids (in their lookup form) of the segments of one SMS
        sent to or about a recipient, ``kind`` push, link or report."""

    @abc.abstractmethod
    async def take_smsc_id(self, keys: Sequence[str], *,
                           whole_sms: bool) -> tuple[SmscIdRecord, int] | None:
        """The segment recorded under the first of ``keys`` that has one (the newest row
        of that id), removed, with (``whole_sms``) the other segments of its SMS; and how
        many segments of that SMS are left. Atomic: of two takers of one id only one gets
        it, and of the takers of an SMS's segments exactly one sees none left."""

    @abc.abstractmethod
    async def prune_smsc_ids(self, *, now: float) -> int:
        """Remove the segments whose ``expires_at`` has passed; how many."""

    @abc.abstractmethod
    async def add_event(self, message_id: str, kind: str, *, now: float,
                        detail: dict[str, Any] | None = None,
                        recipient_id: int | None = None) -> Event: ...

    @abc.abstractmethod
    async def events_of(self, message_id: str) -> list[Event]: ...

    @abc.abstractmethod
    async def put_subscriber(self, subscriber: Subscriber) -> None: ...

    @abc.abstractmethod
    async def get_subscriber(self, address: str) -> Subscriber | None: ...

    @abc.abstractmethod
    async def put_vasp(self, vasp: VaspRecord) -> None: ...

    @abc.abstractmethod
    async def get_vasp(self, vasp_id: str) -> VaspRecord | None: ...

    @abc.abstractmethod
    async def list_vasps(self) -> list[VaspRecord]: ...

    @abc.abstractmethod
    async def add_optout(self, optout: OptOut) -> bool:
        """Record an opt-out; False when that number had already opted out of that VASP
        (the first one is kept)."""

    @abc.abstractmethod
    async def remove_optout(self, vasp_id: str, address: str) -> bool:
        """Opt a number back in; False when it had not opted out."""

    @abc.abstractmethod
    async def get_optout(self, vasp_id: str, address: str) -> OptOut | None: ...

    @abc.abstractmethod
    async def list_optouts(self, vasp_id: str | None = None) -> list[OptOut]:
        """The opt-outs (of one VASP when given), by VASP then number."""

    def on_due(self, callback: Callable[[], None]) -> None:
        """Have ``callback`` called (on the event loop) when another process of a shared
        store makes work due, so that its scheduler need not wait for its next poll. A store
        that has no way to hear it (SQLite) never calls it: the poll finds the work."""

    @abc.abstractmethod
    async def close(self) -> None: ...
