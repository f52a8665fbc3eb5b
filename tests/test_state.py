"""The SQLite state store: atomic accept, compare-and-set transitions, claims, migrations."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
import threading
from pathlib import Path

import pytest

from mmsc.state import (
    DuplicateMessage, Interface, MessageRecord, RecipientRecord, RecipientState, Route,
    SqliteStateStore, StateError, Subscriber, VaspRecord,
)
from mmsc.ids import token_digest
from mmsc.state.schema import MIGRATIONS

S = RecipientState


def message(message_id: str = "m1", **fields: object) -> MessageRecord:
    values = dict(id=message_id, interface=Interface.MM7, originator="+33600000001/TYPE=PLMN",
                  object_key=f"messages/{message_id}/original.mime", size=1234,
                  created_at=1000.0, subject="Sujet é", message_class="Personal",
                  priority="High", date=999.0, expiry_at=5000.0, earliest_delivery_at=1100.0,
                  delivery_report=True, read_report=False, vasp_id="acme",
                  transaction_id=f"tx-{message_id}", linked_id="l", service_code="sc",
                  content_type="multipart/related")
    values.update(fields)
    return MessageRecord(**values)  # type: ignore[arg-type]


def recipient(address: str, message_id: str = "m1", due: float | None = 1100.0,
              state: RecipientState = S.ACCEPTED) -> RecipientRecord:
    return RecipientRecord(None, message_id, address, "to", Route.MMS, state,
                           next_attempt_at=due, updated_at=1000.0)


@pytest.fixture
async def store(tmp_path: Path):
    s = await SqliteStateStore.open(tmp_path / "state" / "mmsc.db")
    yield s
    await s.close()


async def test_accept_and_read_back(store: SqliteStateStore) -> None:
    rows = await store.accept_message(message(), [recipient("+1"), recipient("bob@example.com")],
                                      {"octets": 1234})
    assert [r.id for r in rows] == [1, 2]
    assert await store.get_message("m1") == message()
    assert await store.recipients_of("m1") == rows
    events = await store.events_of("m1")
    assert [(e.kind, e.recipient_id) for e in events] == [("accepted", None), ("accepted", 1),
                                                          ("accepted", 2)]
    assert events[0].detail == {"octets": 1234} and events[1].detail["route"] == "mms"
    assert await store.get_messages(["m1", "unknown"]) == {"m1": message()}
    assert await store.get_messages([]) == {}
    assert await store.list_message_ids() == ["m1"]


async def test_duplicates_leave_only_the_first(store: SqliteStateStore) -> None:
    await store.accept_message(message(), [recipient("+1")])
    with pytest.raises(DuplicateMessage) as same_id:
        await store.accept_message(message(subject="other"), [recipient("+2")])
    with pytest.raises(DuplicateMessage) as same_tx:
        await store.accept_message(message("m2", transaction_id="tx-m1"), [recipient("+2", "m2")])
    assert same_id.value.message_id == same_tx.value.message_id == "m1"
    assert await store.list_message_ids() == ["m1"]
    assert [r.address for r in await store.recipients_of("m1")] == ["+1"]
    assert len(await store.events_of("m1")) == 2
    await store.accept_message(message("m3", transaction_id=None), [recipient("+3", "m3")])
    await store.accept_message(message("m4", transaction_id=None), [recipient("+3", "m4")])


async def test_a_failure_inside_accept_leaves_nothing(store: SqliteStateStore) -> None:
    bad = dataclasses.replace(recipient("+2"), kind="sideways")  # violates a CHECK
    with pytest.raises(StateError):
        await store.accept_message(message(), [recipient("+1"), bad])
    assert await store.list_message_ids() == [] and await store.events_of("m1") == []
    assert await store.recipients_of("m1") == []


async def test_transition_is_compare_and_set(store: SqliteStateStore) -> None:
    (row,) = await store.accept_message(message(), [recipient("+1")])
    done = await store.transition(row.id, expected=[S.ACCEPTED, S.ADAPTED], to=S.NOTIFIED,
                                  now=1200.0, next_attempt_at=1500.0, attempts=1,
                                  transaction_id="tid", detail={"segments": 2})
    assert done is not None and done.before == S.ACCEPTED  # the state really left
    moved = done.record
    assert (moved.state, moved.attempts, moved.next_attempt_at,
            moved.transaction_id) == (S.NOTIFIED, 1, 1500.0, "tid")
    assert await store.transition(row.id, expected=[S.ACCEPTED], to=S.NOTIFIED, now=1300.0) is None
    assert await store.recipient_by_transaction("tid") == moved
    await store.add_content_token(row.id, "digest-1", now=1250.0)
    await store.add_content_token(row.id, "digest-2", now=1260.0)  # a re-notification's
    assert await store.recipient_by_token(content_digest="digest-1") == moved
    assert await store.recipient_by_token(content_digest="digest-2") == moved
    assert await store.recipient_by_token(content_digest="tid") is None
    assert await store.recipient_by_token(viewer_token="digest-1") is None
    done = await store.transition(row.id, expected=[S.ACCEPTED, S.NOTIFIED], to=S.RETRIEVED,
                                  now=1400.0, kind="fetched", next_attempt_at=None)
    assert done is not None and done.before == S.NOTIFIED
    assert done.record.next_attempt_at is None and done.record.attempts == 1
    kinds = [(e.kind, e.at) for e in await store.events_of("m1")]
    assert kinds[-2:] == [("notified", 1200.0), ("fetched", 1400.0)]


async def test_claim_due_orders_leases_and_skips_final(store: SqliteStateStore) -> None:
    await store.accept_message(message(), [
        recipient("+late", due=1300.0), recipient("+early", due=1050.0),
        recipient("+future", due=9999.0), recipient("+none", due=None),
        recipient("+done", due=1000.0, state=S.ACKNOWLEDGED)])
    first = await store.claim_due(now=1400.0, owner="a", limit=10, lease=60.0)
    assert [r.address for r in first] == ["+early", "+late"]
    assert all(r.claimed_by == "a" and r.claimed_until == 1460.0 for r in first)
    assert await store.claim_due(now=1450.0, owner="b", limit=10, lease=60.0) == []
    again = await store.claim_due(now=1461.0, owner="b", limit=1, lease=60.0)
    assert [r.address for r in again] == ["+early"]  # the lease ran out
    released = await store.transition(again[0].id, expected=[S.ACCEPTED], to=S.NOTIFIED,
                                      now=1462.0)
    assert released is not None and released.record.claimed_by is None


async def test_two_stores_never_claim_the_same_row(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    a, b = await SqliteStateStore.open(path), await SqliteStateStore.open(path)
    try:
        for i in range(10):
            await a.accept_message(message(f"m{i}", transaction_id=None),
                                   [recipient(f"+{j}", f"m{i}", due=float(j)) for j in range(20)])
        claims = await asyncio.gather(*(
            (a if n % 2 else b).claim_due(now=100.0, owner=f"o{n}", limit=7, lease=30.0)
            for n in range(40)))
        ids = [r.id for batch in claims for r in batch]
        assert len(ids) == len(set(ids)) == 200
    finally:
        await a.close()
        await b.close()


async def test_migrations_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    store = await SqliteStateStore.open(path)
    await store.accept_message(message(), [recipient("+1")])
    await store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    reopened = await SqliteStateStore.open(path)
    assert await reopened.get_message("m1") == message()
    await reopened.close()
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(StateError, match="upgrade mmsc"):
        await SqliteStateStore.open(path)


async def test_subscribers_and_vasps(store: SqliteStateStore) -> None:
    sub = Subscriber("+33600000002", mms_capable=False, device_profile="basic-2005",
                     updated_at=5.0)
    await store.put_subscriber(sub)
    assert await store.get_subscriber("+33600000002") == sub
    await store.put_subscriber(dataclasses.replace(sub, mms_capable=True))
    assert (await store.get_subscriber("+33600000002")).mms_capable is True
    vasp = VaspRecord("acme", "ACME", "pbkdf2$x", ("12345", "+33600000009"), 10.0,
                      "http://www.3gpp.org/ftp/Specs/archive/23_series/23.140/schema/REL-6-MM7-1-4",
                      "6.8.0", "http://127.0.0.1:9/reports", True)
    await store.put_vasp(vasp)
    assert await store.get_vasp("acme") == vasp and await store.list_vasps() == [vasp]
    assert await store.get_vasp("nobody") is None


async def test_sqlite_runs_off_the_event_loop(store: SqliteStateStore, monkeypatch) -> None:
    threads: set[int] = set()
    original = store._apply

    def spy(*args: object):
        threads.add(threading.get_ident())
        return original(*args)

    monkeypatch.setattr(store, "_apply", spy)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    for i in range(30):
        await store.accept_message(message(f"x{i}", transaction_id=None),
                                   [recipient(f"+{j}", f"x{i}") for j in range(50)])
    task.cancel()
    assert threads and threading.get_ident() not in threads
    assert ticks >= 30  # the loop kept running while SQLite worked


async def test_delete_cascades(store: SqliteStateStore) -> None:
    await store.accept_message(message(), [recipient("+1")])
    await store.delete_message("m1")
    assert await store.get_message("m1") is None and await store.events_of("m1") == []
    assert await store.recipients_of("m1") == []


async def test_concurrent_accepts_share_commits(store: SqliteStateStore, monkeypatch) -> None:
    batches: list[int] = []
    original = store._apply

    def spy(batch):
        batches.append(len(batch))
        return original(batch)

    monkeypatch.setattr(store, "_apply", spy)
    await store.accept_message(message("first", transaction_id="dup"), [recipient("+1", "first")])
    attempts = [store.accept_message(message(f"g{i}", transaction_id=f"t{i}"),
                                     [recipient("+1", f"g{i}"), recipient("+2", f"g{i}")])
                for i in range(60)]
    attempts.insert(30, store.accept_message(message("second", transaction_id="dup"),
                                             [recipient("+1", "second")]))
    results = await asyncio.gather(*attempts, return_exceptions=True)
    assert isinstance(results[30], DuplicateMessage) and results[30].message_id == "first"
    ok = [r for i, r in enumerate(results) if i != 30]
    assert all(len(r) == 2 and r[0].id is not None for r in ok)
    assert len(await store.list_message_ids()) == 61
    assert len(batches) < 30  # sixty-one accepts, far fewer commits
    assert await store.recipients_of("second") == []


def old_database(path: Path, version: int) -> sqlite3.Connection:
    """A database of schema ``version`` as an older mmsc made it, with message m1."""
    db = sqlite3.connect(path)
    db.create_function("token_digest", 1, token_digest)  # as the store gives it (version 5)
    for script in MIGRATIONS[:version]:
        db.executescript(script)
    db.execute(f"PRAGMA user_version = {version}")
    db.execute("INSERT INTO messages (id, interface, originator, object_key, size, "
               "created_at) VALUES ('m1', 'mm1', '+1', 'k', 1, 0)")
    return db


async def test_version_2_databases_are_rebuilt_for_the_vasp_route(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with old_database(path, 2) as db:
        db.execute("INSERT INTO recipients (message_id, address, kind, route, state, "
                   "updated_at) VALUES ('m1', '+2', 'to', 'mms', 'accepted', 0)")
        db.execute("INSERT INTO events (message_id, recipient_id, at, kind) "
                   "VALUES ('m1', 1, 0, 'accepted')")
        with pytest.raises(sqlite3.IntegrityError):  # version 2 refuses the new route
            db.execute("INSERT INTO recipients (message_id, address, kind, route, state, "
                       "updated_at) VALUES ('m1', '36000', 'to', 'vasp', 'accepted', 0)")
    store = await SqliteStateStore.open(path)
    try:
        assert [r.address for r in await store.recipients_of("m1")] == ["+2"]
        assert [e.recipient_id for e in await store.events_of("m1")] == [1]
        await store.accept_message(message("m2", transaction_id=None), [dataclasses.replace(
            recipient("36000", "m2"), route=Route.VASP)])
        assert (await store.recipients_of("m2"))[0].route == Route.VASP
        await store.delete_message("m1")  # the cascade still works after the rebuild
        assert await store.events_of("m1") == [] and await store.recipients_of("m1") == []
    finally:
        await store.close()


async def test_version_4_content_tokens_become_digests(tmp_path: Path) -> None:
    """Issue 14 item 16: a database of schema 4 kept every content token as sent. Opened by
    this mmsc, only their digests remain (the token still retrieves), the transaction ids
    are new, and the plain token is nowhere in the database's files."""
    path = tmp_path / "old.db"
    old = "OldPlainToken_0123456789"
    with old_database(path, 4) as db:
        db.execute("INSERT INTO recipients (message_id, address, kind, route, state, "
                   "content_token, updated_at) VALUES ('m1', '+2', 'to', 'mms', 'notified', ?, 0)",
                   (old,))
        db.execute("INSERT INTO recipients (message_id, address, kind, route, state, "
                   "updated_at) VALUES ('m1', '+3', 'to', 'legacy', 'accepted', 0)")
    store = await SqliteStateStore.open(path)
    try:
        found = await store.recipient_by_token(content_digest=token_digest(old))
        assert found is not None and found.address == "+2"
        assert found.transaction_id not in (None, old) and len(found.transaction_id) == 22
        assert (await store.recipients_of("m1"))[1].transaction_id is None
    finally:
        await store.close()
    for file in tmp_path.iterdir():
        assert old.encode() not in file.read_bytes(), file.name


async def test_two_stores_on_one_file_write_side_by_side(tmp_path: Path) -> None:
    """As two processes of ``[http] workers`` do: each store's writers queue on the flock,
    none fails with "database is locked", and each sees the other's rows."""
    first = await SqliteStateStore.open(tmp_path / "mmsc.db")
    second = await SqliteStateStore.open(tmp_path / "mmsc.db")
    try:
        async def accept(store: SqliteStateStore, i: int) -> None:
            await store.accept_message(message(f"m{i}"), [recipient(f"+3360000{i:04d}", f"m{i}")])

        await asyncio.gather(*(accept(first if i % 2 else second, i) for i in range(120)))
        assert sorted(await first.list_message_ids()) == sorted(f"m{i}" for i in range(120))
        claimed = await asyncio.gather(
            first.claim_due(now=2000.0, owner="a", limit=200, lease=60.0),
            second.claim_due(now=2000.0, owner="b", limit=200, lease=60.0))
        ids = [r.id for batch in claimed for r in batch]
        assert len(ids) == len(set(ids)) == 120  # each recipient claimed by one store only
    finally:
        await first.close()
        await second.close()


async def test_older_databases_owe_the_cdrs_of_their_past(tmp_path: Path) -> None:
    """Schema 7: recipients already final owe their CDR; from then on the trigger adds one
    at each final state, once (a move between two final states adds none)."""
    path = tmp_path / "old.db"
    with old_database(path, 4) as db:
        for address, state in (("+2", "acknowledged"), ("+3", "notified")):
            db.execute("INSERT INTO recipients (message_id, address, kind, route, state, "
                       "updated_at) VALUES ('m1', ?, 'to', 'mms', ?, 5)", (address, state))
    store = await SqliteStateStore.open(path)
    try:
        owed = await store.cdrs_between(0, 10)
        assert [(c.recipient_id, c.state.value, c.at) for c in owed] == [(1, "acknowledged", 5)]
        moved = await store.transition(2, expected=[RecipientState.NOTIFIED],
                                       to=RecipientState.EXPIRED, now=7)
        assert moved is not None
        await store.transition(2, expected=[RecipientState.EXPIRED],
                               to=RecipientState.UNREACHABLE, now=8)
        owed = await store.cdrs_between(0, 10)
        assert [(c.recipient_id, c.state.value, c.before.value) for c in owed] == [
            (1, "acknowledged", "acknowledged"), (2, "expired", "notified")]
        claimed = await store.claim_cdrs(now=9, owner="n1", limit=10, lease=5)
        assert [c.claimed_by for c in claimed] == [None, None]
        assert await store.claim_cdrs(now=10, owner="n2", limit=10, lease=5) == []
        again = await store.claim_cdrs(now=15, owner="n2", limit=10, lease=5)
        assert [c.claimed_by for c in again] == ["n1", "n1"]  # lapsed: maybe written
        await store.cdrs_written([1, 2], now=16)
        assert await store.claim_cdrs(now=30, owner="n3", limit=10, lease=5) == []
    finally:
        await store.close()


async def test_smsc_ids_are_taken_once_and_go_with_their_message(store: SqliteStateStore) -> None:
    """The SMSC ids of an SMS's segments: a receipt takes its segment once; the last segment
    taken says none is left; a failure takes the whole SMS; rows go at the expiry given and
    with their message."""
    r1, r2 = await store.accept_message(message(), [recipient("+1"), recipient("+2")])
    await store.add_smsc_ids(r1.id, "push", ["a", "b", "c"], now=1000.0, expires_at=5000.0)
    await store.add_smsc_ids(r2.id, "link", ["d"], now=1000.0, expires_at=5000.0)
    row, left = await store.take_smsc_id(["b"], whole_sms=False)
    assert (row.recipient_id, row.kind, row.sms, row.smsc_id, left) == (r1.id, "push", "a", "b", 2)
    assert await store.take_smsc_id(["b"], whole_sms=False) is None  # matched once
    row, left = await store.take_smsc_id(["zz", "c"], whole_sms=True)  # the first key found
    assert (row.smsc_id, left) == ("c", 0)
    assert await store.take_smsc_id(["a"], whole_sms=False) is None  # went with its SMS
    await store.add_smsc_ids(r1.id, "report", ["e"], now=1000.0, expires_at=2000.0)
    assert await store.prune_smsc_ids(now=3000.0) == 1
    assert await store.take_smsc_id(["e"], whole_sms=False) is None
    await store.delete_message("m1")
    assert await store.take_smsc_id(["d"], whole_sms=False) is None


async def test_two_stores_take_the_last_segments_of_one_sms(tmp_path: Path) -> None:
    """Two processes, each with a receipt of one of an SMS's two segments (and both with the
    same repeated receipt): exactly one sees the SMS complete, each id is taken once."""
    first = await SqliteStateStore.open(tmp_path / "mmsc.db")
    second = await SqliteStateStore.open(tmp_path / "mmsc.db")
    try:
        [r] = await first.accept_message(message(), [recipient("+1")])
        for n in range(20):
            await first.add_smsc_ids(r.id, "push", [f"{n}a", f"{n}b"], now=1000.0,
                                     expires_at=5000.0)
            taken = await asyncio.gather(
                first.take_smsc_id([f"{n}a"], whole_sms=False),
                second.take_smsc_id([f"{n}b"], whole_sms=False),
                second.take_smsc_id([f"{n}a"], whole_sms=False))
            got = [t for t in taken if t is not None]
            assert len(got) == 2 and sorted(left for _, left in got) == [0, 1]
    finally:
        await first.close()
        await second.close()


async def test_version_5_databases_get_the_smsc_ids(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with old_database(path, 5) as db:
        db.execute("INSERT INTO recipients (message_id, address, kind, route, state, "
                   "updated_at) VALUES ('m1', '+2', 'to', 'mms', 'notified', 0)")
    store = await SqliteStateStore.open(path)
    try:
        [r] = await store.recipients_of("m1")
        await store.add_smsc_ids(r.id, "push", ["x1"], now=1.0, expires_at=2.0)
        row, left = await store.take_smsc_id(["x1"], whole_sms=False)
        assert (row.recipient_id, left) == (r.id, 0)
    finally:
        await store.close()
