"""The web link: the SMS text (GSM 03.38, segments), what is stored of token and PIN, which
tokens open, and how PIN attempts are counted and lock."""

from __future__ import annotations

import re

import pytest

from mmsc.relay.links import (
    PIN_DIGITS, Links, PinCheck, new_link, pin_digest, session_value, token_digest,
)
from mmsc.relay.notices import link_text
from mmsc.state import RecipientState, Route, StateStore
from mmsc.state.location import open_store
from wap_push.sms import DCS_GSM7, DCS_UCS2, plan_text, split_text

from test_state import message, recipient

S = RecipientState
LINK = "http://mmsc.test/v/" + "A" * 22


def test_link_text_in_one_gsm_segment_with_pin() -> None:
    text = link_text(sender="+33600000001/TYPE=PLMN", subject="Été à Paris", link=LINK,
                     pin="042917")
    assert text == f'MMS from +33600000001 "Été à Paris". View it at {LINK} code 042917'
    plan = plan_text(text)
    assert (plan.data_coding, plan.segments) == (DCS_GSM7, 1)  # É, é, à are GSM 03.38


def test_a_long_subject_is_shortened_never_the_link() -> None:
    text = link_text(sender="+33600000001", subject="word " * 60, link=LINK, pin="123456")
    assert plan_text(text).segments == 1
    assert text.endswith(f'...". View it at {LINK} code 123456')
    assert len(text) > 140  # the subject keeps what the segment leaves


def test_a_subject_outside_gsm_costs_no_extra_segment() -> None:
    subject = "Привет из Москвы, как дела у тебя сегодня вечером?"
    text = link_text(sender="+33600000001", subject=subject, link=LINK)
    without = link_text(sender="+33600000001", subject=None, link=LINK)
    plan = plan_text(text)
    assert plan.data_coding == DCS_UCS2
    assert plan.segments == len(split_text(without, DCS_UCS2)) == 2
    assert LINK in text and "Привет" in text


def test_new_link_keeps_only_digests() -> None:
    link = new_link(now=100.0, ttl=50.0, message_expiry=1000.0, with_pin=True)
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", link.token)  # 128 random bits
    assert link.pin is not None and re.fullmatch(rf"\d{{{PIN_DIGITS}}}", link.pin)
    assert link.digest == token_digest(link.token) != link.token
    assert link.pin_digest == pin_digest(link.token, link.pin)
    assert link.pin not in link.pin_digest and link.expires_at == 150.0
    assert new_link(now=100.0, ttl=5000.0, message_expiry=1000.0,
                    with_pin=False).expires_at == 1000.0  # never beyond the message's expiry
    assert new_link(now=0, ttl=1, message_expiry=1, with_pin=False).pin is None


@pytest.fixture
async def store(state_url: str):
    s = await open_store(state_url)
    yield s
    await s.close()


async def _linked(store: StateStore, *, pin: bool, state: RecipientState = S.FALLBACK_SENT):
    link = new_link(now=1000.0, ttl=3000.0, message_expiry=4500.0, with_pin=pin)
    (row,) = await store.accept_message(message(), [recipient("+33600000009")])
    moved = await store.transition(row.id, expected=[S.ACCEPTED], to=state, now=1000.0,
                                   viewer_token=link.digest, viewer_pin=link.pin_digest,
                                   viewer_expires_at=link.expires_at)
    assert moved is not None
    row = moved.record
    assert row and row.route == Route.MMS
    return link, row


async def test_tokens_open_until_expiry_or_withdrawal(store: StateStore) -> None:
    link, row = await _linked(store, pin=False)
    links = Links(store, max_attempts=3)
    opened = await links.open(link.token, now=2000.0)
    assert opened is not None and opened.recipient.id == row.id and not opened.pin_required
    assert links.has_session(opened, link.token, None)
    assert await links.open(link.token, now=4000.0) is None  # link_ttl over
    assert await links.open("B" * 22, now=2000.0) is None  # unknown
    assert await links.open(link.digest, now=2000.0) is None  # the stored digest opens nothing
    await store.transition(row.id, expected=[S.FALLBACK_SENT], to=S.REJECTED, now=2100.0)
    assert await links.open(link.token, now=2200.0) is None  # withdrawn (a CancelReq)


async def test_pin_attempts_count_and_lock(store: StateStore) -> None:
    link, row = await _linked(store, pin=True)
    links = Links(store, max_attempts=3)
    opened = await links.open(link.token, now=1100.0)
    assert opened is not None and opened.pin_required and not opened.locked
    assert not links.has_session(opened, link.token, None)
    wrong = "000000" if link.pin != "000000" else "111111"
    assert await links.check_pin(opened, link.token, wrong, now=1101.0) == (PinCheck.WRONG, 2)
    assert await links.check_pin(opened, link.token, link.pin, now=1102.0) == (PinCheck.RIGHT, 3)
    assert await store.pin_attempts(row.id) == 0  # the right one starts the count again
    session = session_value(link.token, row.viewer_pin)
    assert links.has_session(opened, link.token, session)
    forged = session[:-1] + ("1" if session.endswith("0") else "0")
    assert not links.has_session(opened, link.token, forged)
    for left in (2, 1):
        assert await links.check_pin(opened, link.token, wrong, now=1103.0) == (PinCheck.WRONG,
                                                                                 left)
    assert await links.check_pin(opened, link.token, wrong, now=1104.0) == (PinCheck.LOCKED, 0)
    locked = await links.open(link.token, now=1105.0)
    assert locked is not None and locked.locked
    assert await links.check_pin(locked, link.token, link.pin, now=1106.0) == (PinCheck.LOCKED, 0)
