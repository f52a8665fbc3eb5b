"""Opt-out (issue 18.5) and sender limits (18.6): the keywords, the state store's opt-out
list on SQLite and PostgreSQL, the report's StatusText; end to end over SMPP further down."""

from __future__ import annotations

import pytest

from mmsc.state import (
    Interface, MessageRecord, OptOut, RecipientRecord, RecipientState, Route,
)
from mmsc.state.location import open_store

S = RecipientState


@pytest.fixture
async def store(state_url: str):  # type: ignore[no-untyped-def]
    s = await open_store(state_url)
    yield s
    await s.close()


async def test_optout_list_in_the_state_store(store) -> None:  # type: ignore[no-untyped-def]
    assert await store.add_optout(OptOut("acme", "+33600000001", 1000.0, "sms"))
    assert not await store.add_optout(OptOut("acme", "+33600000001", 2000.0, "operator"))
    assert await store.add_optout(OptOut("acme", "+33600000002", 1500.0, "operator"))
    assert await store.add_optout(OptOut("beta", "+33600000001", 1600.0, "mms"))
    assert await store.get_optout("acme", "+33600000001") == \
        OptOut("acme", "+33600000001", 1000.0, "sms")
    assert await store.get_optout("acme", "+33600000009") is None
    assert [(o.vasp_id, o.address) for o in await store.list_optouts()] == [
        ("acme", "+33600000001"), ("acme", "+33600000002"), ("beta", "+33600000001")]
    assert [o.address for o in await store.list_optouts("beta")] == ["+33600000001"]
    assert await store.remove_optout("acme", "+33600000001")
    assert not await store.remove_optout("acme", "+33600000001")
    assert await store.get_optout("acme", "+33600000001") is None


async def test_a_report_carries_its_status_text(store) -> None:  # type: ignore[no-untyped-def]
    record = MessageRecord(id="m1", interface=Interface.MM7, originator="36000",
                           object_key="messages/m1/original.mime", size=1, created_at=1000.0,
                           delivery_report=True, vasp_id="acme")
    [r] = await store.accept_message(record, [RecipientRecord(
        None, "m1", "+33600000001/TYPE=PLMN", "to", Route.MMS, S.ACCEPTED,
        next_attempt_at=1000.0, updated_at=1000.0)])
    assert await store.transition(r.id, expected=(S.ACCEPTED,), to=S.REJECTED, now=1001.0,
                                  report=("delivery", "Rejected", "opted out"))
    [report] = await store.claim_reports(now=1002.0, limit=5, lease=60.0)
    assert (report.status, report.status_text) == ("Rejected", "opted out")
