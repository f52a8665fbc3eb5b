"""The state store schema, as an ordered list of migrations. ``PRAGMA user_version`` (SQLite)
records how many have been applied; opening a store applies the missing ones. Each one has
its PostgreSQL twin in :mod:`mmsc.state.schema_postgres` (a parity test fails without it)."""

from __future__ import annotations

from collections.abc import Iterable

from .records import FINAL_STATES, Interface, RecipientState, Route


def _one_of(column: str, values: Iterable[str]) -> str:
    """A CHECK constraint from an enum, so the table and the code list the same values."""
    listed = ", ".join(f"'{value}'" for value in values)
    return f"CHECK ({column} IN ({listed}))"


def _recipients(table: str, routes: Iterable[str]) -> str:
    """The recipients table; ``routes`` are the values its route column takes."""
    return f"""CREATE TABLE {table} (
    id INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    address TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('to', 'cc', 'bcc')),
    route TEXT NOT NULL {_one_of("route", routes)},
    state TEXT NOT NULL {_one_of("state", RecipientState)},
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL,
    device_profile TEXT,
    content_token TEXT UNIQUE,
    viewer_token TEXT UNIQUE,
    updated_at REAL NOT NULL,
    claimed_by TEXT,
    claimed_until REAL,
    UNIQUE (message_id, address)
);
CREATE INDEX {table}_due ON {table} (next_attempt_at) WHERE next_attempt_at IS NOT NULL"""


#: The routes of schema version 1 (as shipped; the route column gained "vasp" in version 3).
_ROUTES_V1 = ("mms", "legacy", "mm4", "email")


_V1 = f"""
CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    interface TEXT NOT NULL {_one_of("interface", Interface)},
    originator TEXT NOT NULL,
    object_key TEXT NOT NULL,
    size INTEGER NOT NULL,
    created_at REAL NOT NULL,
    subject TEXT,
    message_class TEXT,
    priority TEXT,
    date REAL,
    expiry_at REAL,
    earliest_delivery_at REAL,
    delivery_report INTEGER NOT NULL DEFAULT 0,
    read_report INTEGER NOT NULL DEFAULT 0,
    vasp_id TEXT,
    transaction_id TEXT,
    linked_id TEXT,
    service_code TEXT,
    content_type TEXT
);
CREATE UNIQUE INDEX messages_vasp_transaction ON messages (vasp_id, transaction_id)
    WHERE vasp_id IS NOT NULL AND transaction_id IS NOT NULL;

{_recipients("recipients", _ROUTES_V1)};

CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    recipient_id INTEGER REFERENCES recipients (id) ON DELETE CASCADE,
    at REAL NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{{}}'
);
CREATE INDEX events_message ON events (message_id, id);

CREATE TABLE vasps (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    allowed_senders TEXT NOT NULL DEFAULT '[]',
    rate_limit REAL,
    mm7_namespace TEXT,
    mm7_version TEXT,
    report_url TEXT,
    enabled INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE subscribers (
    address TEXT PRIMARY KEY,
    mms_capable INTEGER NOT NULL DEFAULT 1,
    device_profile TEXT,
    home_mmsc TEXT,
    updated_at REAL NOT NULL
);
"""

#: Reports owed to VASPs (an outbox: written in the transaction of the final state that causes
#: them, sent and retried by the engine), and where an MM7 message's answers go.
_V2 = """
ALTER TABLE messages ADD COLUMN mm7_namespace TEXT;
ALTER TABLE messages ADD COLUMN mm7_version TEXT;
CREATE TABLE reports (
    id INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    recipient_id INTEGER REFERENCES recipients (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('delivery', 'read')),
    status TEXT NOT NULL,
    created_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL,
    claimed_until REAL,
    sent_at REAL
);
CREATE INDEX reports_due ON reports (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
"""

#: Recipients may be VASPs (messages from handsets to a short code go out as MM7 DeliverReq):
#: SQLite cannot change a CHECK in place, so the table is rebuilt (foreign keys are off while
#: migrations run, so nothing cascades).
_V3 = f"""
{_recipients("recipients_v3", (route.value for route in Route))};
INSERT INTO recipients_v3 SELECT * FROM recipients;
DROP TABLE recipients;
ALTER TABLE recipients_v3 RENAME TO recipients;
DROP INDEX recipients_v3_due;
CREATE INDEX recipients_due ON recipients (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
"""

#: The web link of a recipient without MMS: ``viewer_token`` holds the SHA-256 of the link's
#: token (never the token itself), ``viewer_pin`` a digest of the PIN keyed by that token,
#: ``viewer_expires_at`` when the link stops working. PIN attempts are the viewer's own rows.
_V4 = """
ALTER TABLE recipients ADD COLUMN viewer_pin TEXT;
ALTER TABLE recipients ADD COLUMN viewer_expires_at REAL;
CREATE TABLE pin_attempts (
    recipient_id INTEGER PRIMARY KEY REFERENCES recipients (id) ON DELETE CASCADE,
    failures INTEGER NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL
);
"""

#: A content location's token is no longer kept, only its SHA-256 (``token_digest``, a function
#: the store gives SQLite), one row per notification sent (each carries a fresh token; every
#: one stays valid while the recipient may fetch). ``recipients.transaction_id`` is the
#: notification's X-Mms-Transaction-Id, the same in every re-notification (handsets
#: de-duplicate on it). It used to be the token itself: rows in flight get a new one, so that
#: no token is left in the database (their handsets may show one repeated notification).
_V5 = """
ALTER TABLE recipients RENAME COLUMN content_token TO transaction_id;
CREATE TABLE content_tokens (
    digest TEXT PRIMARY KEY,
    recipient_id INTEGER NOT NULL REFERENCES recipients (id) ON DELETE CASCADE,
    created_at REAL NOT NULL
);
CREATE INDEX content_tokens_recipient ON content_tokens (recipient_id);
INSERT INTO content_tokens (digest, recipient_id, created_at)
    SELECT token_digest(transaction_id), id, updated_at FROM recipients
    WHERE transaction_id IS NOT NULL;
UPDATE recipients SET transaction_id = lower(hex(randomblob(11)))
    WHERE transaction_id IS NOT NULL
"""

#: The SMSC message id of every SMS segment submitted to or about a recipient (``kind``: its
#: notification push, its link SMS, or a report push about its delivery), so that whichever
#: bind of whichever process a delivery receipt reaches can match it. ``smsc_id`` is the id
#: in its lookup form (``wap_push.smpp.message_id_keys``); the segments of one SMS share
#: ``sms`` (the first one's id). Rows go with their recipient, when matched, and at
#: ``expires_at`` (the message's expiry), receipt or not.
_V6 = """
CREATE TABLE smsc_ids (
    id INTEGER PRIMARY KEY,
    smsc_id TEXT NOT NULL,
    sms TEXT NOT NULL,
    recipient_id INTEGER NOT NULL REFERENCES recipients (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('push', 'link', 'report')),
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL
);
CREATE INDEX smsc_ids_smsc_id ON smsc_ids (smsc_id);
CREATE INDEX smsc_ids_sms ON smsc_ids (recipient_id, sms);
CREATE INDEX smsc_ids_expiry ON smsc_ids (expires_at)
"""

_FINALS = ", ".join(f"'{state}'" for state in sorted(s.value for s in FINAL_STATES))

#: One row per recipient that reached a final state, written by a trigger in the transaction
#: of that transition (so no final state is missed, whoever moved it): the call detail record
#: owed (``mmsc.relay.cdr``), claimed by a node like a timer, ``written_at`` once it is in a
#: CDR file. ``before`` is the state left (an expiry after a fetch is not a plain expiry).
#: Recipients already final get theirs now: the CDR files start with the whole past. The
#: operator's searches (``mmsc.operator.api``) look messages up by date and by number.
_V7 = f"""
CREATE TABLE cdrs (
    recipient_id INTEGER PRIMARY KEY REFERENCES recipients (id) ON DELETE CASCADE,
    message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    at REAL NOT NULL,
    state TEXT NOT NULL,
    before TEXT NOT NULL,
    written_at REAL,
    claimed_by TEXT,
    claimed_until REAL
);
CREATE INDEX cdrs_pending ON cdrs (at) WHERE written_at IS NULL;
CREATE INDEX cdrs_at ON cdrs (at);
CREATE TRIGGER recipients_final AFTER UPDATE OF state ON recipients
    WHEN NEW.state IN ({_FINALS}) AND OLD.state NOT IN ({_FINALS})
    BEGIN INSERT OR IGNORE INTO cdrs (recipient_id, message_id, at, state, before) VALUES (NEW.id, NEW.message_id, NEW.updated_at, NEW.state, OLD.state); END;
INSERT INTO cdrs (recipient_id, message_id, at, state, before)
    SELECT id, message_id, updated_at, state, state FROM recipients WHERE state IN ({_FINALS});
CREATE INDEX messages_created ON messages (created_at);
CREATE INDEX recipients_address ON recipients (address)
"""

#: A message that came over MM4 keeps what its reports need (TS 23.140 §8.4.2, §8.4.3): the
#: X-Mms-Message-ID the originating MMSC gave it, and where the originator's MMSC takes
#: reports (its X-Mms-Originator-System, else the SMTP envelope sender).
_V8 = """
ALTER TABLE messages ADD COLUMN mm4_message_id TEXT;
ALTER TABLE messages ADD COLUMN mm4_reply_to TEXT
"""

#: Fetches of a message by a handset that has fetched it already (a phone retrying when its
#: data connection drops): counted in memory and added here in batches, one row per
#: recipient, instead of an event each (``mmsc.relay.retrieval``).
_V9 = """
CREATE TABLE refetches (
    recipient_id INTEGER PRIMARY KEY REFERENCES recipients (id) ON DELETE CASCADE,
    count INTEGER NOT NULL,
    last_at REAL NOT NULL
)
"""

#: Opt-outs (issue 18.5): a number that sent a stop word to a VASP's short code gets no more
#: Advertisement messages of that VASP, whichever of its senders sends them; a report may
#: carry a StatusText (the opt-out that rejected the recipient).
_V10 = """
ALTER TABLE reports ADD COLUMN status_text TEXT;
CREATE TABLE optouts (
    vasp_id TEXT NOT NULL,
    address TEXT NOT NULL,
    created_at REAL NOT NULL,
    via TEXT NOT NULL,
    PRIMARY KEY (vasp_id, address)
)
"""

#: Migrations in order; never edit one that has shipped, append a new one.
MIGRATIONS: tuple[str, ...] = (_V1, _V2, _V3, _V4, _V5, _V6, _V7, _V8, _V9, _V10)
