"""Call detail records: one line per recipient once it reaches a final state, appended to
daily CSV files ``<[cdr] path>/cdr-YYYY-MM-DD.csv`` (UTC days, by the time of that state),
for billing and traffic reports.

What is owed comes from the state store, not from memory: a trigger writes a ``cdrs`` row in
the very transaction of every final transition (schema version 7), so no final state is
missed, whichever node or process made it. :class:`CdrWriter` claims those rows like timers,
appends their lines under an exclusive lock of the file, syncs it, and marks them written.
A line can only be in a file once its row was claimed; so when a row comes back whose earlier
claim lapsed (its node died between the append and the mark), the day's file is read first
and a line already there is not written again: exactly one line per recipient, also across
SIGKILL and restart. :func:`export` makes the same lines again from the state store
(``mmsc cdr --from --to``).
"""

from __future__ import annotations

import asyncio
import csv
import fcntl
import io
import logging
import os
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from mmsc.state import CdrRecord, RecipientState, StateStore

log = logging.getLogger(__name__)
S = RecipientState

#: The columns, in order (the first line of every file).
FIELDS = ("time", "message_id", "originator", "recipient", "interface_in", "route", "vasp_id",
          "size", "outcome", "attempts", "first_notified", "delivered_at")
#: Outcomes that are a delivery: ``delivered_at`` is their time when no fetch came first.
_DELIVERED = ("acknowledged", "fallback-viewed", "forwarded", "retrieved")


def stamp(at: float | None) -> str:
    """ISO 8601 UTC with milliseconds, or empty."""
    if at is None:
        return ""
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def day(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d")


def outcome(cdr: CdrRecord, kind: str) -> str:
    """What happened, for billing: the final state, told apart by the event that made it
    (``kind``) and the state it left. A recipient cancelled (operator or VASP) ended
    ``rejected`` with the event ``cancelled``; a web link opened ended ``acknowledged`` with
    ``viewed``; a handset that fetched but never confirmed before the expiry got the
    message (``retrieved``); a link SMS whose page was never opened is ``fallback-expired``."""
    if cdr.state == S.REJECTED:
        return "cancelled" if kind == "cancelled" else "rejected"
    if cdr.state == S.ACKNOWLEDGED:
        return "fallback-viewed" if kind == "viewed" else "acknowledged"
    if cdr.state == S.EXPIRED:
        return {S.RETRIEVED: "retrieved", S.FALLBACK_SENT: "fallback-expired"}.get(
            cdr.before, "expired")
    return cdr.state.value


async def records(state: StateStore, cdrs: Sequence[CdrRecord],
                  ) -> list[tuple[CdrRecord, dict[str, str]]]:
    """Each of ``cdrs`` with its CSV row, read from the messages, recipients and events of
    the state store; one whose message was deleted since is left out."""
    messages = await state.get_messages({c.message_id for c in cdrs})
    events = {m: await state.events_of(m) for m in messages}
    rows = []
    for cdr in cdrs:
        message = messages.get(cdr.message_id)
        recipient = await state.get_recipient(cdr.recipient_id)
        if message is None or recipient is None:
            continue
        own = [e for e in events[cdr.message_id] if e.recipient_id == cdr.recipient_id]
        final = next((e.kind for e in own if e.at == cdr.at), own[-1].kind if own else "")
        first = {}
        for event in own:
            first.setdefault(event.kind, event.at)
        result = outcome(cdr, final)
        delivered = first.get("fetched") or (cdr.at if result in _DELIVERED else None)
        rows.append((cdr, {
            "time": stamp(cdr.at), "message_id": message.id, "originator": message.originator,
            "recipient": recipient.address, "interface_in": message.interface.value,
            "route": recipient.route.value, "vasp_id": message.vasp_id or "",
            "size": str(message.size), "outcome": result, "attempts": str(recipient.attempts),
            "first_notified": stamp(first.get("notified")), "delivered_at": stamp(delivered)}))
    return rows


def lines(rows: Iterable[dict[str, str]], *, header: bool = False) -> str:
    """CSV text (RFC 4180: quoted where needed, CRLF line ends)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, FIELDS)
    if header:
        writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


async def export(state: StateStore, start: float, end: float) -> str:
    """Every CDR of [start, end) again from the state store, header first."""
    done = await records(state, await state.cdrs_between(start, end))
    return lines((row for _, row in done), header=True)


def _key(row: dict[str, str]) -> tuple[str, str]:
    return row["message_id"], row["recipient"]


def append(path: Path, rows: Sequence[dict[str, str]], check: bool) -> int:
    """Append ``rows`` to the day file ``path`` (made with its header), under an exclusive
    lock (several processes write the same files), synced; with ``check``, the rows already
    in the file are left out. Returns how many were written. Blocking: run in a thread."""
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        size = os.fstat(fd).st_size
        if check and size:
            with open(path, encoding="utf-8", newline="") as present:
                there = {_key(row) for row in csv.DictReader(present)}
            rows = [row for row in rows if _key(row) not in there]
        text = lines(rows, header=size == 0)
        if text:
            os.write(fd, text.encode("utf-8"))
            os.fsync(fd)
        return len(rows)
    finally:
        os.close(fd)


class CdrWriter:
    """Writes the CDRs owed, one pass every ``interval`` seconds (:meth:`run`)."""

    def __init__(self, state: StateStore, folder: str | Path, *, owner: str,
                 lease: float = 120.0, batch: int = 200,
                 clock: Callable[[], float] = time.time) -> None:
        self.state = state
        self.folder = Path(folder)
        self.owner = owner
        self.lease = lease
        self.batch = batch
        self.clock = clock

    async def write_due(self) -> int:
        """One batch: claim, append, mark written; returns how many were claimed."""
        due = await self.state.claim_cdrs(now=self.clock(), owner=self.owner, limit=self.batch,
                                          lease=self.lease)
        if not due:
            return 0
        by_day: dict[str, list[dict[str, str]]] = {}
        lapsed: set[str] = set()
        for cdr, row in await records(self.state, due):
            by_day.setdefault(day(cdr.at), []).append(row)
            if cdr.claimed_by is not None:  # a claim that lapsed: maybe written already
                lapsed.add(day(cdr.at))
        await asyncio.to_thread(self.folder.mkdir, parents=True, exist_ok=True)
        for name, day_rows in sorted(by_day.items()):
            await asyncio.to_thread(append, self.folder / f"cdr-{name}.csv", day_rows,
                                    name in lapsed)
        await self.state.cdrs_written([c.recipient_id for c in due], now=self.clock())
        return len(due)

    async def run(self, interval: float = 1.0) -> None:
        while True:
            try:
                while await self.write_due() >= self.batch:
                    pass
            except Exception:  # noqa: BLE001 - the store or the disk may be down a while
                log.exception("CDR pass failed; the CDRs owed are written at a later pass")
            await asyncio.sleep(interval)
