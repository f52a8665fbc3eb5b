"""The embedded state store: SQLite in WAL mode, every call in one worker thread.

Durability: ``synchronous=FULL``. In WAL mode ``NORMAL`` syncs only at checkpoints, so a power
loss can take the last commits with it; ``FULL`` syncs the WAL at every commit, which makes a
committed row (an accepted message) survive power loss, as the acknowledgement promises.
All sqlite3 calls run in the store's single worker thread, serialised, off the event loop.
"""

from __future__ import annotations

import asyncio
import dataclasses
import fcntl
import json
import os
import sqlite3
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from mmsc import metrics
from mmsc.ids import token_digest

from .base import UNCHANGED, DuplicateMessage, StateError, StateStore
from .records import (
    FINAL_STATES, CdrRecord, Event, Interface, MessageRecord, Moved, OptOut, RecipientRecord,
    RecipientState, ReportRecord, Route, SmscIdRecord, Subscriber, VaspRecord, field_names,
)
from .schema import MIGRATIONS
from .worker import BatchWorker

R = TypeVar("R")

#: How columns read back into record fields: field -> converter (others are as stored).
_READ: dict[type, dict[str, Callable[[Any], Any]]] = {
    MessageRecord: {"interface": Interface, "delivery_report": bool, "read_report": bool},
    RecipientRecord: {"route": Route, "state": RecipientState},
    CdrRecord: {"state": RecipientState, "before": RecipientState},
    Event: {"detail": json.loads},
    Subscriber: {"mms_capable": bool},
    VaspRecord: {"allowed_senders": lambda text: tuple(json.loads(text)), "enabled": bool},
}
_FINAL = tuple(state.value for state in FINAL_STATES)


def _columns(record: Any) -> dict[str, Any]:
    """A record as column values: JSON for dicts and tuples, 0/1 for booleans. The records
    hold plain values, so no deep copy (``dataclasses.asdict``) is needed."""
    values = {}
    for name in field_names(type(record)):
        value = getattr(record, name)
        if isinstance(value, (dict, tuple, list)):
            value = _storable(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
        elif isinstance(value, bool):
            value = int(value)
        elif isinstance(value, str) and not value.isascii():
            value = _storable(value)
        values[name] = value
    return values


def _storable(text: str) -> str:
    """Text SQLite can hold: octets that were not valid in their charset (kept by the codecs
    as surrogate escapes) become U+FFFD here; the object store keeps the original."""
    if not text.isascii() and any("\udc80" <= c <= "\udcff" for c in text):
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return text


def _record(cls: type[R], row: sqlite3.Row | None) -> R | None:
    """A row as ``cls``, its columns converted as :data:`_READ` says. (A row read by column
    name searches its names each time: the values are taken in one pass instead.)"""
    if row is None:
        return None
    values = dict(zip(row.keys(), row))
    for name, convert in _READ.get(cls, {}).items():
        value = values.get(name)
        if value is not None:
            values[name] = convert(value)
    return cls(**values)


def _insert(db: sqlite3.Connection, table: str, values: dict[str, Any], verb: str = "INSERT") -> int:
    names = ", ".join(values)
    marks = ", ".join(f":{name}" for name in values)
    return db.execute(f"{verb} INTO {table} ({names}) VALUES ({marks})", values).lastrowid or 0


class SqliteStateStore(StateStore):
    """The state store in one SQLite file (default ``./data/mmsc.db``)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._worker = BatchWorker("sqlite")
        self._db: sqlite3.Connection | None = None
        self._writes: list[tuple[tuple[Callable[..., Any], tuple[Any, ...]],
                                 asyncio.Future[Any]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._in_batch = False
        self._writer_lock = -1  # the fd of the writers' lock file, opened with the database

    @classmethod
    async def open(cls, path: str | Path) -> SqliteStateStore:
        """Open (creating the file and folder if needed) and migrate to the latest schema."""
        store = cls(path)
        await store._run(store._connect)
        return store

    async def _run(self, fn: Callable[..., R], *args: Any) -> R:
        """``fn(*args)`` in the worker thread (after every call made before it, see
        :mod:`.worker`); a failure counts as a state store error (a group commit's are
        counted per write, in :meth:`_flush`)."""
        try:
            return await self._worker.call(fn, *args)
        except Exception as exc:
            if fn != self._apply and not isinstance(exc, DuplicateMessage):
                metrics.state_store_error()
            raise

    # -- in the worker thread --------------------------------------------------------------------

    def _connect(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer_lock = os.open(f"{self.path}-writer", os.O_RDWR | os.O_CREAT, 0o600)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA busy_timeout = 5000")
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = FULL")
        self._db = db
        db.create_function("token_digest", 1, token_digest, deterministic=True)  # migration 5
        db.execute("PRAGMA foreign_keys = OFF")  # a table rebuild must not cascade
        db.execute("PRAGMA secure_delete = ON")  # what a migration drops is overwritten
        with self._tx() as tx:
            version = tx.execute("PRAGMA user_version").fetchone()[0]
            if version > len(MIGRATIONS):
                raise StateError(f"{self.path} has schema version {version}; this mmsc knows "
                                 f"{len(MIGRATIONS)}: upgrade mmsc")
            for script in MIGRATIONS[version:]:
                for statement in filter(str.strip, script.split(";\n")):
                    tx.execute(statement)
            if tx.execute("PRAGMA foreign_key_check").fetchone() is not None:
                raise StateError(f"{self.path}: a migration broke a foreign key")
            tx.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")
            migrated = version < len(MIGRATIONS)
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("PRAGMA secure_delete = OFF")
        if migrated:  # the pages as they were before leave the write-ahead log too
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taking the write lock at once (BEGIN IMMEDIATE); inside a
        group commit (:meth:`_apply`), a savepoint of that transaction instead, so that a
        failing write undoes only itself. The writers of several processes on one file
        (``[http] workers``) first queue on an flock of ``<file>-writer``: the kernel wakes
        the next one as the lock is let go, where SQLite's busy handler would sleep 1, 2,
        5, ... ms between tries while the holder's commit syncs."""
        db = self._db
        if db is None:
            raise StateError("the state store is closed")
        outermost = not self._in_batch
        if outermost:
            begin, undo, end = "BEGIN IMMEDIATE", "ROLLBACK", "COMMIT"
            fcntl.flock(self._writer_lock, fcntl.LOCK_EX)
        else:
            begin, undo, end = "SAVEPOINT op", "ROLLBACK TO op; RELEASE op", "RELEASE op"
        try:
            db.execute(begin)
            try:
                yield db
            except BaseException:
                for statement in undo.split("; "):
                    db.execute(statement)
                raise
            db.execute(end)
        finally:
            if outermost:
                fcntl.flock(self._writer_lock, fcntl.LOCK_UN)

    def _apply(self, ops: Sequence[tuple[Callable[..., Any], tuple[Any, ...]]]) -> list[Any]:
        """Group commit: the waiting writes in one transaction, one sync to disk; each
        write's result, or the exception it raised (its own savepoint undone)."""
        results: list[Any] = []
        with self._tx():
            self._in_batch = True
            try:
                for fn, args in ops:
                    try:
                        results.append(fn(*args))
                    except (sqlite3.Error, StateError, ValueError) as exc:
                        results.append(exc)
            finally:
                self._in_batch = False
        return results

    async def _write(self, fn: Callable[..., R], *args: Any) -> R:
        """Queue a write for the next group commit and return its result once that commit
        is on disk. The writes that arrive while a commit is syncing form the next batch:
        under load batches grow by themselves, with no timer and no added latency."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._writes.append(((fn, args), future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        while self._writes:
            batch, self._writes = self._writes, []
            try:
                results = await self._run(self._apply, [op for op, _ in batch])
            except Exception as exc:  # noqa: BLE001 - the whole transaction failed
                results = [exc] * len(batch)
            for (_, future), result in zip(batch, results, strict=True):
                if future.done():
                    continue
                if isinstance(result, Exception):
                    if not isinstance(result, DuplicateMessage):
                        metrics.state_store_error()
                    future.set_exception(result)
                else:
                    future.set_result(result)

    def _query(self, cls: type[R], sql: str, *args: Any) -> list[R]:
        """Rows of ``sql`` as ``cls``. Text arguments go through :func:`_storable` as stored
        text did: a value a decoder kept with surrogate escapes (a PDU's non-UTF-8 octets)
        is compared with what was stored for it, instead of failing to encode."""
        assert self._db is not None
        args = tuple(_storable(a) if isinstance(a, str) else a for a in args)
        return [_record(cls, row) for row in self._db.execute(sql, args)]  # type: ignore[misc]

    def _accept(self, message: MessageRecord, recipients: Sequence[RecipientRecord],
                detail: dict[str, Any] | None) -> list[RecipientRecord]:
        try:
            with self._tx() as tx:
                return self._accept_one(tx, message, recipients, detail)
        except (sqlite3.Error, ValueError) as exc:  # undone; tell a duplicate from the rest
            existing = self._existing(message)
            if existing is not None and isinstance(exc, sqlite3.IntegrityError):
                raise DuplicateMessage(existing) from exc
            raise StateError(f"message {message.id} refused: {exc}") from exc

    def _accept_one(self, tx: sqlite3.Connection, message: MessageRecord,
                    recipients: Sequence[RecipientRecord],
                    detail: dict[str, Any] | None) -> list[RecipientRecord]:
        stored = []
        _insert(tx, "messages", _columns(message))
        self._event(tx, message.id, None, message.created_at, "accepted", detail or {})
        for recipient in recipients:
            values = _columns(recipient)
            values.pop("id")
            rid = _insert(tx, "recipients", values)
            self._event(tx, message.id, rid, message.created_at, "accepted",
                        {"address": recipient.address, "route": recipient.route.value})
            stored.append(dataclasses.replace(recipient, id=rid))
        return stored

    def _existing(self, message: MessageRecord) -> str | None:
        assert self._db is not None
        row = self._db.execute(
            "SELECT id FROM messages WHERE id = ? OR (vasp_id = ? AND transaction_id = ?)",
            tuple(_storable(v) if isinstance(v, str) else v
                  for v in (message.id, message.vasp_id, message.transaction_id))).fetchone()
        return row[0] if row else None

    @staticmethod
    def _event(db: sqlite3.Connection, message_id: str, recipient_id: int | None, at: float,
               kind: str, detail: dict[str, Any]) -> Event:
        event = Event(None, message_id, recipient_id, at, kind, detail)
        values = _columns(event)
        values.pop("id")
        return dataclasses.replace(event, id=_insert(db, "events", values))

    def _transition(self, recipient_id: int, expected: Collection[RecipientState],
                    to: RecipientState, now: float, kind: str | None,
                    detail: dict[str, Any] | None, changes: dict[str, Any],
                    release: bool, report: tuple[str, ...] | None) -> Moved | None:
        states = [state.value for state in expected]
        if not states:
            return None
        sets = {"state": to.value, "updated_at": now,
                **({"claimed_by": None, "claimed_until": None} if release else {}),
                **{k: v for k, v in changes.items() if v is not UNCHANGED}}
        assignments = ", ".join(f"{name} = :{name}" for name in sets)
        marks = ", ".join(f":s{i}" for i in range(len(states)))
        with self._tx() as tx:  # the write lock is held from here: the state read stays true
            before = tx.execute("SELECT state FROM recipients WHERE id = ?",
                                (recipient_id,)).fetchone()
            done = tx.execute(
                f"UPDATE recipients SET {assignments} WHERE id = :rid AND state IN ({marks})",
                {**sets, "rid": recipient_id, **{f"s{i}": s for i, s in enumerate(states)}})
            if done.rowcount != 1:
                return None
            row = _record(RecipientRecord, tx.execute(
                "SELECT * FROM recipients WHERE id = ?", (recipient_id,)).fetchone())
            assert row is not None
            self._event(tx, row.message_id, recipient_id, now, kind or to.value, detail or {})
            if report is not None:
                self._report(tx, row.message_id, recipient_id, report, now)
        return Moved(RecipientState(before[0]), row)

    @staticmethod
    def _report(db: sqlite3.Connection, message_id: str, recipient_id: int | None,
                report: tuple[str, ...], now: float) -> None:
        values = _columns(ReportRecord(None, message_id, recipient_id, report[0], report[1],
                                       now, next_attempt_at=now,
                                       status_text=report[2] if len(report) > 2 else None))
        values.pop("id")
        _insert(db, "reports", values)

    def _queue_report(self, message_id: str, recipient_id: int | None, kind: str, status: str,
                      now: float) -> None:
        with self._tx() as tx:
            self._report(tx, message_id, recipient_id, (kind, status), now)
            self._event(tx, message_id, recipient_id, now, f"{kind}-report-owed",
                        {"status": status})

    async def queue_report(self, message_id: str, recipient_id: int | None, kind: str,
                           status: str, *, now: float) -> None:
        await self._write(self._queue_report, message_id, recipient_id, kind, status, now)

    def _claim(self, now: float, owner: str, limit: int, lease: float) -> list[RecipientRecord]:
        finals = ", ".join("?" * len(_FINAL))
        with self._tx() as tx:
            ids = [row[0] for row in tx.execute(
                f"SELECT id FROM recipients WHERE next_attempt_at <= ? AND state NOT IN ({finals})"
                " AND (claimed_until IS NULL OR claimed_until < ?)"
                " ORDER BY next_attempt_at, id LIMIT ?", (now, *_FINAL, now, limit))]
            if not ids:
                return []
            marks = ", ".join("?" * len(ids))
            tx.execute(f"UPDATE recipients SET claimed_by = ?, claimed_until = ? "
                       f"WHERE id IN ({marks})", (owner, now + lease, *ids))
            return self._query(RecipientRecord, f"SELECT * FROM recipients WHERE id IN ({marks})"
                               " ORDER BY next_attempt_at, id", *ids)

    def _execute(self, sql: str, *args: Any) -> None:
        with self._tx() as tx:
            tx.execute(sql, tuple(_storable(a) if isinstance(a, str) else a for a in args))

    def _upsert(self, table: str, record: Any) -> None:
        with self._tx() as tx:
            _insert(tx, table, _columns(record), "INSERT OR REPLACE")

    def _add_event(self, message_id: str, kind: str, now: float, detail: dict[str, Any] | None,
                   recipient_id: int | None) -> Event:
        with self._tx() as tx:
            return self._event(tx, message_id, recipient_id, now, kind, detail or {})

    def _close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
            os.close(self._writer_lock)

    # -- the interface ---------------------------------------------------------------------------

    async def accept_message(self, message: MessageRecord, recipients: Sequence[RecipientRecord],
                             detail: dict[str, Any] | None = None) -> list[RecipientRecord]:
        return await self._write(self._accept, message, recipients, detail)

    async def get_message(self, message_id: str) -> MessageRecord | None:
        rows = await self._run(self._query, MessageRecord,
                               "SELECT * FROM messages WHERE id = ?", message_id)
        return rows[0] if rows else None

    async def list_message_ids(self) -> list[str]:
        rows = await self._run(self._query, dict, "SELECT id FROM messages ORDER BY id")
        return [row["id"] for row in rows]

    async def get_messages(self, message_ids: Collection[str]) -> dict[str, MessageRecord]:
        ids = list(message_ids)
        found: dict[str, MessageRecord] = {}
        for start in range(0, len(ids), 500):  # SQLite's bound on ? parameters is 999 or more
            chunk = ids[start:start + 500]
            rows = await self._run(self._query, MessageRecord, "SELECT * FROM messages WHERE id "
                                   f"IN ({', '.join('?' * len(chunk))})", *chunk)
            found.update((row.id, row) for row in rows)
        return found

    async def delete_message(self, message_id: str) -> None:
        await self._write(self._execute, "DELETE FROM messages WHERE id = ?", message_id)

    async def recipients_of(self, message_id: str) -> list[RecipientRecord]:
        return await self._run(self._query, RecipientRecord,
                               "SELECT * FROM recipients WHERE message_id = ? ORDER BY id",
                               message_id)

    async def get_recipient(self, recipient_id: int) -> RecipientRecord | None:
        rows = await self._run(self._query, RecipientRecord,
                               "SELECT * FROM recipients WHERE id = ?", recipient_id)
        return rows[0] if rows else None

    async def recipient_by_token(self, *, content_digest: str | None = None,
                                 viewer_token: str | None = None) -> RecipientRecord | None:
        if (content_digest is None) == (viewer_token is None):
            raise ValueError("give exactly one of content_digest and viewer_token")
        if content_digest is not None:
            rows = await self._run(
                self._query, RecipientRecord, "SELECT recipients.* FROM content_tokens JOIN "
                "recipients ON recipients.id = content_tokens.recipient_id WHERE digest = ?",
                content_digest)
        else:
            rows = await self._run(self._query, RecipientRecord,
                                   "SELECT * FROM recipients WHERE viewer_token = ?",
                                   viewer_token)
        return rows[0] if rows else None

    async def recipient_by_transaction(self, transaction_id: str) -> RecipientRecord | None:
        rows = await self._run(self._query, RecipientRecord,
                               "SELECT * FROM recipients WHERE transaction_id = ?",
                               transaction_id)
        return rows[0] if rows else None

    async def add_content_token(self, recipient_id: int, digest: str, *, now: float) -> None:
        await self._write(self._execute, "INSERT INTO content_tokens (digest, recipient_id, "
                          "created_at) VALUES (?, ?, ?)", digest, recipient_id, now)

    async def transition(self, recipient_id: int, *, expected: Collection[RecipientState],
                         to: RecipientState, now: float, kind: str | None = None,
                         detail: dict[str, Any] | None = None, next_attempt_at: Any = UNCHANGED,
                         attempts: Any = UNCHANGED, device_profile: Any = UNCHANGED,
                         transaction_id: Any = UNCHANGED, viewer_token: Any = UNCHANGED,
                         viewer_pin: Any = UNCHANGED, viewer_expires_at: Any = UNCHANGED,
                         release: bool = True,
                         report: tuple[str, str] | None = None) -> Moved | None:
        changes = {"next_attempt_at": next_attempt_at, "attempts": attempts,
                   "device_profile": device_profile, "transaction_id": transaction_id,
                   "viewer_token": viewer_token, "viewer_pin": viewer_pin,
                   "viewer_expires_at": viewer_expires_at}
        return await self._write(self._transition, recipient_id, expected, to, now, kind, detail,
                               changes, release, report)

    def _count_pin_attempt(self, recipient_id: int, now: float) -> int:
        with self._tx() as tx:
            return int(tx.execute(
                "INSERT INTO pin_attempts (recipient_id, failures, updated_at) VALUES (?, 1, ?)"
                " ON CONFLICT (recipient_id) DO UPDATE SET failures = failures + 1,"
                " updated_at = excluded.updated_at RETURNING failures",
                (recipient_id, now)).fetchone()[0])

    async def count_pin_attempt(self, recipient_id: int, *, now: float) -> int:
        return await self._write(self._count_pin_attempt, recipient_id, now)

    def _add_refetches(self, counts: Mapping[int, tuple[int, float]]) -> None:
        with self._tx() as tx:
            tx.executemany(
                "INSERT INTO refetches (recipient_id, count, last_at) VALUES (?, ?, ?) "
                "ON CONFLICT (recipient_id) DO UPDATE SET count = count + excluded.count, "
                "last_at = max(last_at, excluded.last_at)",
                [(recipient_id, count, last) for recipient_id, (count, last) in counts.items()])

    async def add_refetches(self, counts: Mapping[int, tuple[int, float]]) -> None:
        if counts:
            await self._write(self._add_refetches, counts)

    def _refetches(self, message_id: str) -> dict[int, tuple[int, float]]:
        assert self._db is not None
        return {row[0]: (row[1], row[2]) for row in self._db.execute(
            "SELECT f.recipient_id, f.count, f.last_at FROM refetches f JOIN recipients r "
            "ON r.id = f.recipient_id WHERE r.message_id = ?", (message_id,))}

    async def refetches(self, message_id: str) -> dict[int, tuple[int, float]]:
        return await self._run(self._refetches, message_id)

    def _pin_attempts(self, recipient_id: int) -> int:
        assert self._db is not None
        row = self._db.execute("SELECT failures FROM pin_attempts WHERE recipient_id = ?",
                               (recipient_id,)).fetchone()
        return int(row[0]) if row else 0

    async def pin_attempts(self, recipient_id: int) -> int:
        return await self._run(self._pin_attempts, recipient_id)

    async def clear_pin_attempts(self, recipient_id: int) -> None:
        await self._write(self._execute, "DELETE FROM pin_attempts WHERE recipient_id = ?",
                          recipient_id)

    def _claim_reports(self, now: float, limit: int, lease: float) -> list[ReportRecord]:
        with self._tx() as tx:
            ids = [row[0] for row in tx.execute(
                "SELECT id FROM reports WHERE next_attempt_at <= ? AND (claimed_until IS NULL "
                "OR claimed_until < ?) ORDER BY next_attempt_at, id LIMIT ?", (now, now, limit))]
            if not ids:
                return []
            marks = ", ".join("?" * len(ids))
            tx.execute(f"UPDATE reports SET claimed_until = ? WHERE id IN ({marks})",
                       (now + lease, *ids))
            return self._query(ReportRecord, f"SELECT * FROM reports WHERE id IN ({marks}) "
                               "ORDER BY next_attempt_at, id", *ids)

    def _report_done(self, report_id: int, now: float, sent: bool,
                     next_attempt_at: float | None, detail: dict[str, Any]) -> None:
        with self._tx() as tx:
            row = tx.execute("SELECT message_id, recipient_id FROM reports WHERE id = ?",
                             (report_id,)).fetchone()
            if row is None:
                return
            tx.execute("UPDATE reports SET attempts = attempts + 1, claimed_until = NULL, "
                       "next_attempt_at = ?, sent_at = ? WHERE id = ?",
                       (None if sent else next_attempt_at, now if sent else None, report_id))
            kind = "report-sent" if sent else ("report-retry" if next_attempt_at else
                                               "report-abandoned")
            self._event(tx, row[0], row[1], now, kind, detail)

    async def claim_reports(self, *, now: float, limit: int, lease: float) -> list[ReportRecord]:
        return await self._write(self._claim_reports, now, limit, lease)

    async def report_done(self, report_id: int, *, now: float, sent: bool,
                          next_attempt_at: float | None, detail: dict[str, Any]) -> None:
        await self._write(self._report_done, report_id, now, sent, next_attempt_at, detail)

    async def claim_due(self, *, now: float, owner: str, limit: int,
                        lease: float) -> list[RecipientRecord]:
        """SQLite serialises writers, so BEGIN IMMEDIATE makes select-then-mark atomic; the
        PostgreSQL version does it with ``SELECT ... FOR UPDATE SKIP LOCKED``."""
        return await self._write(self._claim, now, owner, limit, lease)

    async def count_due(self, now: float) -> int:
        finals = ", ".join("?" * len(_FINAL))
        rows = await self._run(self._query, dict, "SELECT count(*) AS n FROM recipients WHERE "
                               f"next_attempt_at <= ? AND state NOT IN ({finals})", now, *_FINAL)
        return int(rows[0]["n"])

    def _claim_cdrs(self, now: float, owner: str, limit: int, lease: float) -> list[CdrRecord]:
        with self._tx() as tx:
            rows = self._query(CdrRecord, "SELECT * FROM cdrs WHERE written_at IS NULL AND "
                               "(claimed_until IS NULL OR claimed_until < ?) "
                               "ORDER BY at, recipient_id LIMIT ?", now, limit)
            marks = ", ".join("?" * len(rows))
            if rows:
                tx.execute(f"UPDATE cdrs SET claimed_by = ?, claimed_until = ? WHERE "
                           f"recipient_id IN ({marks})",
                           (owner, now + lease, *(row.recipient_id for row in rows)))
            return rows

    async def claim_cdrs(self, *, now: float, owner: str, limit: int,
                         lease: float) -> list[CdrRecord]:
        return await self._write(self._claim_cdrs, now, owner, limit, lease)

    async def cdrs_written(self, recipient_ids: Collection[int], *, now: float) -> None:
        ids = list(recipient_ids)
        if ids:
            await self._write(self._execute, "UPDATE cdrs SET written_at = ?, claimed_until = "
                              f"NULL WHERE recipient_id IN ({', '.join('?' * len(ids))})",
                              now, *ids)

    async def cdrs_between(self, start: float, end: float) -> list[CdrRecord]:
        return await self._run(self._query, CdrRecord, "SELECT * FROM cdrs WHERE at >= ? AND "
                               "at < ? ORDER BY at, recipient_id", start, end)

    async def search_messages(self, *, addresses: Collection[str] = (),
                              vasp_id: str | None = None, state: RecipientState | None = None,
                              since: float | None = None, limit: int = 50,
                              ) -> list[MessageRecord]:
        where, args = [], []
        if addresses:
            marks = ", ".join("?" * len(addresses))
            where.append(f"(originator IN ({marks}) OR id IN (SELECT message_id FROM "
                         f"recipients WHERE address IN ({marks})))")
            args += [*addresses, *addresses]
        if vasp_id is not None:
            where.append("vasp_id = ?")
            args.append(vasp_id)
        if state is not None:
            where.append("id IN (SELECT message_id FROM recipients WHERE state = ?)")
            args.append(state.value)
        if since is not None:
            where.append("created_at >= ?")
            args.append(since)
        condition = f"WHERE {' AND '.join(where)}" if where else ""
        return await self._run(self._query, MessageRecord, f"SELECT * FROM messages {condition} "
                               "ORDER BY created_at DESC, id DESC LIMIT ?", *args, limit)

    def _state_counts(self, since: float, until: float) -> dict[str, Any]:
        assert self._db is not None
        counts: dict[str, Any] = {"messages": {}, "recipients": {}}
        for interface, count in self._db.execute(
                "SELECT interface, count(*) FROM messages WHERE created_at >= ? AND "
                "created_at < ? GROUP BY interface", (since, until)):
            counts["messages"][interface] = count
        for interface, state, count in self._db.execute(
                "SELECT m.interface, r.state, count(*) FROM recipients r JOIN messages m ON "
                "m.id = r.message_id WHERE m.created_at >= ? AND m.created_at < ? "
                "GROUP BY m.interface, r.state", (since, until)):
            counts["recipients"].setdefault(interface, {})[state] = count
        return counts

    async def state_counts(self, *, since: float, until: float) -> dict[str, Any]:
        return await self._run(self._state_counts, since, until)

    def _add_smsc_ids(self, recipient_id: int, kind: str, smsc_ids: Sequence[str], now: float,
                      expires_at: float) -> None:
        with self._tx() as tx:
            tx.executemany("INSERT INTO smsc_ids (smsc_id, sms, recipient_id, kind, created_at,"
                           " expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                           [(i, smsc_ids[0], recipient_id, kind, now, expires_at)
                            for i in smsc_ids])

    async def add_smsc_ids(self, recipient_id: int, kind: str, smsc_ids: Sequence[str], *,
                           now: float, expires_at: float) -> None:
        if smsc_ids:
            await self._write(self._add_smsc_ids, recipient_id, kind, list(smsc_ids), now,
                              expires_at)

    def _take_smsc_id(self, keys: Sequence[str],
                      whole_sms: bool) -> tuple[SmscIdRecord, int] | None:
        with self._tx() as tx:
            rows = self._query(SmscIdRecord, "SELECT * FROM smsc_ids WHERE smsc_id IN "
                               f"({', '.join('?' * len(keys))}) ORDER BY id DESC", *keys)
            if not rows:
                return None
            row = min(rows, key=lambda r: keys.index(r.smsc_id))  # newest of the best key
            sms = (row.recipient_id, row.sms)
            if whole_sms:
                tx.execute("DELETE FROM smsc_ids WHERE recipient_id = ? AND sms = ?", sms)
            else:
                tx.execute("DELETE FROM smsc_ids WHERE id = ?", (row.id,))
            left = tx.execute("SELECT count(*) FROM smsc_ids WHERE recipient_id = ? AND sms = ?",
                              sms).fetchone()[0]
        return row, int(left)

    async def take_smsc_id(self, keys: Sequence[str], *,
                           whole_sms: bool) -> tuple[SmscIdRecord, int] | None:
        if not keys:
            return None
        return await self._write(self._take_smsc_id, list(keys), whole_sms)

    def _prune_smsc_ids(self, now: float) -> int:
        with self._tx() as tx:
            return tx.execute("DELETE FROM smsc_ids WHERE expires_at < ?", (now,)).rowcount

    async def prune_smsc_ids(self, *, now: float) -> int:
        return await self._write(self._prune_smsc_ids, now)

    async def add_event(self, message_id: str, kind: str, *, now: float,
                        detail: dict[str, Any] | None = None,
                        recipient_id: int | None = None) -> Event:
        return await self._write(self._add_event, message_id, kind, now, detail, recipient_id)

    async def events_of(self, message_id: str) -> list[Event]:
        return await self._run(self._query, Event,
                               "SELECT * FROM events WHERE message_id = ? ORDER BY id", message_id)

    async def put_subscriber(self, subscriber: Subscriber) -> None:
        await self._write(self._upsert, "subscribers", subscriber)

    async def get_subscriber(self, address: str) -> Subscriber | None:
        rows = await self._run(self._query, Subscriber,
                               "SELECT * FROM subscribers WHERE address = ?", address)
        return rows[0] if rows else None

    async def put_vasp(self, vasp: VaspRecord) -> None:
        await self._write(self._upsert, "vasps", vasp)

    async def get_vasp(self, vasp_id: str) -> VaspRecord | None:
        rows = await self._run(self._query, VaspRecord, "SELECT * FROM vasps WHERE id = ?", vasp_id)
        return rows[0] if rows else None

    async def list_vasps(self) -> list[VaspRecord]:
        return await self._run(self._query, VaspRecord, "SELECT * FROM vasps ORDER BY id")

    def _add_optout(self, optout: OptOut) -> bool:
        values = _columns(optout)
        with self._tx() as tx:
            return tx.execute(f"INSERT OR IGNORE INTO optouts ({', '.join(values)}) VALUES "
                              f"({', '.join(':' + name for name in values)})",
                              values).rowcount == 1

    async def add_optout(self, optout: OptOut) -> bool:
        return await self._write(self._add_optout, optout)

    def _remove_optout(self, vasp_id: str, address: str) -> bool:
        with self._tx() as tx:
            return tx.execute("DELETE FROM optouts WHERE vasp_id = ? AND address = ?",
                              (_storable(vasp_id), _storable(address))).rowcount == 1

    async def remove_optout(self, vasp_id: str, address: str) -> bool:
        return await self._write(self._remove_optout, vasp_id, address)

    async def get_optout(self, vasp_id: str, address: str) -> OptOut | None:
        rows = await self._run(self._query, OptOut, "SELECT * FROM optouts WHERE vasp_id = ? "
                               "AND address = ?", vasp_id, address)
        return rows[0] if rows else None

    async def list_optouts(self, vasp_id: str | None = None) -> list[OptOut]:
        if vasp_id is None:
            return await self._run(self._query, OptOut,
                                   "SELECT * FROM optouts ORDER BY vasp_id, address")
        return await self._run(self._query, OptOut, "SELECT * FROM optouts WHERE vasp_id = ? "
                               "ORDER BY address", vasp_id)

    async def close(self) -> None:
        await self._run(self._close)
        await self._worker.close()
