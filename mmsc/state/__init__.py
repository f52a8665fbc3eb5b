"""The state store: messages, recipients and their timers, events, VASPs, subscribers.

SQLite by default (:class:`SqliteStateStore`), PostgreSQL for several nodes on one database
(:class:`PostgresStateStore`); every query sits behind :class:`StateStore`.
"""

from .base import UNCHANGED, DuplicateMessage, StateError, StateStore, StateUnavailable
from .records import (
    FINAL_STATES, CdrRecord, Event, Interface, MessageRecord, Moved, OptOut, RecipientRecord,
    RecipientState, ReportRecord, Route, SmscIdRecord, Subscriber, VaspRecord,
)
from .postgres import PostgresStateStore
from .sqlite import SqliteStateStore

__all__ = [
    "CdrRecord", "DuplicateMessage", "Event", "FINAL_STATES", "Interface", "MessageRecord",
    "Moved", "OptOut", "PostgresStateStore", "RecipientRecord", "RecipientState",
    "ReportRecord", "Route",
    "SmscIdRecord", "SqliteStateStore", "StateError", "StateStore", "StateUnavailable",
    "Subscriber", "UNCHANGED", "VaspRecord",
]
