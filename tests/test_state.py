"""The state store on SQLite and on PostgreSQL (each test taking ``store`` or ``state_url``
runs on both): atomic accept, compare-and-set transitions, claims, migrations; then what
only one backend has."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
import threading
from pathlib import Path

import asyncpg
import pytest

from mmsc.state import (
    DuplicateMessage, Interface, MessageRecord, RecipientRecord, RecipientState, Route,
    SqliteStateStore, StateError, StateStore, StateUnavailable, Subscriber, VaspRecord,
)
from mmsc.state.location import open_store
from mmsc.state_url import parse as parse_state_url
from mmsc.ids import token_digest
from mmsc.state.schema import MIGRATIONS
from mmsc.state.schema_postgres import MIGRATIONS as POSTGRES_MIGRATIONS, VERSION_TABLE

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
async def store(state_url: str):
    s = await open_store(state_url)
    yield s
    await s.close()


@pytest.fixture
async def sqlite_store(tmp_path: Path):
    s = await SqliteStateStore.open(tmp_path / "state" / "mmsc.db")
    yield s
    await s.close()


async def test_accept_and_read_back(store: StateStore) -> None:
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


async def test_duplicates_leave_only_the_first(store: StateStore) -> None:
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


async def test_a_failure_inside_accept_leaves_nothing(store: StateStore) -> None:
    bad = dataclasses.replace(recipient("+2"), kind="sideways")  # violates a CHECK
    with pytest.raises(StateError):
        await store.accept_message(message(), [recipient("+1"), bad])
    assert await store.list_message_ids() == [] and await store.events_of("m1") == []
    assert await store.recipients_of("m1") == []


async def test_transition_is_compare_and_set(store: StateStore) -> None:
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


async def test_claim_due_orders_leases_and_skips_final(store: StateStore) -> None:
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


async def test_two_stores_never_claim_the_same_row(state_url: str) -> None:
    a, b = await open_store(state_url), await open_store(state_url)
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


async def test_subscribers_and_vasps(store: StateStore) -> None:
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


async def test_sqlite_runs_off_the_event_loop(sqlite_store: SqliteStateStore,
                                              monkeypatch) -> None:
    store = sqlite_store
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


async def test_delete_cascades(store: StateStore) -> None:
    await store.accept_message(message(), [recipient("+1")])
    await store.delete_message("m1")
    assert await store.get_message("m1") is None and await store.events_of("m1") == []
    assert await store.recipients_of("m1") == []


def commits(store: SqliteStateStore, monkeypatch) -> list[int]:
    """The sizes of the store's group commits from now on, as they are made."""
    batches: list[int] = []
    original = store._apply

    def spy(batch):
        batches.append(len(batch))
        return original(batch)

    monkeypatch.setattr(store, "_apply", spy)
    return batches


async def test_concurrent_accepts_share_commits(sqlite_store: SqliteStateStore,
                                                monkeypatch) -> None:
    store, batches = sqlite_store, commits(sqlite_store, monkeypatch)
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


async def test_a_write_failing_halfway_in_a_group_commit_undoes_only_itself(
        sqlite_store: SqliteStateStore, monkeypatch) -> None:
    """A write that fails after a part of it is written (its message row, before a recipient
    row breaks a CHECK) leaves nothing of itself, and every other write of its group commit
    is committed, once."""
    store, batches = sqlite_store, commits(sqlite_store, monkeypatch)
    bad = dataclasses.replace(recipient("+2", "bad"), kind="sideways")  # violates a CHECK
    attempts = [store.accept_message(message(f"g{i}", transaction_id=f"t{i}"),
                                     [recipient("+1", f"g{i}")]) for i in range(20)]
    attempts.insert(10, store.accept_message(message("bad", transaction_id="tb"),
                                             [recipient("+1", "bad"), bad]))
    results = await asyncio.gather(*attempts, return_exceptions=True)
    assert isinstance(results[10], StateError) and not isinstance(results[10], DuplicateMessage)
    assert all(isinstance(r, list) for i, r in enumerate(results) if i != 10)
    assert sorted(await store.list_message_ids()) == sorted(f"g{i}" for i in range(20))
    assert await store.recipients_of("bad") == [] and await store.events_of("bad") == []
    assert [len(await store.events_of(f"g{i}")) for i in range(20)] == [2] * 20
    assert len(batches) < 20  # the batches were shared


OLD_MESSAGE = ("INSERT INTO messages (id, interface, originator, object_key, size, created_at) "
               "VALUES ('m1', 'mm1', '+1', 'k', 1, 0)")


def old_database(path: Path, version: int) -> sqlite3.Connection:
    """An SQLite database of schema ``version`` as an older mmsc made it, with message m1."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path)
    db.create_function("token_digest", 1, token_digest)  # as the store gives it (version 5)
    for script in MIGRATIONS[:version]:
        db.executescript(script)
    db.execute(f"PRAGMA user_version = {version}")
    db.execute(OLD_MESSAGE)
    return db


async def old_store(state_url: str, version: int, *rows: str) -> StateStore:
    """The store of ``state_url`` opened by this mmsc after an older one made it, at schema
    ``version``, with message m1 and ``rows`` (SQL with literal values, which both take)."""
    kind, target = parse_state_url(state_url)
    if kind == "sqlite":
        with old_database(Path(target), version) as lite:
            for row in rows:
                lite.execute(row)
        lite.close()
    else:
        db = await asyncpg.connect(target)
        try:
            async with db.transaction():
                for script in POSTGRES_MIGRATIONS[:version]:
                    await db.execute(script)
                await db.execute(f"CREATE TABLE {VERSION_TABLE} (version INTEGER NOT NULL)")
                await db.execute(f"INSERT INTO {VERSION_TABLE} VALUES ({version})")
                for row in (OLD_MESSAGE, *rows):
                    await db.execute(row)
        finally:
            await db.close()
    return await open_store(state_url)


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


async def test_version_4_content_tokens_become_digests(state_url: str, tmp_path: Path) -> None:
    """Issue 14 item 16: a database of schema 4 kept every content token as sent. Opened by
    this mmsc, only their digests remain (the token still retrieves), the transaction ids
    are new, and (SQLite) the plain token is nowhere in the database's files."""
    old = "OldPlainToken_0123456789"
    store = await old_store(
        state_url, 4,
        "INSERT INTO recipients (message_id, address, kind, route, state, content_token, "
        f"updated_at) VALUES ('m1', '+2', 'to', 'mms', 'notified', '{old}', 0)",
        "INSERT INTO recipients (message_id, address, kind, route, state, updated_at) "
        "VALUES ('m1', '+3', 'to', 'legacy', 'accepted', 0)")
    try:
        found = await store.recipient_by_token(content_digest=token_digest(old))
        assert found is not None and found.address == "+2"
        assert found.transaction_id not in (None, old) and len(found.transaction_id) == 22
        assert (await store.recipients_of("m1"))[1].transaction_id is None
    finally:
        await store.close()
    for file in (tmp_path / "state").glob("*"):
        assert old.encode() not in file.read_bytes(), file.name


async def test_older_databases_owe_the_cdrs_of_their_past(state_url: str) -> None:
    """Schema 7: recipients already final owe their CDR; from then on the trigger adds one
    at each final state, once (a move between two final states adds none); CDRs are claimed
    with a lease and handed out again, as they were, once it lapses."""
    store = await old_store(state_url, 4, *(
        "INSERT INTO recipients (message_id, address, kind, route, state, updated_at) "
        f"VALUES ('m1', '{address}', 'to', 'mms', '{state}', 5)"
        for address, state in (("+2", "acknowledged"), ("+3", "notified"))))
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
        assert [c.recipient_id for c in await store.cdrs_between(6, 7.5)] == [2]
        claimed = await store.claim_cdrs(now=9, owner="n1", limit=10, lease=5)
        assert [c.claimed_by for c in claimed] == [None, None]
        assert await store.claim_cdrs(now=10, owner="n2", limit=10, lease=5) == []
        again = await store.claim_cdrs(now=15, owner="n2", limit=10, lease=5)
        assert [c.claimed_by for c in again] == ["n1", "n1"]  # lapsed: maybe written
        await store.cdrs_written([1, 2], now=16)
        assert await store.claim_cdrs(now=30, owner="n3", limit=10, lease=5) == []
        assert [c.written_at for c in await store.cdrs_between(0, 10)] == [16, 16]
    finally:
        await store.close()


async def test_version_5_databases_get_the_smsc_ids(state_url: str) -> None:
    store = await old_store(state_url, 5,
                            "INSERT INTO recipients (message_id, address, kind, route, state, "
                            "updated_at) VALUES ('m1', '+2', 'to', 'mms', 'notified', 0)")
    try:
        [r] = await store.recipients_of("m1")
        await store.add_smsc_ids(r.id, "push", ["x1"], now=1.0, expires_at=2.0)
        row, left = await store.take_smsc_id(["x1"], whole_sms=False)
        assert (row.recipient_id, left) == (r.id, 0)
    finally:
        await store.close()


async def test_version_7_databases_keep_mm4_reply_addresses(state_url: str) -> None:
    """Schema 8: a message that came over MM4 keeps its X-Mms-Message-ID and where its
    reports go; the messages of before have neither."""
    store = await old_store(state_url, 7)
    try:
        assert (await store.get_message("m1")).mm4_message_id is None
        mm4 = message("m2", interface=Interface.MM4, vasp_id=None, transaction_id=None,
                      mm4_message_id="abc@mms.example.net", mm4_reply_to="mms.example.net")
        await store.accept_message(mm4, [recipient("+1", "m2")])
        assert await store.get_message("m2") == mm4
    finally:
        await store.close()


async def test_two_stores_on_one_file_write_side_by_side(state_url: str) -> None:
    """As two processes of ``[http] workers`` (or two nodes on one database) do: on SQLite
    each store's writers queue on the flock, none fails with "database is locked"; each
    store sees the other's rows."""
    first = await open_store(state_url)
    second = await open_store(state_url)
    try:
        async def accept(store: StateStore, i: int) -> None:
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


# -- CDRs, SMSC ids and the operator's searches, on both backends ------------------------------


async def test_two_stores_never_claim_the_same_cdr(state_url: str) -> None:
    """Recipients made final by two stores: one CDR each (a second final move adds none);
    the claims of two stores racing never share a CDR, and together take them all."""
    a, b = await open_store(state_url), await open_store(state_url)
    try:
        rows = await a.accept_message(message(), [recipient(f"+{j}") for j in range(60)])
        await asyncio.gather(*((a if r.id % 2 else b).transition(
            r.id, expected=[S.ACCEPTED], to=S.ACKNOWLEDGED if r.id % 3 else S.EXPIRED,
            now=1200.0 + r.id) for r in rows))
        await a.transition(rows[0].id, expected=[S.EXPIRED, S.ACKNOWLEDGED], to=S.UNREACHABLE,
                           now=1300.0)
        owed = await b.cdrs_between(0, 2000)
        assert [c.recipient_id for c in owed] == [r.id for r in rows]
        assert all(c.before == S.ACCEPTED and c.at == 1200.0 + c.recipient_id for c in owed)
        claims = await asyncio.gather(*(
            (a if n % 2 else b).claim_cdrs(now=1400.0, owner=f"o{n}", limit=7, lease=30.0)
            for n in range(12)))
        ids = [c.recipient_id for batch in claims for c in batch]
        assert len(ids) == len(set(ids)) == 60
    finally:
        await a.close()
        await b.close()


async def test_smsc_ids_are_taken_once_and_go_with_their_message(store: StateStore) -> None:
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
    await store.add_smsc_ids(r1.id, "push", ["f"], now=1000.0, expires_at=5000.0)
    await store.add_smsc_ids(r2.id, "push", ["f"], now=1001.0, expires_at=5000.0)
    row, _ = await store.take_smsc_id(["f"], whole_sms=False)
    assert row.recipient_id == r2.id  # an id seen twice: the newest row first
    await store.delete_message("m1")
    assert await store.take_smsc_id(["d"], whole_sms=False) is None
    assert await store.take_smsc_id(["f"], whole_sms=False) is None
    assert await store.take_smsc_id([], whole_sms=False) is None


async def test_two_stores_take_the_last_segments_of_one_sms(state_url: str) -> None:
    """Two processes (or nodes), each with a receipt of one of an SMS's two segments (and
    both with the same repeated receipt): exactly one sees the SMS complete, each id is
    taken once."""
    first = await open_store(state_url)
    second = await open_store(state_url)
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


async def test_searches_and_counts_for_the_operator(store: StateStore) -> None:
    """Messages by number (sender or recipient), VASP, a recipient's state and date, newest
    first; what is due; messages and recipients per interface and state over a period."""
    await store.accept_message(message("m1", created_at=1000.0),
                               [recipient("+1", "m1", due=1100.0), recipient("+2", "m1")])
    await store.accept_message(message("m2", created_at=2000.0, interface=Interface.MM1,
                                       originator="+2", vasp_id=None, transaction_id=None),
                               [recipient("+3", "m2", due=None)])
    await store.accept_message(message("m3", created_at=3000.0, vasp_id="other",
                                       transaction_id="t3"), [recipient("+4", "m3", due=900.0)])
    [r4] = await store.recipients_of("m3")
    await store.transition(r4.id, expected=[S.ACCEPTED], to=S.ACKNOWLEDGED, now=3100.0)

    async def ids(**filters: object) -> list[str]:
        return [m.id for m in await store.search_messages(**filters)]  # type: ignore[arg-type]

    assert await ids() == ["m3", "m2", "m1"]
    assert await ids(addresses=["+2"]) == ["m2", "m1"]
    assert await ids(addresses=["+3", "+4"]) == ["m3", "m2"]
    assert await ids(vasp_id="acme") == ["m1"]
    assert await ids(state=S.ACKNOWLEDGED) == ["m3"]
    assert await ids(state=S.ACCEPTED, since=1500.0) == ["m2"]
    assert await ids(limit=1) == ["m3"]
    assert await ids(addresses=["+9"]) == []
    assert await store.count_due(1100.0) == 2  # +1 and +2 of m1; +4 is final
    assert await store.count_due(1099.0) == 0
    assert await store.state_counts(since=0.0, until=2500.0) == {
        "messages": {"mm7": 1, "mm1": 1},
        "recipients": {"mm7": {"accepted": 2}, "mm1": {"accepted": 1}}}
    assert await store.state_counts(since=2500.0, until=3000.0) == {"messages": {},
                                                                     "recipients": {}}
    assert (await store.state_counts(since=3000.0, until=4000.0))["recipients"] == {
        "mm7": {"acknowledged": 1}}


# -- PostgreSQL: what only a shared database has ---------------------------------------------------

def sqlite_schema(path: Path) -> dict[str, dict[str, bool]]:
    """Table -> column -> nullable (primary keys left out: SQLite lets some be NULL)."""
    with sqlite3.connect(path) as db:
        tables = [row[0] for row in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        return {table: {row[1]: not row[3] for row in db.execute(f"PRAGMA table_info({table})")
                        if not row[5]} for table in tables}


async def postgres_schema(url: str) -> dict[str, dict[str, bool]]:
    db = await asyncpg.connect(url)
    try:
        rows = await db.fetch(
            "SELECT c.table_name, c.column_name, c.is_nullable FROM information_schema.columns c"
            " WHERE c.table_schema = current_schema() AND c.table_name <> $1 AND NOT EXISTS ("
            "SELECT 1 FROM information_schema.key_column_usage k JOIN "
            "information_schema.table_constraints t USING (constraint_name, table_name) "
            "WHERE t.constraint_type = 'PRIMARY KEY' AND k.table_name = c.table_name "
            "AND k.column_name = c.column_name)", VERSION_TABLE)
    finally:
        await db.close()
    schema: dict[str, dict[str, bool]] = {}
    for row in rows:
        schema.setdefault(row["table_name"], {})[row["column_name"]] = row["is_nullable"] == "YES"
    return schema


async def test_schema_parity_between_sqlite_and_postgresql(tmp_path: Path, postgres) -> None:
    """Every SQLite migration has its PostgreSQL counterpart, and after all of them both
    databases have the same tables with the same columns, nullable alike. A migration added
    to ``schema.MIGRATIONS`` alone fails here: add its twin to ``schema_postgres``."""
    assert len(POSTGRES_MIGRATIONS) == len(MIGRATIONS)
    url = postgres.new_database()
    await (await SqliteStateStore.open(tmp_path / "p.db")).close()
    await (await open_store(url)).close()
    lite, pg = sqlite_schema(tmp_path / "p.db"), await postgres_schema(url)
    assert sorted(pg) == sorted(lite)
    for table in lite:
        assert pg[table] == lite[table], table
    for version in range(1, len(MIGRATIONS) + 1):  # and version by version, the same tables
        url = postgres.new_database()
        with sqlite3.connect(tmp_path / f"v{version}.db") as lite_db:
            lite_db.create_function("token_digest", 1, token_digest)
            for script in MIGRATIONS[:version]:
                lite_db.executescript(script)
        db = await asyncpg.connect(url)
        try:
            async with db.transaction():
                for script in POSTGRES_MIGRATIONS[:version]:
                    await db.execute(script)
        finally:
            await db.close()
        lite, pg = sqlite_schema(tmp_path / f"v{version}.db"), await postgres_schema(url)
        assert {t: sorted(c) for t, c in pg.items()} == {t: sorted(c) for t, c in lite.items()}


async def test_nodes_starting_together_migrate_once(postgres) -> None:
    """Four stores open one new database at once: the advisory lock lets one migrate, the
    others find the schema done; a database newer than this mmsc is refused."""
    url = postgres.new_database()
    stores = await asyncio.gather(*(open_store(url) for _ in range(4)))
    for store in stores:
        await store.close()
    assert postgres.sql(f"SELECT version FROM {VERSION_TABLE}", url.rsplit("/", 1)[1]) == \
        str(len(POSTGRES_MIGRATIONS))
    postgres.sql(f"UPDATE {VERSION_TABLE} SET version = version + 1", url.rsplit("/", 1)[1])
    with pytest.raises(StateError, match="upgrade mmsc"):
        await open_store(url)


async def test_one_transaction_id_across_nodes(postgres) -> None:
    """The same VASP TransactionID submitted to three nodes at once: one message accepted,
    every other attempt names it (TS 23.140 §8.7), nothing else is left."""
    url = postgres.new_database()
    nodes = [await open_store(url) for _ in range(3)]
    try:
        results = await asyncio.gather(*(
            nodes[i % 3].accept_message(message(f"n{i}", transaction_id="same"),
                                        [recipient("+1", f"n{i}")]) for i in range(12)),
            return_exceptions=True)
        accepted = [i for i, r in enumerate(results) if isinstance(r, list)]
        assert len(accepted) == 1
        first = f"n{accepted[0]}"
        assert all(isinstance(r, DuplicateMessage) and r.message_id == first
                   for i, r in enumerate(results) if i not in accepted)
        assert await nodes[1].list_message_ids() == [first]
    finally:
        for node in nodes:
            await node.close()


async def test_concurrent_transitions_move_a_row_once(postgres) -> None:
    """Two nodes race to move one recipient: exactly one move, and each later move reports
    the state the row really left."""
    url = postgres.new_database()
    a, b = await open_store(url), await open_store(url)
    try:
        (row,) = await a.accept_message(message(), [recipient("+1")])
        moves = await asyncio.gather(*(
            (a if i % 2 else b).transition(row.id, expected=[S.ACCEPTED], to=S.NOTIFIED,
                                           now=1200.0 + i) for i in range(20)))
        assert len([m for m in moves if m is not None]) == 1
        chain = await asyncio.gather(*(
            (a if i % 2 else b).transition(row.id, expected=[S.NOTIFIED, S.RETRIEVED],
                                           to=S.RETRIEVED if i % 2 else S.NOTIFIED,
                                           now=1300.0 + i) for i in range(20)))
        assert all(m is not None for m in chain)
        order = {e.at: e.id for e in await a.events_of("m1") if e.recipient_id == row.id}
        assert len(order) == 22  # accepted, notified, and the twenty
        chain.sort(key=lambda m: order[m.record.updated_at])  # the order they really ran in
        left = S.NOTIFIED
        for move in chain:  # each one left the state the one before it set
            assert move.before == left
            left = move.record.state
    finally:
        await a.close()
        await b.close()


async def test_text_postgresql_cannot_hold_is_kept_replaced(store: StateStore) -> None:
    """A subject with a NUL and octets kept as surrogate escapes is stored (as U+FFFD on
    PostgreSQL, which refuses both), and a lookup by such text finds the row."""
    odd = "a\x00b\udce9c"
    await store.accept_message(message(subject=odd, transaction_id=odd), [recipient("+1")])
    stored = await store.get_message("m1")
    assert stored is not None and stored.subject is not None and stored.subject.startswith("a")
    with pytest.raises(DuplicateMessage):
        await store.accept_message(message("m2", transaction_id=odd), [recipient("+1", "m2")])


async def test_a_write_on_one_node_wakes_the_others(postgres) -> None:
    """LISTEN/NOTIFY: node b hears that node a accepted a due message, and that it owes a
    report; node a is not woken by its own announcements (its engine knows)."""
    url = postgres.new_database()
    a, b = await open_store(url), await open_store(url)
    heard = {a: [], b: []}
    for store, calls in heard.items():
        store.on_due(lambda calls=calls: calls.append(1))

    async def woken(store: StateStore, times: int) -> None:
        for _ in range(500):
            if len(heard[store]) >= times:
                return
            await asyncio.sleep(0.01)
        raise AssertionError("not woken")

    try:
        for store in (a, b):  # listening: each says so once, for what it missed
            await woken(store, 1)
        await a.accept_message(message(earliest_delivery_at=None), [recipient("+1", due=900.0)])
        await woken(b, 2)
        await b.queue_report("m1", None, "read", "Read", now=1001.0)
        await woken(a, 2)
        before = len(heard[a])
        a._heard(None, 0, "mmsc_due", a._id)  # what a's own NOTIFY brings a: nothing to do
        assert len(heard[a]) == before
    finally:
        await a.close()
        await b.close()


async def test_unreachable_database_is_refused_in_bounded_time() -> None:
    """Nothing listens: after connect_timeout, StateUnavailable names the URL without its
    password."""
    from helpers.s3servers import free_port
    url = f"postgresql://mmsc:s3cret@127.0.0.1:{free_port()}/mmsc"
    with pytest.raises(StateUnavailable) as refused:
        await open_store(url, connect_timeout=0.5)
    text = str(refused.value)
    assert "s3cret" not in text and "postgresql://mmsc@127.0.0.1:" in text and "\n" not in text


async def test_the_database_going_away_and_back() -> None:
    """A server stopped under a running store: every call fails with StateUnavailable ("try
    later"), none hangs; started again, the same store works without being reopened."""
    from helpers.pg_cluster import Cluster
    cluster = Cluster().start()
    try:
        url = cluster.new_database()
        store = await open_store(url)
        try:
            await store.accept_message(message(), [recipient("+1")])
            cluster.stop("fast")
            for call in (store.get_message("m1"), store.claim_due(now=2000.0, owner="a",
                                                                  limit=5, lease=1.0),
                         store.accept_message(message("m2", transaction_id=None),
                                              [recipient("+1", "m2")])):
                with pytest.raises(StateUnavailable):
                    await asyncio.wait_for(call, 20)
            cluster.restart()
            assert (await store.get_message("m1")) == message()
            assert [r.address for r in await store.claim_due(now=2000.0, owner="a", limit=5,
                                                             lease=1.0)] == ["+1"]
        finally:
            await store.close()
    finally:
        cluster.close()


async def test_repeated_fetches_add_up_per_recipient(store: StateStore) -> None:
    """Counts flushed in batches add up; the last time is the latest of them, whatever the
    order the batches came in."""
    rows = await store.accept_message(message(), [recipient("+1"), recipient("+2")], {})
    await store.add_refetches({})
    assert await store.refetches("m1") == {}
    await store.add_refetches({rows[0].id: (3, 1500.0)})
    await store.add_refetches({rows[0].id: (2, 1400.0), rows[1].id: (1, 1450.0)})
    assert await store.refetches("m1") == {rows[0].id: (5, 1500.0), rows[1].id: (1, 1450.0)}
    await store.accept_message(message("m2"), [recipient("+1", "m2")], {})
    assert await store.refetches("m2") == {}
