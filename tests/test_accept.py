"""Accepting a message durably: all or nothing, even when the process is killed mid-accept."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from mmsc.message import Envelope, Message, MessagePart
from mmsc.mime import from_mime
from mmsc.relay.accept import AcceptError, accept, recover
from mmsc.state import Interface, RecipientState, Route, StateUnavailable
from mmsc.state.location import open_store
from mmsc.store import FilesystemStore, message_key

CHILD = Path(__file__).resolve().parent / "helpers" / "accept_forever.py"


def message(*to: str, transaction_id: str | None = None) -> Message:
    return Message(Envelope(originator="+33600000001/TYPE=PLMN", to=list(to),
                            cc=["+33600000009/TYPE=PLMN", to[0]] if to else [],
                            subject="hello", expiry=timedelta(hours=2),
                            transaction_id=transaction_id),
                   [MessagePart.from_text("hi there", content_id="t")])


@pytest.fixture
async def stores(tmp_path: Path, state_url: str):
    state = await open_store(state_url)
    yield FilesystemStore(tmp_path / "objects"), state
    await state.close()


def route(address: str) -> Route:
    return Route.EMAIL if "@" in address else Route.MMS


async def test_accept_stores_the_original_then_the_rows(stores) -> None:
    objects, state = stores
    done = await accept(message("+33600000002/TYPE=PLMN", "bob@example.com"), objects=objects,
                        state=state, interface=Interface.MM1, route=route, now=1_800_000_000.0)
    stored = from_mime(await objects.get(message_key(done.message_id, "original.mime")))
    assert stored.envelope.message_id == done.message_id and stored.parts[0].data == b"hi there"
    row = await state.get_message(done.message_id)
    assert row is not None and row.expiry_at == 1_800_000_000.0 + 7200
    recipients = await state.recipients_of(done.message_id)
    assert [(r.address, r.kind, r.route, r.state) for r in recipients] == [
        ("+33600000002/TYPE=PLMN", "to", Route.MMS, RecipientState.ACCEPTED),
        ("bob@example.com", "to", Route.EMAIL, RecipientState.ACCEPTED),
        ("+33600000009/TYPE=PLMN", "cc", Route.MMS, RecipientState.ACCEPTED)]
    assert all(r.next_attempt_at == 1_800_000_000.0 for r in recipients)
    assert [e.kind for e in await state.events_of(done.message_id)].count("accepted") == 4


async def test_no_recipient_is_refused_and_leaves_nothing(stores) -> None:
    objects, state = stores
    with pytest.raises(AcceptError):
        await accept(message(), objects=objects, state=state, interface=Interface.MM1,
                     route=route, now=time.time())
    assert await objects.list("messages/") == [] and await state.list_message_ids() == []


async def test_a_failing_commit_leaves_no_object(stores, monkeypatch) -> None:
    objects, state = stores

    async def broken(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(state, "accept_message", broken)
    with pytest.raises(OSError):
        await accept(message("+33600000002/TYPE=PLMN"), objects=objects, state=state,
                     interface=Interface.MM1, route=route, now=time.time())
    assert await objects.list("messages/") == []


async def test_a_commit_cut_by_a_lost_database_keeps_the_object(stores, monkeypatch) -> None:
    """The database went away while the accept was committing: it may be committed, so the
    object stays (the sender is told to try later; recovery removes it if no row came)."""
    objects, state = stores

    async def cut(*args: object, **kwargs: object) -> None:
        raise StateUnavailable("state store went away", uncertain=True)

    monkeypatch.setattr(state, "accept_message", cut)
    with pytest.raises(StateUnavailable):
        await accept(message("+33600000002/TYPE=PLMN"), objects=objects, state=state,
                     interface=Interface.MM1, route=route, now=time.time())
    assert len(await objects.list("messages/")) == 1


async def test_same_vasp_transaction_gives_the_same_message(stores) -> None:
    objects, state = stores
    kwargs = dict(objects=objects, state=state, interface=Interface.MM7, route=route,
                  now=time.time(), vasp_id="acme")
    first = await accept(message("+33600000002/TYPE=PLMN", transaction_id="tx-1"), **kwargs)
    again = await accept(message("+33600000002/TYPE=PLMN", transaction_id="tx-1"), **kwargs)
    other = await accept(message("+33600000002/TYPE=PLMN", transaction_id="tx-2"), **kwargs)
    assert again.duplicate and again.message_id == first.message_id
    assert not other.duplicate and other.message_id != first.message_id
    assert len(await objects.list("messages/")) == 2


async def test_recover_removes_old_orphans_only(stores) -> None:
    objects, state = stores
    now = time.time()
    done = await accept(message("+33600000002/TYPE=PLMN"), objects=objects, state=state,
                        interface=Interface.MM1, route=route, now=now)
    old, young = "00000000000100000000000000000000", f"{int(now * 1000):012x}" + "ab" * 10
    for orphan in (old, young):
        await objects.put(message_key(orphan, "original.mime"), b"half")
    report = await recover(objects, state, now=now)
    assert report.orphans == (old,)
    assert await objects.exists(message_key(young, "original.mime"))
    assert await objects.exists(message_key(done.message_id, "original.mime"))


def _kill_after(process: subprocess.Popen, accepts: int, delay: float) -> list[str]:
    """SIGKILL ``process`` ``delay`` seconds after it reported ``accepts`` accepted messages
    (so a loaded machine still sees accepts in every round, and the kill lands at a random
    point of a later one); every id it reported."""
    assert process.stdout is not None
    ids = [process.stdout.readline().strip() for _ in range(accepts)]
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    out, _ = process.communicate(timeout=60)
    return [i for i in ids if i] + out.split()


async def test_killed_mid_accept_every_message_is_whole_or_absent(tmp_path: Path,
                                                                  state_url: str) -> None:
    """SIGKILL a process that accepts in a loop, at random moments, many times; after each
    restart and recovery every message is fully there (object, rows, events) or absent, and
    every id the child reported as accepted is there."""
    rng = random.Random(20261123)
    acknowledged: list[str] = []
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    orphans = 0
    verified: set[str] = set()
    for round_ in range(12):
        child = subprocess.Popen([sys.executable, str(CHILD), str(tmp_path), str(round_),
                                  state_url],
                                 stdout=subprocess.PIPE, text=True, env=env)
        acknowledged += _kill_after(child, rng.randrange(1, 4), rng.uniform(0.0, 0.08))
        assert child.returncode == -signal.SIGKILL
        objects = FilesystemStore(tmp_path / "objects")
        state = await open_store(state_url)
        try:
            orphans += len((await recover(objects, state, now=time.time() + 3600)).orphans)
            ids = set(await state.list_message_ids())
            assert set(acknowledged) <= ids
            on_disk = {key.split("/")[1] for key in await objects.list("messages/")}
            assert on_disk == ids
            for message_id in ids - verified:
                stored = from_mime(await objects.get(message_key(message_id, "original.mime")))
                assert stored.envelope.message_id == message_id
                recipients = await state.recipients_of(message_id)
                assert recipients and len(recipients) == len(set(stored.envelope.recipients))
                events = await state.events_of(message_id)
                assert len(events) == len(recipients) + 1
            assert not list((tmp_path / "objects").rglob(".tmp-*"))
            verified |= ids
        finally:
            await state.close()
    assert len(acknowledged) > 12
    print(f"{len(acknowledged)} acknowledged, {orphans} orphans removed")
