"""The recipient state machine of ARCHITECTURE.md, one rule at a time: each transition's
state, event kind and detail, timer, return value and report, so that a changed comparison,
kind or argument in the engine's steps (the mutants of ``make mutation``'s state-machine
module, see docs/testing.md) fails a test.

A real server on loopback (state in SQLite, the SMSC emulator over SMPP) with its scheduler
loop stopped and the engine's clock held by the test (``test_boundaries.hold_time``); the
steps are taken by calling the engine as the MM1 and MM7 handlers do. The numbers have no
emulated handset behind them, so nothing fetches or answers but the test.

The X-Mms-Status codes are written out from OMA-MMS-ENC 1.3 §7.3.54.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest

from mmsc.config import Config
from mmsc.ids import token_digest
from mmsc.message import Envelope, Message, MessagePart
from mmsc.server import Server
from mmsc.state import Event, Interface, RecipientRecord, RecipientState, ReportRecord
from wap_push.smpp import message_id_keys

from test_boundaries import NOBODY, NOBODY_2, Clock, hold_time
from test_loop import D, config, mandelbrot, picture, pushed_token, running

S = RecipientState
#: X-Mms-Status (OMA-MMS-ENC 1.3 §7.3.54).
EXPIRED, RETRIEVED, REJECTED, DEFERRED, UNRECOGNISED, INDETERMINATE = 128, 129, 130, 131, 132, 133
NOBODY_3 = "+33699999993"
BACKOFF = [60.0, 300.0, 1800.0]
FALLBACK_AFTER = 7200.0
DEFAULT_EXPIRY = 86400.0


def at(instant: float):  # type: ignore[no-untyped-def]
    """``instant`` to the microsecond (``pytest.approx``'s default relative tolerance
    would allow half an hour around a Unix time)."""
    return pytest.approx(instant, rel=0, abs=1e-6)


def settings(tmp_path: Path) -> Config:
    cfg = config(tmp_path)
    cfg.delivery.renotify_backoff = list(BACKOFF)
    cfg.delivery.fallback_after = FALLBACK_AFTER
    cfg.delivery.default_expiry = DEFAULT_EXPIRY
    return cfg


async def submit(server: Server, *numbers: str, report: bool = True,
                 originator: str = "+33611111111/TYPE=PLMN",
                 interface: Interface = Interface.MM1, vasp_id: str | None = None) -> str:
    message = picture()
    message.envelope.originator = originator
    message.envelope.delivery_report = report
    message.envelope.to = [f"{n}/TYPE=PLMN" for n in numbers]
    return (await server.engine.submit(message, interface, vasp_id=vasp_id)).message_id


async def only(server: Server, message_id: str) -> RecipientRecord:
    (r,) = await server.engine.state.recipients_of(message_id)
    return r


async def kinds(server: Server, message_id: str) -> list[str]:
    return [e.kind for e in await server.engine.state.events_of(message_id)]


async def event(server: Server, message_id: str, kind: str) -> Event:
    """The message's only event of ``kind``."""
    (found,) = [e for e in await server.engine.state.events_of(message_id) if e.kind == kind]
    return found


async def detail(server: Server, message_id: str, kind: str) -> dict:
    return (await event(server, message_id, kind)).detail


async def outbox(server: Server, clock: Clock) -> list[ReportRecord]:
    """The reports owed (taken off the outbox: the scheduler loop is stopped)."""
    return await server.engine.state.claim_reports(now=clock.now + 10 ** 7, limit=100,
                                                   lease=1.0)


async def notify(server: Server, clock: Clock, *numbers: str, **how: Any) -> str:
    """A message to ``numbers``, each notified once (attempt 1, at ``clock.now``)."""
    message_id = await submit(server, *numbers, **how)
    assert await server.engine.run_due() == len(numbers)
    for r in await server.engine.state.recipients_of(message_id):
        assert (r.state, r.attempts) == (S.NOTIFIED, 1)
    return message_id


# -- the scheduler's step -------------------------------------------------------------------------


async def test_each_renotification_waits_its_backoff_step_then_the_link(tmp_path: Path) -> None:
    """Attempt 1 at acceptance, the next after 60 s, then 300 s, then at exactly
    ``fallback_after`` after acceptance the link SMS instead of another notification."""
    cfg = settings(tmp_path)
    cfg.delivery.fallback_after = 60 + 300
    async with running(cfg) as server:
        clock = hold_time(server)
        start = clock.now
        message_id = await notify(server, clock, NOBODY)
        r = await only(server, message_id)
        assert r.next_attempt_at == at(start + 60)
        assert (await detail(server, message_id, "notified"))["attempt"] == 1
        clock.now = start + 60
        assert await server.engine.run_due() == 1
        r = await only(server, message_id)
        assert (r.state, r.attempts) == (S.NOTIFIED, 2)
        assert r.next_attempt_at == at(start + 60 + 300)
        clock.now = start + 60 + 300 - 0.001
        assert await server.engine.run_due() == 0
        clock.now = start + 60 + 300
        assert await server.engine.run_due() == 1
        r = await only(server, message_id)
        assert (r.state, r.attempts) == (S.FALLBACK_SENT, 2)
        assert r.next_attempt_at == at(start + DEFAULT_EXPIRY)
        assert (await kinds(server, message_id)).count("notified") == 2


async def test_a_notified_recipient_before_fallback_after_is_notified_again(
        tmp_path: Path) -> None:
    """Before ``fallback_after`` a due notified recipient gets a notification, not the link:
    so fallback is measured from the message's acceptance, not added to it."""
    async with running(settings(tmp_path)) as server:
        clock = hold_time(server)
        message_id = await notify(server, clock, NOBODY)
        clock.now += 60
        assert await server.engine.run_due() == 1
        r = await only(server, message_id)
        assert (r.state, r.attempts, r.viewer_token) == (S.NOTIFIED, 2, None)


async def test_a_deferred_recipient_expires_at_the_expiry_and_not_before(tmp_path: Path) -> None:
    """A deferred recipient's timer is the expiry (here the default: acceptance plus
    ``default_expiry``): not due a millisecond before it; at it, ``expired`` with the
    delivery report Expired owed to the handset originator (a phone number: the outbox)."""
    async with running(settings(tmp_path)) as server:
        clock = hold_time(server)
        start = clock.now
        message_id = await notify(server, clock, NOBODY)
        r = await only(server, message_id)
        assert await server.engine.notify_response(r.transaction_id, DEFERRED) is True
        r = await only(server, message_id)
        assert r.state == S.DEFERRED and r.next_attempt_at == at(
            start + DEFAULT_EXPIRY)
        message = await server.engine.state.get_message(message_id)
        assert server.engine.expiry(message) == at(start + DEFAULT_EXPIRY)
        clock.now = start + DEFAULT_EXPIRY - 0.001
        assert await server.engine.run_due() == 0
        clock.now = start + DEFAULT_EXPIRY
        assert await server.engine.run_due() == 1
        r = await only(server, message_id)
        assert (r.state, r.next_attempt_at) == (S.EXPIRED, None)
        assert (await kinds(server, message_id))[-1] == "expired"
        assert [(x.kind, x.status) for x in await outbox(server, clock)] == [
            ("delivery", "Expired")]


async def test_a_recipient_due_early_in_a_waiting_state_is_put_back_on_the_expiry(
        tmp_path: Path) -> None:
    """A deferred recipient made due before the expiry (a timer another version left, a
    lapsed claim) is not notified: its timer is set back to the expiry, event ``timer``."""
    async with running(settings(tmp_path)) as server:
        clock = hold_time(server)
        start = clock.now
        message_id = await notify(server, clock, NOBODY)
        r = await only(server, message_id)
        await server.engine.notify_response(r.transaction_id, DEFERRED)
        clock.now += 10
        await server.engine.state.transition(r.id, expected=(S.DEFERRED,), to=S.DEFERRED,
                                             now=clock.now, kind="test",
                                             next_attempt_at=clock.now)
        assert await server.engine.run_due() == 1
        r = await only(server, message_id)
        assert (r.state, r.attempts) == (S.DEFERRED, 1)
        assert r.next_attempt_at == at(start + DEFAULT_EXPIRY)
        assert (await kinds(server, message_id))[-1] == "timer"


async def texts_to(server: Server, number: str) -> list[str]:
    """The text SMS (no ports) the SMSC emulator received for ``number`` (it records them
    on its own task: 2 s at most)."""
    for _ in range(200):
        texts = [sms.text or "" for sms in server.smsc.received
                 if sms.destination.lstrip("+") == number.lstrip("+") and not sms.ports]
        if texts:
            return texts
        await asyncio.sleep(0.01)
    return []


@pytest.mark.parametrize("pin", [False, True])
async def test_a_legacy_phone_gets_the_link_at_once(tmp_path: Path, pin: bool) -> None:
    """A phone without MMS: its first step is the link SMS (``fallback-sent``, event
    detail with the SMSC ids and whether a PIN goes with it), saying who sent what, the
    link, and its PIN when ``[viewer] pin`` asks for one; the link valid until ``link_ttl``
    or the expiry, whichever is first; its timer is then the expiry."""
    cfg = settings(tmp_path)
    cfg.viewer.link_ttl = 3600
    cfg.viewer.pin = pin
    async with running(cfg) as server:
        clock = hold_time(server)
        start = clock.now
        server.smsc.receipt_delay = 600  # no receipt takes the SMS's ids before the test does
        message_id = await submit(server, D)
        assert await server.engine.run_due() == 1
        r = await only(server, message_id)
        assert (r.state, r.attempts) == (S.FALLBACK_SENT, 0)
        assert r.viewer_token is not None and (r.viewer_pin is not None) == pin
        assert r.viewer_expires_at == at(start + 3600)
        assert r.next_attempt_at == at(start + DEFAULT_EXPIRY)
        sent = await detail(server, message_id, "fallback-sent")
        assert sent["pin"] is pin and len(sent["smsc_ids"]) >= 1
        assert "notified" not in await kinds(server, message_id)
        (text,) = await texts_to(server, D)
        found = re.fullmatch(r'MMS from \+33611111111 "Beach"\. View it at (\S+)/v/(\S+)'
                             + (r" code (\d{6})" if pin else ""), text)
        assert found is not None, text
        assert found.group(1) == server.url
        assert token_digest(found.group(2)) == r.viewer_token
        # its SMSC ids kept, to match the link SMS's delivery receipts with this recipient
        taken = await server.engine.state.take_smsc_id(message_id_keys(sent["smsc_ids"][0]),
                                                       whole_sms=True)
        assert taken is not None
        assert (taken[0].recipient_id, taken[0].kind) == (r.id, "link")
        assert taken[0].expires_at == at(start + DEFAULT_EXPIRY)


async def test_a_link_sms_the_smsc_refuses_is_tried_again_after_the_backoff(
        tmp_path: Path) -> None:
    """The SMSC refuses the link SMS (ESME_RSUBMITFAIL, worth a retry): the recipient stays
    where it was, no attempt spent, event ``link-failed`` with why, due again after the
    back-off step of its next attempt (the first: 60 s)."""
    async with running(settings(tmp_path)) as server:
        clock = hold_time(server)
        server.smsc.reject_rate = 1.0
        message_id = await submit(server, D)
        assert await server.engine.run_due() == 1
        r = await only(server, message_id)
        assert (r.state, r.attempts, r.viewer_token) == (S.ACCEPTED, 0, None)
        assert r.next_attempt_at == at(clock.now + 60)
        assert "RSUBMITFAIL" in (await detail(server, message_id, "link-failed"))["why"]
        server.smsc.reject_rate = 0.0
        clock.now += 60
        assert await server.engine.run_due() == 1
        assert (await only(server, message_id)).state == S.FALLBACK_SENT


async def test_a_link_sms_whose_content_cannot_be_checked_is_tried_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The object store cannot answer whether the content is there (an error that is no
    SMPP refusal, so it has no retry decision of its own): the link SMS is not sent,
    event ``link-failed`` with why, tried again after the back-off step."""
    async with running(settings(tmp_path)) as server:
        clock = hold_time(server)
        message_id = await submit(server, D)

        async def unavailable(key: str) -> str | None:
            raise OSError("object store unavailable")

        monkeypatch.setattr(server.engine.objects, "version", unavailable)
        assert await server.engine.run_due() == 1
        r = await only(server, message_id)
        assert (r.state, r.attempts, r.viewer_token) == (S.ACCEPTED, 0, None)
        assert r.next_attempt_at == at(clock.now + 60)
        assert await detail(server, message_id, "link-failed") == {
            "why": "object store unavailable"}
        assert not [sms for sms in server.smsc.received if not sms.ports]


async def test_a_link_sms_without_an_smsc_link_is_parked(tmp_path: Path) -> None:
    """No SMSC bound: the link SMS is parked (event ``link-parked``, why "no SMSC link"),
    no attempt spent, due again after PARKED_RETRY (60 s) at most."""
    cfg = settings(tmp_path)
    cfg.smsc.reconnect_max = 30
    async with running(cfg) as server:
        clock = hold_time(server)
        message_id = await submit(server, D)
        await server.smsc.close()
        for _ in range(200):
            if not server.smpp.connected:
                break
            await asyncio.sleep(0.02)
        assert not server.smpp.connected
        assert await server.engine.run_due() == 1
        r = await only(server, message_id)
        assert (r.state, r.attempts, r.viewer_token) == (S.ACCEPTED, 0, None)
        assert r.next_attempt_at == at(clock.now + 60)
        assert await detail(server, message_id, "link-parked") == {"why": "no SMSC link"}
        assert "fallback-sent" not in await kinds(server, message_id)


async def test_a_link_sms_lost_with_the_link_is_parked(tmp_path: Path) -> None:
    """The SMSC cuts the link while the link SMS is in flight (its ``drop_after`` fault):
    the SMS never reached it, so the recipient is parked (event ``link-parked`` with why),
    not failed: no attempt spent, due again after PARKED_RETRY (60 s) at most."""
    async with running(settings(tmp_path)) as server:
        clock = hold_time(server)
        message_id = await submit(server, D)
        (session,) = server.smsc._sessions
        server.smsc.drop_after = session.pdus  # the next PDU, the submit_sm, cuts the link
        assert await server.engine.run_due() == 1
        r = await only(server, message_id)
        assert (r.state, r.attempts, r.viewer_token) == (S.ACCEPTED, 0, None)
        assert r.next_attempt_at == at(clock.now + 60)
        why = (await detail(server, message_id, "link-parked"))["why"]
        assert why != "no SMSC link" and "link" in why, why  # lost in flight, not unbound
        assert "link-failed" not in await kinds(server, message_id)


# -- what the handset says: M-NotifyResp.ind, M-Acknowledge.ind -----------------------------------


async def test_notifyresp_retrieved_acknowledges_and_owes_the_report(tmp_path: Path) -> None:
    """X-Mms-Status Retrieved (129): ``acknowledged``, timer cleared, the delivery report
    Retrieved in the outbox (the originator is a phone number), and the loop woken."""
    async with running(settings(tmp_path)) as server:
        clock = hold_time(server)
        message_id = await notify(server, clock, NOBODY)
        r = await only(server, message_id)
        server.engine.wake.clear()
        assert await server.engine.notify_response(r.transaction_id, RETRIEVED) is True
        assert server.engine.wake.is_set()
        r = await only(server, message_id)
        assert (r.state, r.next_attempt_at) == (S.ACKNOWLEDGED, None)
        assert (await kinds(server, message_id))[-1] == "acknowledged"
        assert [(x.kind, x.status) for x in await outbox(server, clock)] == [
            ("delivery", "Retrieved")]
        # an answer after the final state changes nothing: no second event, no second report
        for status in (RETRIEVED, REJECTED):
            assert await server.engine.notify_response(r.transaction_id, status) is True
        assert await only(server, message_id) == r
        assert (await kinds(server, message_id)).count("acknowledged") == 1
        assert await outbox(server, clock) == []


@pytest.mark.parametrize(("status", "kind"), [(REJECTED, "rejected"),
                                              (UNRECOGNISED, "unrecognised")])
async def test_notifyresp_rejected_or_unrecognised_rejects(tmp_path: Path, status: int,
                                                           kind: str) -> None:
    """Rejected (130) and Unrecognised (132) end the delivery ``rejected``; the event says
    which; the report owed says Rejected."""
    async with running(settings(tmp_path)) as server:
        clock = hold_time(server)
        message_id = await notify(server, clock, NOBODY)
        r = await only(server, message_id)
        assert await server.engine.notify_response(r.transaction_id, status) is True
        r = await only(server, message_id)
        assert (r.state, r.next_attempt_at) == (S.REJECTED, None)
        assert await detail(server, message_id, kind) == {"status": kind}
        assert [(x.kind, x.status) for x in await outbox(server, clock)] == [
            ("delivery", "Rejected")]


async def test_notifyresp_of_another_status_is_only_written_down(tmp_path: Path) -> None:
    """Indeterminate (133) says nothing about the delivery: event ``notifyresp`` with the
    code, the recipient and its timer unchanged."""
    async with running(settings(tmp_path)) as server:
        clock = hold_time(server)
        message_id = await notify(server, clock, NOBODY)
        before = await only(server, message_id)
        assert await server.engine.notify_response(before.transaction_id, INDETERMINATE) is True
        r = await only(server, message_id)
        assert (r.state, r.next_attempt_at) == (S.NOTIFIED, before.next_attempt_at)
        said = await event(server, message_id, "notifyresp")
        assert (said.detail, said.recipient_id) == ({"status": 133}, r.id)


async def test_notifyresp_deferred_after_the_link_changes_nothing(tmp_path: Path) -> None:
    """Deferred (131) from a recipient that was sent the link already: it stays
    ``fallback-sent`` (its timer, the expiry, unchanged); the answer is still taken."""
    cfg = settings(tmp_path)
    cfg.delivery.fallback_after = 60
    async with running(cfg) as server:
        clock = hold_time(server)
        message_id = await notify(server, clock, NOBODY)
        clock.now += 60
        assert await server.engine.run_due() == 1
        r = await only(server, message_id)
        assert r.state == S.FALLBACK_SENT
        assert await server.engine.notify_response(r.transaction_id, DEFERRED) is True
        assert await only(server, message_id) == r
        assert "deferred" not in await kinds(server, message_id)


async def test_answers_for_unknown_or_gone_transactions_are_refused(tmp_path: Path) -> None:
    """An M-NotifyResp.ind or M-Acknowledge.ind naming no transaction we made, one named by
    another number than the recipient's, or one of a message deleted since: False."""
    async with running(settings(tmp_path)) as server:
        clock = hold_time(server)
        message_id = await notify(server, clock, NOBODY)
        r = await only(server, message_id)
        unknown = "A" * len(r.transaction_id)
        assert await server.engine.notify_response(unknown, RETRIEVED) is False
        assert await server.engine.acknowledge(unknown) is False
        assert await server.engine.notify_response(r.transaction_id, RETRIEVED,
                                                   caller=NOBODY_2) is False
        assert await server.engine.acknowledge(r.transaction_id, caller=NOBODY_2) is False
        assert (await only(server, message_id)).state == S.NOTIFIED
        await server.engine.state.delete_message(message_id)
        assert await server.engine.notify_response(r.transaction_id, RETRIEVED) is False
        assert await server.engine.acknowledge(r.transaction_id) is False


async def test_acknowledge_ends_a_deferred_retrieval(tmp_path: Path) -> None:
    """M-Acknowledge.ind after a deferred retrieval: ``acknowledged``, True, and the report
    Retrieved; a second one changes nothing (and is still True)."""
    async with running(settings(tmp_path)) as server:
        clock = hold_time(server)
        message_id = await notify(server, clock, NOBODY)
        r = await only(server, message_id)
        await server.engine.notify_response(r.transaction_id, DEFERRED)
        assert await server.engine.acknowledge(r.transaction_id) is True
        r = await only(server, message_id)
        assert (r.state, r.next_attempt_at) == (S.ACKNOWLEDGED, None)
        assert (await kinds(server, message_id))[-2:] == ["deferred", "acknowledged"]
        assert [(x.kind, x.status) for x in await outbox(server, clock)] == [
            ("delivery", "Retrieved")]
        assert await server.engine.acknowledge(r.transaction_id) is True
        assert (await kinds(server, message_id)).count("acknowledged") == 1


# -- the reports a final state owes ---------------------------------------------------------------


async def test_a_report_no_one_can_receive_is_written_down(tmp_path: Path) -> None:
    """An originator that is no phone number (an e-mail address) asked for a delivery
    report: no outbox row; event ``report-undeliverable`` with the status it would have
    said. Without a report asked for: neither."""
    async with running(settings(tmp_path)) as server:
        clock = hold_time(server)
        asked = await notify(server, clock, NOBODY, originator="someone@example.com")
        not_asked = await notify(server, clock, NOBODY_2, report=False)
        for message_id in (asked, not_asked):
            r = await only(server, message_id)
            assert await server.engine.notify_response(r.transaction_id, RETRIEVED) is True
            assert (await only(server, message_id)).state == S.ACKNOWLEDGED
        said = await event(server, asked, "report-undeliverable")
        assert said.detail == {"status": "Retrieved"}
        assert said.recipient_id == (await only(server, asked)).id
        assert "report-undeliverable" not in await kinds(server, not_asked)
        assert await outbox(server, clock) == []


async def test_a_vasp_message_owes_its_report_through_the_outbox(tmp_path: Path) -> None:
    """A message from a VASP (MM7) whose originator is a short code, not a number: the
    DeliveryReportReq is owed through the outbox all the same."""
    async with running(settings(tmp_path)) as server:
        clock = hold_time(server)
        message_id = await notify(server, clock, NOBODY, originator="12345",
                                  interface=Interface.MM7, vasp_id="vasp-1")
        r = await only(server, message_id)
        await server.engine.notify_response(r.transaction_id, REJECTED)
        assert [(x.kind, x.status) for x in await outbox(server, clock)] == [
            ("delivery", "Rejected")]
        assert "report-undeliverable" not in await kinds(server, message_id)


# -- retrieval ------------------------------------------------------------------------------------


async def test_a_fetch_moves_to_retrieved_with_the_backoff_of_the_attempts_made(
        tmp_path: Path) -> None:
    """The first fetch: ``retrieved`` (event ``fetched`` with the device profile, the
    User-Agent and the size served), due again after the back-off step of the attempts
    made (two notifications: 300 s), waiting for the M-Acknowledge.ind. A fetch by a
    recipient that has its copy (``retrieved``, then ``acknowledged``) leaves the state, the
    timer and the timeline alone: it is counted, with its time, and the counts reach the
    store at the next flush (issue 19: a phone in a retry loop must not grow the timeline)."""
    async with running(settings(tmp_path)) as server:
        clock = hold_time(server)
        message_id = await notify(server, clock, NOBODY)
        clock.now += 60
        assert await server.engine.run_due() == 1
        token = pushed_token(server, NOBODY)
        clock.now += 5
        got = await server.engine.fetch(token, {"User-Agent": "Test/1.0"})
        assert got is not None
        r, message, content = got
        assert r.id == (await only(server, message_id)).id and message.id == message_id
        r = await only(server, message_id)
        assert (r.state, r.attempts) == (S.RETRIEVED, 2)
        assert r.next_attempt_at == at(clock.now + 300)
        seen = await detail(server, message_id, "fetched")
        assert seen["user_agent"] == "Test/1.0" and seen["octets"] == content.size
        assert seen["profile"]
        timeline = await server.engine.state.events_of(message_id)
        clock.now += 1  # fetched again before the M-Acknowledge.ind: nothing moves
        assert await server.engine.fetch(token) is not None
        assert await only(server, message_id) == r
        assert await server.engine.state.events_of(message_id) == timeline
        assert server.engine._refetched == {r.id: (1, at(clock.now))}
        assert await server.engine.acknowledge(r.transaction_id) is True
        r = await only(server, message_id)
        timeline = await server.engine.state.events_of(message_id)
        clock.now += 1  # after it: the same
        assert await server.engine.fetch(token, {"User-Agent": "X" * 300}) is not None
        assert await server.engine.fetch(token) is not None  # no User-Agent at all
        assert await only(server, message_id) == r
        assert await server.engine.state.events_of(message_id) == timeline
        await server.engine.flush_refetches()
        assert server.engine._refetched == {}
        assert await server.engine.state.refetches(message_id) == {r.id: (3, at(clock.now))}


async def test_a_fetch_before_any_attempt_waits_the_first_step(tmp_path: Path) -> None:
    """A recipient fetched with no attempt counted (attempts 0, as after a restart between
    push and answer) waits the first back-off step, 60 s."""
    async with running(settings(tmp_path)) as server:
        clock = hold_time(server)
        message_id = await notify(server, clock, NOBODY)
        r = await only(server, message_id)
        token = pushed_token(server, NOBODY)
        await server.engine.state.transition(r.id, expected=(S.NOTIFIED,), to=S.NOTIFIED,
                                             now=clock.now, kind="test", attempts=0)
        assert await server.engine.fetch(token) is not None
        r = await only(server, message_id)
        assert r.state == S.RETRIEVED and r.next_attempt_at == at(clock.now + 60)


async def test_no_fetch_for_unknown_tokens_other_callers_or_final_states(
        tmp_path: Path) -> None:
    """None for a token never issued, for a caller (the number a trusted proxy names) that
    is not the recipient, and for a recipient that rejected the message."""
    async with running(settings(tmp_path)) as server:
        clock = hold_time(server)
        message_id = await notify(server, clock, NOBODY)
        token = pushed_token(server, NOBODY)
        assert await server.engine.fetch("B" * len(token)) is None
        assert await server.engine.fetch(token, caller=NOBODY_2) is None
        assert (await only(server, message_id)).state == S.NOTIFIED
        r = await only(server, message_id)
        await server.engine.notify_response(r.transaction_id, REJECTED)
        assert await server.engine.fetch(token) is None
        assert (await kinds(server, message_id))[-1] == "rejected"


# -- cancel (MM7 CancelReq, the operator's cancel) ------------------------------------------------


async def test_cancel_stops_the_recipients_not_yet_served_and_counts_them(
        tmp_path: Path) -> None:
    """Three recipients, one of them acknowledged: cancel stops the other two (``rejected``,
    event ``cancelled``, timer cleared, no report) and says 2; again, 0. Another VASP's
    cancel, or one of an unknown message: None."""
    async with running(settings(tmp_path)) as server:
        clock = hold_time(server)
        message_id = await notify(server, clock, NOBODY, NOBODY_2, NOBODY_3,
                                  originator="12345", interface=Interface.MM7,
                                  vasp_id="vasp-1")
        first = (await server.engine.state.recipients_of(message_id))[0]
        await server.engine.notify_response(first.transaction_id, RETRIEVED)
        await outbox(server, clock)  # the report of the first, taken away
        assert await server.engine.cancel(message_id, "vasp-2") is None
        assert await server.engine.cancel("no-such-message", "vasp-1") is None
        assert await server.engine.cancel(message_id, "vasp-1") == 2
        states = {r.address: (r.state, r.next_attempt_at)
                  for r in await server.engine.state.recipients_of(message_id)}
        assert sorted(states.values(), key=str) == sorted(
            [(S.ACKNOWLEDGED, None), (S.REJECTED, None), (S.REJECTED, None)], key=str)
        assert (await kinds(server, message_id)).count("cancelled") == 2
        assert await outbox(server, clock) == []
        assert await server.engine.cancel(message_id, "vasp-1") == 0


async def test_the_operator_cancels_any_message(tmp_path: Path) -> None:
    """The operator's cancel (no VASP) reaches a VASP's message and a handset's alike; an
    unknown message is None."""
    async with running(settings(tmp_path)) as server:
        clock = hold_time(server)
        from_vasp = await notify(server, clock, NOBODY, originator="12345",
                                 interface=Interface.MM7, vasp_id="vasp-1")
        from_handset = await notify(server, clock, NOBODY_2)
        assert await server.engine.cancel(from_vasp, None) == 1
        assert await server.engine.cancel(from_handset, None) == 1
        assert await server.engine.cancel("no-such-message", None) is None
        for message_id in (from_vasp, from_handset):
            assert (await only(server, message_id)).state == S.REJECTED


async def test_an_email_recipient_without_a_smarthost_is_unreachable(tmp_path: Path) -> None:
    """An e-mail recipient and no ``[mm3]`` smarthost configured: its first step ends it
    ``unreachable``, saying what to configure, with the report Unreachable owed; it is
    neither notified nor sent a link."""
    async with running(settings(tmp_path)) as server:
        clock = hold_time(server)
        assert server.engine.mailer is None
        message = picture()
        message.envelope.to = ["someone@example.com"]
        message_id = (await server.engine.submit(message, Interface.MM1)).message_id
        assert await server.engine.run_due() == 1
        r = await only(server, message_id)
        assert (r.state, r.attempts, r.viewer_token) == (S.UNREACHABLE, 0, None)
        assert await detail(server, message_id, "unreachable") == {
            "why": "no email route: configure [mm3] smarthost"}
        assert [(x.kind, x.status) for x in await outbox(server, clock)] == [
            ("delivery", "Unreachable")]


async def test_a_peer_operators_number_without_mm4_is_unreachable_with_its_report(
        tmp_path: Path) -> None:
    """A number outside ``[routing] local_prefixes`` goes to another operator's MMSC (MM4);
    with no ``[mm4]`` peer configured its first step ends it ``unreachable`` and, not being
    a forward, it owes its report (Unreachable) at once."""
    cfg = settings(tmp_path)
    cfg.routing.local_prefixes = ["+336"]
    async with running(cfg) as server:
        clock = hold_time(server)
        message_id = await submit(server, "+447700900123")
        assert await server.engine.run_due() == 1
        r = await only(server, message_id)
        assert (r.route.value, r.state) == ("mm4", S.UNREACHABLE)
        assert await detail(server, message_id, "unreachable") == {
            "why": "no mm4 route: configure [mm4] and [[peer]]"}
        assert [(x.kind, x.status) for x in await outbox(server, clock)] == [
            ("delivery", "Unreachable")]


async def test_an_adaptation_on_fetch_is_written_down_for_the_recipient(tmp_path: Path) -> None:
    """A MIDP-1.0 phone fetches a large picture: the adaptation made for it is an event
    ``adapted`` of that recipient, naming the device class (basic-2005)."""
    async with running(settings(tmp_path)) as server:
        hold_time(server)
        message = Message(Envelope(originator="+33611111111/TYPE=PLMN",
                                   to=[f"{NOBODY}/TYPE=PLMN"]),
                          [MessagePart("image/png", mandelbrot((800, 600), 40),
                                       content_id="p")])
        message_id = (await server.engine.submit(message, Interface.MM1)).message_id
        assert await server.engine.run_due() == 1
        assert await server.engine.fetch(pushed_token(server, NOBODY), {
            "User-Agent": "Nokia3510i/1.0 (05.30) Profile/MIDP-1.0 Configuration/CLDC-1.0"})
        adapted = await event(server, message_id, "adapted")
        assert adapted.recipient_id == (await only(server, message_id)).id
        assert adapted.detail["profile"] == "basic-2005"


async def test_without_backoff_steps_a_notification_is_repeated_every_minute(
        tmp_path: Path) -> None:
    """``renotify_backoff = []``: the engine's fallback step, 60 s."""
    cfg = settings(tmp_path)
    cfg.delivery.renotify_backoff = []
    async with running(cfg) as server:
        clock = hold_time(server)
        message_id = await notify(server, clock, NOBODY)
        assert (await only(server, message_id)).next_attempt_at == at(clock.now + 60)


async def test_a_copy_forwarded_by_e_mail_owes_its_report_one_by_mm4_does_not_yet(
        tmp_path: Path) -> None:
    """A copy that ends ``forwarded`` owes the originator its report at once (Forwarded),
    unless it went over MM4: then the peer MMSC's delivery report says how it ends, and
    nothing is owed yet (TS 23.140 §8.4.2)."""
    cfg = settings(tmp_path)
    cfg.routing.local_prefixes = ["+336"]
    async with running(cfg) as server:
        clock = hold_time(server)
        message = picture()
        message.envelope.to = ["someone@example.com", "+447700900123/TYPE=PLMN"]
        message_id = (await server.engine.submit(message, Interface.MM1)).message_id
        stored = await server.engine.state.get_message(message_id)
        for r in await server.engine.state.recipients_of(message_id):
            await server.engine._finish(r, stored, S.FORWARDED, kind="forwarded")
        by_id = {r.id: r.route.value for r in await server.engine.state.recipients_of(
            message_id)}
        owed = [(by_id[x.recipient_id], x.kind, x.status) for x in await outbox(server, clock)]
    assert owed == [("email", "delivery", "Forwarded")]
