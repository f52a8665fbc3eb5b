"""The scale-out state store: PostgreSQL through asyncpg, shared by several mmsc nodes
(ARCHITECTURE.md, "Process model").

- Every write is one statement (data-modifying ``WITH`` clauses where a step writes several
  tables), so it is its own transaction: one round trip, and PostgreSQL's commits of
  concurrent connections share their WAL flushes (the group commit SQLite gets from
  :class:`~mmsc.state.sqlite.SqliteStateStore`'s queue).
- Claims of due recipients and reports take rows with ``FOR UPDATE SKIP LOCKED`` and mark a
  lease (``claimed_until``): two nodes never take the same row, and the rows of a node that
  died are taken again once its lease has run out.
- A transition locks its row (``SELECT ... FOR UPDATE`` in the same statement), so the state
  it reports as left is the one it really left, whichever node moved it before.
- Work made due by one node is announced with ``NOTIFY mmsc_due``; every process LISTENs on
  its own connection and wakes its scheduler (:meth:`PostgresStateStore.on_due`) when
  another one announced.
- Migrations (:mod:`mmsc.state.schema_postgres`) run at open in one transaction under an
  advisory lock: nodes starting together migrate once.
- A server that cannot be reached gives :class:`~mmsc.state.StateUnavailable` ("try later"
  for the interfaces); the pool connects again by itself once it is back.

Text PostgreSQL cannot hold (NUL characters, and octets kept as surrogate escapes by the
codecs) becomes U+FFFD, in stored values and in looked-up ones alike.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import re
import secrets
from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from mmsc import metrics

from .base import UNCHANGED, DuplicateMessage, StateError, StateStore, StateUnavailable
from .records import (
    FINAL_STATES, CdrRecord, Event, Interface, MessageRecord, Moved, OptOut, RecipientRecord,
    RecipientState, ReportRecord, Route, SmscIdRecord, Subscriber, VaspRecord, field_names,
)
from .schema_postgres import MIGRATIONS, VERSION_TABLE
from .sqlite import _storable

log = logging.getLogger(__name__)
R = TypeVar("R")

#: The channel on which nodes announce due work.
CHANNEL = "mmsc_due"
#: The advisory lock key held while migrating ("mmsc" in ASCII).
MIGRATION_LOCK = 0x6D6D7363
#: Seconds one connection attempt may take.
CONNECT_TIMEOUT = 5.0
#: Seconds one statement may take before it is given up (a server that stopped answering).
QUERY_TIMEOUT = 15.0
#: Longest pause between two attempts to reach the server (at open, and to listen again).
RETRY_MAX = 2.0
#: Shortest time between two announcements of due work by one process, in seconds.
ANNOUNCE_GAP = 0.05

#: What a server that is down, restarting or out of connections raises.
UNREACHABLE = (OSError, asyncpg.PostgresConnectionError, asyncpg.OperatorInterventionError,
               asyncpg.InsufficientResourcesError, asyncpg.InterfaceError)

_READ: dict[type, dict[str, Callable[[Any], Any]]] = {
    MessageRecord: {"interface": Interface},
    RecipientRecord: {"route": Route, "state": RecipientState},
    CdrRecord: {"state": RecipientState, "before": RecipientState},
    Event: {"detail": json.loads},
    VaspRecord: {"allowed_senders": lambda text: tuple(json.loads(text))},
}
_FINAL = [state.value for state in FINAL_STATES]
_RECIPIENT_COLUMNS = [f.name for f in dataclasses.fields(RecipientRecord) if f.name != "id"]


def redact(url: str) -> str:
    """``url`` without its password, to be named in logs and errors."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}@{host}" if user else host))


def _text(value: Any) -> Any:
    if isinstance(value, str):
        value = _storable(str(value))
        return value.replace("\x00", "\ufffd") if "\x00" in value else value
    return value


def _columns(record: Any) -> dict[str, Any]:
    """A record as column values: JSON text for dicts and tuples (no deep copy, as in
    the SQLite store)."""
    values = {}
    for name in field_names(type(record)):
        value = getattr(record, name)
        if isinstance(value, (dict, tuple, list)):
            value = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        values[name] = _text(value)
    return values


def _record(cls: type[R], row: asyncpg.Record | None) -> R | None:
    if row is None:
        return None
    convert = _READ.get(cls, {})
    return cls(**{k: (convert[k](v) if k in convert and v is not None else v)
                  for k, v in row.items()})


def _one_line(exc: BaseException) -> str:
    return re.sub(r"\s+", " ", str(exc) or type(exc).__name__).strip()


class PostgresStateStore(StateStore):
    """The state store in a PostgreSQL database (``[state] url = "postgresql://..."``)."""

    def __init__(self, url: str, pool: asyncpg.Pool) -> None:
        self.url = url
        self._pool = pool
        self._types: dict[str, dict[str, str]] = {}  # table -> column -> type, for unnest
        self._callbacks: list[Callable[[], None]] = []
        self._listener: asyncio.Task[None] | None = None
        self._announcing: asyncio.Task[None] | None = None
        self._announce_again = False
        self._id = secrets.token_hex(8)  # tells this process's announcements from others'

    @classmethod
    async def open(cls, url: str, *, pool_size: int = 10,
                   connect_timeout: float = 30.0) -> PostgresStateStore:
        """Reach the server (trying again for ``connect_timeout`` seconds: a database that
        starts with its nodes), migrate to the latest schema, and open a pool of
        ``pool_size`` connections. Raises StateUnavailable naming the URL without its
        password, or StateError for a database that cannot be used."""
        connection = await _connect(url, connect_timeout)
        try:
            await _migrate(connection, url)
            pool = await asyncpg.create_pool(
                url, min_size=1, max_size=max(1, pool_size), timeout=CONNECT_TIMEOUT,
                command_timeout=QUERY_TIMEOUT)
        except UNREACHABLE as exc:
            raise StateUnavailable(f"state store {redact(url)} unreachable: "
                                   f"{_one_line(exc)}") from None
        except asyncpg.PostgresError as exc:
            raise StateError(f"state store {redact(url)}: {_one_line(exc)}") from None
        finally:
            await connection.close()
        store = cls(url, pool)
        try:
            async with store._connection(write=False) as db:
                rows = await db.fetch("SELECT table_name, column_name, data_type FROM "
                                      "information_schema.columns WHERE table_schema = "
                                      "current_schema()")
        except StateError:
            await pool.close()
            raise
        for row in rows:
            store._types.setdefault(row["table_name"], {})[row["column_name"]] = row["data_type"]
        return store

    # -- plumbing --------------------------------------------------------------------------------

    @asynccontextmanager
    async def _connection(self, write: bool) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection; a server that is away becomes StateUnavailable, uncertain
        when a write had been sent (its commit may have happened). Each counts as a state
        store error (a unique index refusing a duplicate does not: the caller tells it
        apart inside)."""
        try:
            connection = await self._pool.acquire()
        except UNREACHABLE as exc:
            metrics.state_store_error()
            raise StateUnavailable(f"state store {redact(self.url)} unreachable: "
                                   f"{_one_line(exc)}") from None
        try:
            yield connection
        except UNREACHABLE as exc:
            metrics.state_store_error()
            raise StateUnavailable(f"state store {redact(self.url)} unreachable: "
                                   f"{_one_line(exc)}", uncertain=write) from None
        except asyncpg.PostgresError as exc:
            metrics.state_store_error()
            raise StateError(_one_line(exc)) from None
        finally:
            try:
                await self._pool.release(connection)
            except UNREACHABLE as exc:  # the pool makes a new connection when one is needed
                log.debug("a broken connection was not given back to the pool: %s", exc)

    async def _fetch(self, cls: type[R], sql: str, *args: Any) -> list[R]:
        async with self._connection(write=False) as db:
            rows = await db.fetch(sql, *(_text(a) for a in args))
        return [_record(cls, row) for row in rows]  # type: ignore[misc]

    async def _one(self, cls: type[R], sql: str, *args: Any) -> R | None:
        rows = await self._fetch(cls, sql, *args)
        return rows[0] if rows else None

    async def _execute(self, sql: str, *args: Any) -> None:
        async with self._connection(write=True) as db:
            await db.execute(sql, *(_text(a) for a in args))

    def _unnest(self, table: str, columns: Sequence[str], first: int) -> str:
        """``unnest($first::type[], ...)`` over ``columns`` of ``table``, for inserting many
        rows in one statement (a parameter per column, each an array)."""
        types = self._types[table]
        return "unnest({})".format(", ".join(
            f"${first + i}::{types[c]}[]" for i, c in enumerate(columns)))

    # -- announcing and hearing due work ---------------------------------------------------------

    def on_due(self, callback: Callable[[], None]) -> None:
        self._callbacks.append(callback)
        if self._listener is None:
            self._listener = asyncio.create_task(self._listen())

    async def _listen(self) -> None:
        """Keep one connection LISTENing; reconnect when it is lost."""
        pause = 0.1
        while True:
            lost = asyncio.Event()
            try:
                connection = await asyncpg.connect(self.url, timeout=CONNECT_TIMEOUT)
            except (*UNREACHABLE, asyncpg.PostgresError) as exc:
                log.debug("LISTEN connection to %s failed: %s", redact(self.url), exc)
                await asyncio.sleep(pause)
                pause = min(RETRY_MAX, pause * 2)
                continue
            pause = 0.1
            connection.add_termination_listener(lambda _c: lost.set())
            try:
                await connection.add_listener(CHANNEL, self._heard)
                self._heard()  # what was announced while not listening
                await lost.wait()
            except UNREACHABLE:
                pass
            finally:
                if not connection.is_closed():
                    await connection.close()

    def _heard(self, _connection: Any = None, _pid: int = 0, _channel: str = "",
               payload: str = "") -> None:
        if payload == self._id:
            return  # this process's own announcement: its engine knows already
        for callback in self._callbacks:
            callback()

    def _announce(self) -> None:
        """NOTIFY the other processes, outside the write's transaction (a NOTIFY inside one
        takes a database-wide lock at commit), at most one per :data:`ANNOUNCE_GAP`: the
        announcements made meanwhile become one more, so that under load the nodes are not
        woken once per message (each would run a claim that finds nothing)."""
        self._announce_again = True
        if self._announcing is None or self._announcing.done():
            self._announcing = asyncio.create_task(self._notify())

    async def _notify(self) -> None:
        while self._announce_again:
            self._announce_again = False
            try:
                await self._pool.execute("SELECT pg_notify($1, $2)", CHANNEL, self._id)
            except (*UNREACHABLE, asyncpg.PostgresError) as exc:
                log.debug("NOTIFY failed (the nodes' polls find the work): %s", exc)
                return
            await asyncio.sleep(ANNOUNCE_GAP)

    # -- messages --------------------------------------------------------------------------------

    async def accept_message(self, message: MessageRecord, recipients: Sequence[RecipientRecord],
                             detail: dict[str, Any] | None = None) -> list[RecipientRecord]:
        """One statement: the message, its recipients (one array parameter per column) and
        the ``accepted`` events. A unique index refusing it is told apart as a duplicate."""
        values = _columns(message)
        rows = [_columns(r) for r in recipients]
        n = len(values)
        last = n + 3 + len(_RECIPIENT_COLUMNS)
        sql = (
            f"WITH m AS (INSERT INTO messages ({', '.join(values)}) VALUES "
            f"({', '.join(f'${i + 1}' for i in range(n))})), "
            f"r AS (INSERT INTO recipients ({', '.join(_RECIPIENT_COLUMNS)}) SELECT * FROM "
            f"{self._unnest('recipients', _RECIPIENT_COLUMNS, n + 3)} "
            "RETURNING id, address, route), "
            "e AS (INSERT INTO events (message_id, recipient_id, at, kind, detail) "
            f"SELECT ${n + 1}::text, NULL::bigint, ${n + 2}::float8, 'accepted', ${last}::text "
            f"UNION ALL (SELECT ${n + 1}, id, ${n + 2}, 'accepted', "
            "json_build_object('address', address, 'route', route)::text FROM r ORDER BY id)) "
            "SELECT id, address FROM r ORDER BY id")
        args = [*values.values(), message.id, message.created_at,
                *([row[c] for row in rows] for c in _RECIPIENT_COLUMNS),
                _text(json.dumps(detail or {}, ensure_ascii=False, separators=(",", ":")))]
        refused: asyncpg.UniqueViolationError | None = None
        try:
            async with self._connection(write=True) as db:
                try:
                    stored = await db.fetch(sql, *args)
                except asyncpg.UniqueViolationError as exc:
                    refused = exc
        except StateUnavailable:
            raise
        except StateError as exc:
            raise StateError(f"message {message.id} refused: {exc}") from None
        if refused is not None:
            existing = await self._existing(message)
            if existing is not None:
                raise DuplicateMessage(existing)
            raise StateError(f"message {message.id} refused: {_one_line(refused)}")
        ids = {row["address"]: row["id"] for row in stored}
        if any(r.next_attempt_at is not None and r.next_attempt_at <= message.created_at
               for r in recipients):
            self._announce()
        return [dataclasses.replace(r, id=ids[_text(r.address)]) for r in recipients]

    async def _existing(self, message: MessageRecord) -> str | None:
        async with self._connection(write=False) as db:
            return await db.fetchval(
                "SELECT id FROM messages WHERE id = $1 OR (vasp_id = $2 AND transaction_id = $3)",
                message.id, _text(message.vasp_id), _text(message.transaction_id))

    async def get_message(self, message_id: str) -> MessageRecord | None:
        return await self._one(MessageRecord, "SELECT * FROM messages WHERE id = $1", message_id)

    async def list_message_ids(self) -> list[str]:
        async with self._connection(write=False) as db:
            return [row[0] for row in await db.fetch("SELECT id FROM messages ORDER BY id")]

    async def get_messages(self, message_ids: Collection[str]) -> dict[str, MessageRecord]:
        if not message_ids:
            return {}
        rows = await self._fetch(MessageRecord, "SELECT * FROM messages WHERE id = ANY($1::text[])",
                                 [_text(i) for i in message_ids])
        return {row.id: row for row in rows}

    async def delete_message(self, message_id: str) -> None:
        await self._execute("DELETE FROM messages WHERE id = $1", message_id)

    # -- recipients ------------------------------------------------------------------------------

    async def recipients_of(self, message_id: str) -> list[RecipientRecord]:
        return await self._fetch(RecipientRecord, "SELECT * FROM recipients WHERE message_id = $1 "
                                 "ORDER BY id", message_id)

    async def get_recipient(self, recipient_id: int) -> RecipientRecord | None:
        return await self._one(RecipientRecord, "SELECT * FROM recipients WHERE id = $1",
                               recipient_id)

    async def recipient_by_token(self, *, content_digest: str | None = None,
                                 viewer_token: str | None = None) -> RecipientRecord | None:
        if (content_digest is None) == (viewer_token is None):
            raise ValueError("give exactly one of content_digest and viewer_token")
        if content_digest is not None:
            return await self._one(RecipientRecord, "SELECT recipients.* FROM content_tokens "
                                   "JOIN recipients ON recipients.id = content_tokens.recipient_id"
                                   " WHERE digest = $1", content_digest)
        return await self._one(RecipientRecord, "SELECT * FROM recipients WHERE viewer_token = $1",
                               viewer_token)

    async def recipient_by_transaction(self, transaction_id: str) -> RecipientRecord | None:
        return await self._one(RecipientRecord, "SELECT * FROM recipients WHERE transaction_id = $1",
                               transaction_id)

    async def add_content_token(self, recipient_id: int, digest: str, *, now: float) -> None:
        await self._execute("INSERT INTO content_tokens (digest, recipient_id, created_at) "
                            "VALUES ($1, $2, $3)", digest, recipient_id, now)

    async def transition(self, recipient_id: int, *, expected: Collection[RecipientState],
                         to: RecipientState, now: float, kind: str | None = None,
                         detail: dict[str, Any] | None = None, next_attempt_at: Any = UNCHANGED,
                         attempts: Any = UNCHANGED, device_profile: Any = UNCHANGED,
                         transaction_id: Any = UNCHANGED, viewer_token: Any = UNCHANGED,
                         viewer_pin: Any = UNCHANGED, viewer_expires_at: Any = UNCHANGED,
                         release: bool = True,
                         report: tuple[str, ...] | None = None) -> Moved | None:
        """One statement: lock the row, move it when its state is expected, write its event
        and the report it owes; the row's lock makes the state it left the true one."""
        states = [state.value for state in expected]
        if not states:
            return None
        changes = {"next_attempt_at": next_attempt_at, "attempts": attempts,
                   "device_profile": device_profile, "transaction_id": transaction_id,
                   "viewer_token": viewer_token, "viewer_pin": viewer_pin,
                   "viewer_expires_at": viewer_expires_at}
        sets = {"state": to.value, "updated_at": now,
                **({"claimed_by": None, "claimed_until": None} if release else {}),
                **{k: v for k, v in changes.items() if v is not UNCHANGED}}
        types = self._types["recipients"]
        assignments = ", ".join(f"{name} = ${i + 9}::{types[name]}"
                                for i, name in enumerate(sets))
        sql = (
            "WITH old AS (SELECT id, state FROM recipients WHERE id = $1 FOR UPDATE), "
            f"moved AS (UPDATE recipients r SET {assignments} FROM old "
            "WHERE r.id = old.id AND old.state = ANY($2::text[]) "
            "RETURNING r.*, old.state AS before), "
            "e AS (INSERT INTO events (message_id, recipient_id, at, kind, detail) "
            "SELECT message_id, id, $3, $4, $5 FROM moved), "
            "p AS (INSERT INTO reports (message_id, recipient_id, kind, status, created_at, "
            "next_attempt_at, status_text) SELECT message_id, id, $6, $7, $3, $3, $8 FROM moved "
            "WHERE $6::text IS NOT NULL) "
            "SELECT * FROM moved")
        detail_text = json.dumps(detail or {}, ensure_ascii=False, separators=(",", ":"))
        async with self._connection(write=True) as db:
            row = await db.fetchrow(sql, recipient_id, states, now, kind or to.value,
                                    _text(detail_text),
                                    *((*report, None)[:3] if report else (None, None, None)),
                                    *(_text(v) for v in sets.values()))
        if row is None:
            return None
        values = dict(row.items())
        before = RecipientState(values.pop("before"))
        moved = _record(RecipientRecord, values)  # type: ignore[arg-type]
        assert moved is not None
        due = moved.next_attempt_at
        if report is not None or (due is not None and due <= now and "next_attempt_at" in sets):
            self._announce()
        return Moved(before, moved)

    async def claim_due(self, *, now: float, owner: str, limit: int,
                        lease: float) -> list[RecipientRecord]:
        rows = await self._fetch(
            RecipientRecord,
            "WITH due AS (SELECT id FROM recipients WHERE next_attempt_at <= $1 "
            "AND state <> ALL($2::text[]) AND (claimed_until IS NULL OR claimed_until < $1) "
            "ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) "
            "UPDATE recipients r SET claimed_by = $4, claimed_until = $5 FROM due "
            "WHERE r.id = due.id RETURNING r.*", now, _FINAL, limit, owner, now + lease)
        return sorted(rows, key=lambda r: (r.next_attempt_at or 0.0, r.id or 0))

    async def count_due(self, now: float) -> int:
        async with self._connection(write=False) as db:
            return int(await db.fetchval(
                "SELECT count(*) FROM recipients WHERE next_attempt_at <= $1 "
                "AND state <> ALL($2::text[])", now, _FINAL))

    # -- CDRs owed (filled by the trigger of schema version 7) -----------------------------------

    async def claim_cdrs(self, *, now: float, owner: str, limit: int,
                         lease: float) -> list[CdrRecord]:
        """One statement: the rows as they were before this claim (``claimed_by`` of a
        lapsed claim kept), read from the locked rows' old values."""
        rows = await self._fetch(
            CdrRecord,
            "WITH due AS (SELECT * FROM cdrs WHERE written_at IS NULL "
            "AND (claimed_until IS NULL OR claimed_until < $1) "
            "ORDER BY at, recipient_id LIMIT $2 FOR UPDATE SKIP LOCKED), "
            "claimed AS (UPDATE cdrs c SET claimed_by = $3, claimed_until = $4 FROM due "
            "WHERE c.recipient_id = due.recipient_id) "
            "SELECT * FROM due", now, limit, owner, now + lease)
        return sorted(rows, key=lambda c: (c.at, c.recipient_id))

    async def cdrs_written(self, recipient_ids: Collection[int], *, now: float) -> None:
        if recipient_ids:
            await self._execute("UPDATE cdrs SET written_at = $1, claimed_until = NULL "
                                "WHERE recipient_id = ANY($2::bigint[])", now,
                                list(recipient_ids))

    async def cdrs_between(self, start: float, end: float) -> list[CdrRecord]:
        return await self._fetch(CdrRecord, "SELECT * FROM cdrs WHERE at >= $1 AND at < $2 "
                                 "ORDER BY at, recipient_id", start, end)

    # -- the operator's searches -----------------------------------------------------------------

    async def search_messages(self, *, addresses: Collection[str] = (),
                              vasp_id: str | None = None, state: RecipientState | None = None,
                              since: float | None = None, limit: int = 50,
                              ) -> list[MessageRecord]:
        where: list[str] = []
        args: list[Any] = []

        def arg(value: Any) -> str:
            args.append(value)
            return f"${len(args)}"

        if addresses:
            wanted = arg([_text(a) for a in addresses])
            where.append(f"(originator = ANY({wanted}::text[]) OR id IN (SELECT message_id "
                         f"FROM recipients WHERE address = ANY({wanted}::text[])))")
        if vasp_id is not None:
            where.append(f"vasp_id = {arg(vasp_id)}")
        if state is not None:
            where.append(f"id IN (SELECT message_id FROM recipients WHERE state = "
                         f"{arg(state.value)})")
        if since is not None:
            where.append(f"created_at >= {arg(since)}")
        condition = f"WHERE {' AND '.join(where)}" if where else ""
        return await self._fetch(MessageRecord, f"SELECT * FROM messages {condition} "
                                 f"ORDER BY created_at DESC, id DESC LIMIT {arg(limit)}", *args)

    async def state_counts(self, *, since: float, until: float) -> dict[str, Any]:
        counts: dict[str, Any] = {"messages": {}, "recipients": {}}
        async with self._connection(write=False) as db:
            messages = await db.fetch(
                "SELECT interface, count(*) AS n FROM messages WHERE created_at >= $1 AND "
                "created_at < $2 GROUP BY interface", since, until)
            recipients = await db.fetch(
                "SELECT m.interface, r.state, count(*) AS n FROM recipients r JOIN messages m "
                "ON m.id = r.message_id WHERE m.created_at >= $1 AND m.created_at < $2 "
                "GROUP BY m.interface, r.state", since, until)
        for row in messages:
            counts["messages"][row["interface"]] = row["n"]
        for row in recipients:
            counts["recipients"].setdefault(row["interface"], {})[row["state"]] = row["n"]
        return counts

    # -- SMSC message ids (delivery receipts) ----------------------------------------------------

    async def add_smsc_ids(self, recipient_id: int, kind: str, smsc_ids: Sequence[str], *,
                           now: float, expires_at: float) -> None:
        if smsc_ids:
            await self._execute(
                "INSERT INTO smsc_ids (smsc_id, sms, recipient_id, kind, created_at, expires_at) "
                "SELECT i, $2, $3, $4, $5, $6 FROM unnest($1::text[]) WITH ORDINALITY AS u(i, n) "
                "ORDER BY n", [_text(i) for i in smsc_ids], _text(smsc_ids[0]), recipient_id,
                kind, now, expires_at)

    async def take_smsc_id(self, keys: Sequence[str], *,
                           whole_sms: bool) -> tuple[SmscIdRecord, int] | None:
        """One transaction that locks every row of the SMS before removing any, so that of
        the takers of its segments the last one counts none left (it waits for the others'
        commits, then counts). A row another taker removed meanwhile: look again."""
        if not keys:
            return None
        wanted = [_text(k) for k in keys]
        async with self._connection(write=True) as db:
            async with db.transaction():
                while True:
                    found = await db.fetchrow(
                        "SELECT * FROM smsc_ids WHERE smsc_id = ANY($1::text[]) "
                        "ORDER BY array_position($1::text[], smsc_id), id DESC LIMIT 1", wanted)
                    if found is None:
                        return None
                    row = _record(SmscIdRecord, found)
                    assert row is not None
                    sms = (row.recipient_id, row.sms)
                    locked = await db.fetch("SELECT id FROM smsc_ids WHERE recipient_id = $1 "
                                            "AND sms = $2 ORDER BY id FOR UPDATE", *sms)
                    if row.id in {r["id"] for r in locked}:
                        break
                if whole_sms:
                    await db.execute("DELETE FROM smsc_ids WHERE recipient_id = $1 AND sms = $2",
                                     *sms)
                else:
                    await db.execute("DELETE FROM smsc_ids WHERE id = $1", row.id)
                left = await db.fetchval("SELECT count(*) FROM smsc_ids WHERE recipient_id = $1 "
                                         "AND sms = $2", *sms)
        return row, int(left)

    async def prune_smsc_ids(self, *, now: float) -> int:
        async with self._connection(write=True) as db:
            status = await db.execute("DELETE FROM smsc_ids WHERE expires_at < $1", now)
        return int(status.rsplit(" ", 1)[1])

    # -- the viewer's PIN attempts ---------------------------------------------------------------

    async def count_pin_attempt(self, recipient_id: int, *, now: float) -> int:
        async with self._connection(write=True) as db:
            return int(await db.fetchval(
                "INSERT INTO pin_attempts (recipient_id, failures, updated_at) VALUES ($1, 1, $2)"
                " ON CONFLICT (recipient_id) DO UPDATE SET failures = pin_attempts.failures + 1,"
                " updated_at = excluded.updated_at RETURNING failures", recipient_id, now))

    async def add_refetches(self, counts: Mapping[int, tuple[int, float]]) -> None:
        if not counts:
            return
        async with self._connection(write=True) as db:
            await db.executemany(
                "INSERT INTO refetches (recipient_id, count, last_at) VALUES ($1, $2, $3) "
                "ON CONFLICT (recipient_id) DO UPDATE SET count = refetches.count + "
                "excluded.count, last_at = GREATEST(refetches.last_at, excluded.last_at)",
                [(recipient_id, count, last) for recipient_id, (count, last) in counts.items()])

    async def refetches(self, message_id: str) -> dict[int, tuple[int, float]]:
        async with self._connection(write=False) as db:
            rows = await db.fetch(
                "SELECT f.recipient_id, f.count, f.last_at FROM refetches f JOIN recipients r "
                "ON r.id = f.recipient_id WHERE r.message_id = $1", message_id)
        return {row[0]: (int(row[1]), row[2]) for row in rows}

    async def pin_attempts(self, recipient_id: int) -> int:
        async with self._connection(write=False) as db:
            value = await db.fetchval("SELECT failures FROM pin_attempts WHERE recipient_id = $1",
                                      recipient_id)
        return int(value or 0)

    async def clear_pin_attempts(self, recipient_id: int) -> None:
        await self._execute("DELETE FROM pin_attempts WHERE recipient_id = $1", recipient_id)

    # -- reports ---------------------------------------------------------------------------------

    async def queue_report(self, message_id: str, recipient_id: int | None, kind: str,
                           status: str, *, now: float) -> None:
        await self._execute(
            "WITH p AS (INSERT INTO reports (message_id, recipient_id, kind, status, created_at, "
            "next_attempt_at) VALUES ($1, $2, $3, $4, $5, $5)) "
            "INSERT INTO events (message_id, recipient_id, at, kind, detail) "
            "VALUES ($1, $2, $5, $3 || '-report-owed', $6)",
            message_id, recipient_id, kind, status, now, json.dumps({"status": status}))
        self._announce()

    async def claim_reports(self, *, now: float, limit: int, lease: float) -> list[ReportRecord]:
        rows = await self._fetch(
            ReportRecord,
            "WITH due AS (SELECT id FROM reports WHERE next_attempt_at <= $1 "
            "AND (claimed_until IS NULL OR claimed_until < $1) "
            "ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED) "
            "UPDATE reports p SET claimed_until = $3 FROM due WHERE p.id = due.id "
            "RETURNING p.*", now, limit, now + lease)
        return sorted(rows, key=lambda r: (r.next_attempt_at or 0.0, r.id or 0))

    async def report_done(self, report_id: int, *, now: float, sent: bool,
                          next_attempt_at: float | None, detail: dict[str, Any]) -> None:
        kind = "report-sent" if sent else ("report-retry" if next_attempt_at else
                                           "report-abandoned")
        await self._execute(
            "WITH p AS (UPDATE reports SET attempts = attempts + 1, claimed_until = NULL, "
            "next_attempt_at = $2, sent_at = $3 WHERE id = $1 RETURNING message_id, recipient_id) "
            "INSERT INTO events (message_id, recipient_id, at, kind, detail) "
            "SELECT message_id, recipient_id, $4, $5, $6 FROM p",
            report_id, None if sent else next_attempt_at, now if sent else None, now, kind,
            json.dumps(detail, ensure_ascii=False, separators=(",", ":")))

    # -- events ----------------------------------------------------------------------------------

    async def add_event(self, message_id: str, kind: str, *, now: float,
                        detail: dict[str, Any] | None = None,
                        recipient_id: int | None = None) -> Event:
        detail = detail or {}
        async with self._connection(write=True) as db:
            event_id = await db.fetchval(
                "INSERT INTO events (message_id, recipient_id, at, kind, detail) "
                "VALUES ($1, $2, $3, $4, $5) RETURNING id", _text(message_id), recipient_id,
                now, _text(kind), _text(json.dumps(detail, ensure_ascii=False,
                                                   separators=(",", ":"))))
        return Event(event_id, message_id, recipient_id, now, kind, detail)

    async def events_of(self, message_id: str) -> list[Event]:
        return await self._fetch(Event, "SELECT * FROM events WHERE message_id = $1 ORDER BY id",
                                 message_id)

    # -- subscribers and VASPs -------------------------------------------------------------------

    async def _upsert(self, table: str, key: str, record: Any) -> None:
        values = _columns(record)
        names = list(values)
        await self._execute(
            f"INSERT INTO {table} ({', '.join(names)}) VALUES "
            f"({', '.join(f'${i + 1}' for i in range(len(names)))}) ON CONFLICT ({key}) DO UPDATE "
            f"SET {', '.join(f'{n} = excluded.{n}' for n in names if n != key)}",
            *values.values())

    async def put_subscriber(self, subscriber: Subscriber) -> None:
        await self._upsert("subscribers", "address", subscriber)

    async def get_subscriber(self, address: str) -> Subscriber | None:
        return await self._one(Subscriber, "SELECT * FROM subscribers WHERE address = $1", address)

    async def put_vasp(self, vasp: VaspRecord) -> None:
        await self._upsert("vasps", "id", vasp)

    async def get_vasp(self, vasp_id: str) -> VaspRecord | None:
        return await self._one(VaspRecord, "SELECT * FROM vasps WHERE id = $1", vasp_id)

    async def list_vasps(self) -> list[VaspRecord]:
        return await self._fetch(VaspRecord, "SELECT * FROM vasps ORDER BY id")

    async def add_optout(self, optout: OptOut) -> bool:
        async with self._connection(write=True) as db:
            done = await db.execute(
                "INSERT INTO optouts (vasp_id, address, created_at, via) VALUES ($1, $2, $3, $4)"
                " ON CONFLICT DO NOTHING", *(_text(v) for v in dataclasses.astuple(optout)))
        return done.endswith(" 1")

    async def remove_optout(self, vasp_id: str, address: str) -> bool:
        async with self._connection(write=True) as db:
            done = await db.execute("DELETE FROM optouts WHERE vasp_id = $1 AND address = $2",
                                    _text(vasp_id), _text(address))
        return done.endswith(" 1")

    async def get_optout(self, vasp_id: str, address: str) -> OptOut | None:
        return await self._one(OptOut, "SELECT * FROM optouts WHERE vasp_id = $1 "
                               "AND address = $2", vasp_id, address)

    async def list_optouts(self, vasp_id: str | None = None) -> list[OptOut]:
        return await self._fetch(OptOut, "SELECT * FROM optouts WHERE $1::text IS NULL "
                                 "OR vasp_id = $1 ORDER BY vasp_id, address", vasp_id)

    async def close(self) -> None:
        for task in (self._listener, self._announcing):
            if task is not None:
                task.cancel()
        await asyncio.gather(*(t for t in (self._listener, self._announcing) if t is not None),
                             return_exceptions=True)
        await self._pool.close()


async def _connect(url: str, patience: float) -> asyncpg.Connection:
    """One connection, tried again for ``patience`` seconds while the server is unreachable
    (a refused password or an unknown database is final at once)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    pause = 0.1
    while True:
        try:
            return await asyncpg.connect(url, timeout=min(CONNECT_TIMEOUT,
                                                          max(0.1, deadline - loop.time())))
        except UNREACHABLE as exc:
            left = deadline - loop.time()
            if left <= 0:
                raise StateUnavailable(f"state store {redact(url)} unreachable after "
                                       f"{patience:g} s: {_one_line(exc)}") from None
            if pause == 0.1:
                log.warning("state store %s unreachable (%s); trying again for %.0f s",
                            redact(url), _one_line(exc), left)
            await asyncio.sleep(min(pause, left))
            pause = min(RETRY_MAX, pause * 2)
        except (asyncpg.PostgresError, ValueError) as exc:
            raise StateError(f"state store {redact(url)}: {_one_line(exc)}") from None


async def _migrate(connection: asyncpg.Connection, url: str) -> None:
    """Apply the missing migrations in one transaction, under the advisory lock."""
    async with connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
        await connection.execute(f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} "
                                 "(version INTEGER NOT NULL)")
        version = await connection.fetchval(f"SELECT max(version) FROM {VERSION_TABLE}") or 0
        if version > len(MIGRATIONS):
            raise StateError(f"{redact(url)} has schema version {version}; this mmsc knows "
                             f"{len(MIGRATIONS)}: upgrade mmsc")
        for script in MIGRATIONS[version:]:
            await connection.execute(script)
        if version < len(MIGRATIONS):
            await connection.execute(f"DELETE FROM {VERSION_TABLE}")
            await connection.execute(f"INSERT INTO {VERSION_TABLE} VALUES ($1)", len(MIGRATIONS))
            log.info("state store %s migrated from schema version %d to %d", redact(url),
                     version, len(MIGRATIONS))
