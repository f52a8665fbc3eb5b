"""The state store: messages, recipients and their timers, events, VASPs, subscribers.

SQLite by default (:class:`SqliteStateStore`); every query sits behind :class:`StateStore`.
"""

from .base import UNCHANGED, DuplicateMessage, StateError, StateStore
from .records import (
    FINAL_STATES, CdrRecord, Event, Interface, MessageRecord, Moved, RecipientRecord,
    RecipientState, ReportRecord, Route, SmscIdRecord, Subscriber, VaspRecord,
)
from .sqlite import SqliteStateStore

__all__ = [
    "CdrRecord", "DuplicateMessage", "Event", "FINAL_STATES", "Interface", "MessageRecord",
    "Moved", "RecipientRecord", "RecipientState", "ReportRecord", "Route", "SmscIdRecord",
    "SqliteStateStore", "StateError", "StateStore",
    "Subscriber", "UNCHANGED", "VaspRecord",
]
