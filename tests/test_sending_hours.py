"""Sending hours of marketing messages (issue 18, items 3 and 4): the pure rule of
mmsc/relay/hours.py day by day, its configuration, the message classes of MM7 and MM1, and the
hold end to end on a real server (MM7 and MM1 over HTTP, the SMSC emulator over SMPP) whose
engine clock the test sets: what the SMSC received is what reached the phones.

French calendar facts used below, written out rather than computed: in 2026 Easter Monday is
6 April, Ascension 14 May, Whit Monday 25 May; in Paris summer time ends on Sunday
25 October 2026 at 03:00 CEST (01:00 UTC) and begins on Sunday 29 March 2026 at 02:00 CET.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from mmsc.config import ConfigError, VaspConfig, load
from mmsc.mm7.soap import Mm7Error, message_class
from mmsc.pdu import MessageClass, decode, encode
from mmsc.relay.hold import is_advertisement
from mmsc.relay.hours import SendingHours, parse
from mmsc.server import Server
from mmsc.state import RecipientState
from wap_push.wsp import EncodedString

from test_boundaries import NOBODY, hold_time
from test_loop import A, B, D, config, running
from test_mm1 import FORMAT_CORRUPT, OK, post, send_req
from test_mm7 import call, envelope, soap_with_attachments, status_of, submit_body

S = RecipientState
PARIS = ZoneInfo("Europe/Paris")
UTC = timezone.utc
FRANCE = parse("10:00-20:00", "Europe/Paris", ["mon", "tue", "wed", "thu", "fri", "sat"], "FR")


def paris(*fields: int, fold: int = 0) -> datetime:
    return datetime(*fields, tzinfo=PARIS, fold=fold)  # type: ignore[misc]


# -- the rule ---------------------------------------------------------------------------------

@pytest.mark.parametrize("when, expected", [
    # inside the window: the same instant
    (paris(2026, 3, 14, 10, 0), paris(2026, 3, 14, 10, 0)),
    (paris(2026, 3, 14, 19, 59, 59, 999999), paris(2026, 3, 14, 19, 59, 59, 999999)),
    # Saturday 20:00 is out (the end is exclusive): Monday 10:00
    (paris(2026, 3, 14, 20, 0), paris(2026, 3, 16, 10, 0)),
    (paris(2026, 3, 15, 15, 0), paris(2026, 3, 16, 10, 0)),  # Sunday
    (paris(2026, 3, 16, 0, 0), paris(2026, 3, 16, 10, 0)),  # midnight
    (paris(2026, 3, 16, 9, 59, 59), paris(2026, 3, 16, 10, 0)),
    (paris(2026, 3, 17, 23, 59), paris(2026, 3, 18, 10, 0)),
    # holidays: 14 July (a Tuesday), Easter Monday, Ascension, Whit Monday, 1 January
    (paris(2026, 7, 14, 12, 0), paris(2026, 7, 15, 10, 0)),
    (paris(2026, 7, 13, 20, 0), paris(2026, 7, 15, 10, 0)),
    (paris(2026, 4, 4, 21, 0), paris(2026, 4, 7, 10, 0)),  # Saturday night, Sunday, Monday
    (paris(2026, 5, 14, 11, 0), paris(2026, 5, 15, 10, 0)),
    (paris(2026, 5, 23, 20, 0), paris(2026, 5, 26, 10, 0)),
    (paris(2025, 12, 31, 20, 0), paris(2026, 1, 2, 10, 0)),
    # daylight saving: the Saturday before each change, and the Sunday itself
    (paris(2026, 3, 28, 21, 0), paris(2026, 3, 30, 10, 0)),
    (paris(2026, 3, 29, 2, 30), paris(2026, 3, 30, 10, 0)),  # a time that does not exist
    (paris(2026, 10, 24, 21, 0), paris(2026, 10, 26, 10, 0)),
    (paris(2026, 10, 25, 2, 30, fold=1), paris(2026, 10, 26, 10, 0)),  # one that is twice
])
def test_the_next_allowed_moment_in_france(when: datetime, expected: datetime) -> None:
    got = FRANCE.next_allowed(when)
    assert got == expected and got.utcoffset() == expected.utcoffset()


def test_the_october_change_is_counted_in_real_hours() -> None:
    """Saturday 24 October 2026 21:00 CEST (19:00 UTC) to Monday 10:00 CET (09:00 UTC) is 38
    hours, not the 37 that local clock arithmetic gives; and in March, 36 not 37."""
    assert FRANCE.next_allowed(paris(2026, 10, 24, 21, 0)).astimezone(UTC) == \
        datetime(2026, 10, 26, 9, 0, tzinfo=UTC)
    assert FRANCE.next_allowed_at(datetime(2026, 10, 24, 19, 0, tzinfo=UTC).timestamp()) - \
        datetime(2026, 10, 24, 19, 0, tzinfo=UTC).timestamp() == 38 * 3600
    assert FRANCE.next_allowed_at(datetime(2026, 3, 28, 20, 0, tzinfo=UTC).timestamp()) - \
        datetime(2026, 3, 28, 20, 0, tzinfo=UTC).timestamp() == 36 * 3600


def test_the_french_calendar_has_the_moveable_feasts() -> None:
    for day in (date(2026, 4, 6), date(2026, 5, 14), date(2026, 5, 25), date(2026, 1, 1),
                date(2026, 7, 14), date(2026, 12, 25), date(2027, 3, 29), date(2027, 5, 6),
                date(2027, 5, 17)):
        assert not FRANCE.allowed_on(day), day
    assert FRANCE.allowed_on(date(2026, 4, 7)) and FRANCE.allowed_on(date(2026, 5, 26))


def test_no_holidays_and_another_zone() -> None:
    rule = parse("09:00-21:00", "America/New_York", ["Monday", "sat", "SUN"], "")
    assert rule.next_allowed(datetime(2026, 7, 14, 12, 0, tzinfo=UTC)) == \
        datetime(2026, 7, 18, 9, 0, tzinfo=ZoneInfo("America/New_York"))  # Tuesday → Saturday
    assert rule.allowed_on(date(2026, 1, 4))  # a Sunday; no calendar
    thursdays = parse("09:00-21:00", "America/New_York", ["thu"], "US")
    assert not thursdays.allowed_on(date(2026, 11, 26))  # Thanksgiving
    assert thursdays.allowed_on(date(2026, 11, 19))
    tokyo = parse("08:00-24:00", "Asia/Tokyo", ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                  "")
    late = datetime(2026, 3, 1, 14, 59, 59, tzinfo=UTC)  # 23:59:59 in Tokyo: allowed
    assert tokyo.next_allowed(late) == late
    assert tokyo.next_allowed(late + timedelta(seconds=1)) == \
        datetime(2026, 3, 2, 8, 0, tzinfo=ZoneInfo("Asia/Tokyo"))


def test_a_window_edge_in_a_gap_or_a_fold() -> None:
    """A start the clock jumps over opens at the jump; one the clock passes twice opens the
    first time and an end passed twice closes the second time."""
    spring = parse("02:30-03:30", "Europe/Paris", ["sun"], "")
    assert spring.window(date(2026, 3, 29)) == (datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
                                                datetime(2026, 3, 29, 1, 30, tzinfo=UTC))
    autumn = parse("02:00-02:30", "Europe/Paris", ["sun"], "")
    assert autumn.window(date(2026, 10, 25)) == (datetime(2026, 10, 25, 0, 0, tzinfo=UTC),
                                                 datetime(2026, 10, 25, 1, 30, tzinfo=UTC))
    # between the two passes through 02:00-02:30 the window stays open
    inside = datetime(2026, 10, 25, 0, 45, tzinfo=UTC)  # 02:45 CEST
    assert autumn.next_allowed(inside).timestamp() == inside.timestamp()


def test_an_allowed_moment_in_seconds_comes_back_unchanged() -> None:
    """The engine's clock is a float with more digits than a datetime keeps: an allowed
    moment is that very float, so that "allowed now" is never "held until now"."""
    now = paris(2026, 3, 14, 12, 0).timestamp() + 0.123456789
    assert FRANCE.next_allowed_at(now) == now
    assert FRANCE.next_allowed_at(paris(2026, 3, 15, 12, 0).timestamp()) == \
        paris(2026, 3, 16, 10, 0).timestamp()


def test_a_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError):
        FRANCE.next_allowed(datetime(2026, 3, 14, 12, 0))


# -- the configuration --------------------------------------------------------------------------

@pytest.mark.parametrize("key, value, says", [
    ("window", "10h-20h", "window"), ("window", "20:00-10:00", "window"),
    ("window", "10:00-10:00", "window"), ("window", "10:00-25:00", "window"),
    ("window", "22:00-06:00", "across midnight"), ("window", "", "window"),
    ("timezone", "Europe/Pariss", "timezone"), ("timezone", "", "timezone"),
    ("days", "mon,fry", "days"), ("days", "", "days"),
    ("holidays", "XX", "holidays"), ("holidays", "France", "holidays"),
])
def test_bad_advertising_settings_are_config_errors(tmp_path: Path, key: str, value: str,
                                                     says: str) -> None:
    file = tmp_path / "mmsc.toml"
    listed = f"[{', '.join(repr(v) for v in value.split(',') if v)}]" if key == "days" else \
        repr(value)
    file.write_text(f"[advertising]\n{key} = {listed}\n")
    with pytest.raises(ConfigError, match=rf"\[advertising\] {key}: .*") as error:
        load(file, {})
    assert says in str(error.value)
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    with pytest.raises(ConfigError, match=rf"\[advertising\] {key}"):
        load(empty, {f"MMSC_ADVERTISING_{key.upper()}": value})


def test_advertising_settings_are_read(tmp_path: Path) -> None:
    file = tmp_path / "mmsc.toml"
    file.write_text('[advertising]\nwindow = "08:30-24:00"\ntimezone = "Europe/Brussels"\n'
                    'days = ["sat", "sun"]\nholidays = "be"\n\n'
                    '[[vasp]]\nid = "acme"\npassword = "pw"\ndefault_class = "advertisement"\n')
    cfg = load(file, {})
    assert cfg.advertising.hours() == SendingHours(510, 1440, ZoneInfo("Europe/Brussels"),
                                                    frozenset({5, 6}), "BE")
    assert cfg.vasps[0].default_class == "Advertisement"
    file.write_text("")
    assert load(file, {}).advertising.hours() == FRANCE


def test_a_bad_default_class_is_a_config_error(tmp_path: Path) -> None:
    file = tmp_path / "mmsc.toml"
    file.write_text('[[vasp]]\nid = "acme"\npassword = "pw"\ndefault_class = "Promo"\n')
    with pytest.raises(ConfigError, match=r"\[\[vasp\]\] #1\.default_class: 'Promo'"):
        load(file, {})


# -- message classes ----------------------------------------------------------------------------

def test_mm7_message_classes() -> None:
    assert [message_class(t) for t in ("Advertisement", "informational", " AUTO ", None, "")] \
        == ["Advertisement", "Informational", "Auto", None, None]
    with pytest.raises(Mm7Error) as error:
        message_class("Spam")
    assert error.value.status == 2007


# -- the hold end to end ----------------------------------------------------------------------

def sms_to(server: Server, number: str) -> list:
    return [s for s in server.smsc.received if s.destination.lstrip("+") == number.lstrip("+")]


async def submit(server: Server, to: str, *, klass: str | None = None, extra: str = "",
                 tid: str = "tx-1") -> str:
    """An MM7 SubmitReq of VASP acme to ``to`` (with a MessageClass when ``klass``); its
    MessageID."""
    more = (f"<MessageClass>{klass}</MessageClass>" if klass else "") + extra
    status, doc, _ = await call(server, *soap_with_attachments(envelope(
        submit_body(to=f"<Number>{to}</Number>", extra=more), tid=tid)))
    assert status == 200 and status_of(doc)[1] == 1000
    return doc.find(".//{*}MessageID").text


def with_vasp(tmp_path: Path, **vasp: object):  # type: ignore[no-untyped-def]
    cfg = config(tmp_path)
    cfg.vasps = [VaspConfig("acme", "s3cret", ["36000"], **vasp)]  # type: ignore[arg-type]
    return cfg


async def recipient(server: Server, message_id: str):  # type: ignore[no-untyped-def]
    (r,) = await server.engine.state.recipients_of(message_id)
    return r


async def held_events(server: Server, message_id: str) -> list:
    return [e for e in await server.engine.state.events_of(message_id) if e.kind == "held"]


@pytest.mark.parametrize("submitted, opening", [
    (paris(2027, 3, 14, 15, 0), paris(2027, 3, 15, 10, 0)),  # a Sunday
    (paris(2027, 7, 14, 12, 0), paris(2027, 7, 15, 10, 0)),  # 14 July, a Wednesday
    (paris(2026, 10, 24, 21, 0), paris(2026, 10, 26, 10, 0)),  # before the October change
], ids=["sunday", "14-july", "october-dst"])
async def test_an_advertisement_waits_for_the_opening_a_personal_message_does_not(
        tmp_path: Path, submitted: datetime, opening: datetime) -> None:
    async with running(with_vasp(tmp_path)) as server:
        clock = hold_time(server)
        clock.now = submitted.timestamp()
        ad = await submit(server, B, klass="Advertisement", tid="ad")
        personal = await submit(server, A, klass="Personal", tid="personal")
        assert await server.engine.run_due() == 2
        assert (await recipient(server, personal)).state != S.ACCEPTED and sms_to(server, A)
        r = await recipient(server, ad)
        assert r.state == S.ACCEPTED and r.attempts == 0 and sms_to(server, B) == []
        assert r.next_attempt_at == opening.timestamp()
        (event,) = await held_events(server, ad)
        assert event.detail["until"] == opening.isoformat()

        clock.now = opening.timestamp() - 0.001
        await server.engine.run_due()  # (the personal one may be due again)
        assert sms_to(server, B) == [] and len(await held_events(server, ad)) == 1
        assert (await recipient(server, ad)).state == S.ACCEPTED
        clock.now = opening.timestamp()
        await server.engine.run_due()
        assert (await recipient(server, ad)).state != S.ACCEPTED
        assert len(sms_to(server, B)) == 1 and len(await held_events(server, ad)) == 1


async def test_renotification_is_held(tmp_path: Path) -> None:
    cfg = with_vasp(tmp_path)
    cfg.delivery.fallback_after = 7 * 86400  # the message expires first
    async with running(cfg) as server:
        clock = hold_time(server)
        clock.now = paris(2027, 3, 13, 19, 59, 59).timestamp()  # a Saturday, just in time
        ad = await submit(server, NOBODY, klass="Advertisement")
        assert await server.engine.run_due() == 1 and len(sms_to(server, NOBODY)) == 1
        clock.now = paris(2027, 3, 13, 20, 0, 1).timestamp()  # the back-off is over
        assert await server.engine.run_due() == 1
        r = await recipient(server, ad)
        assert r.state == S.NOTIFIED and r.attempts == 1 and len(sms_to(server, NOBODY)) == 1
        assert r.next_attempt_at == paris(2027, 3, 15, 10, 0).timestamp()
        clock.now = r.next_attempt_at
        assert await server.engine.run_due() == 1
        assert len(sms_to(server, NOBODY)) == 2 and (await recipient(server, ad)).attempts == 2


async def test_the_link_sms_is_held(tmp_path: Path) -> None:
    """The fallback of a handset that never fetched, and the link of a legacy phone."""
    async with running(with_vasp(tmp_path)) as server:
        clock = hold_time(server)
        clock.now = paris(2027, 3, 13, 19, 59, 58).timestamp()
        fallback = await submit(server, NOBODY, klass="Advertisement", tid="c")
        assert await server.engine.run_due() == 1 and len(sms_to(server, NOBODY)) == 1
        clock.now = paris(2027, 3, 13, 20, 0, 0).timestamp()  # past fallback_after (1.5 s)
        legacy = await submit(server, D, klass="Advertisement", tid="d")
        assert await server.engine.run_due() == 2
        assert len(sms_to(server, NOBODY)) == 1 and sms_to(server, D) == []
        monday = paris(2027, 3, 15, 10, 0).timestamp()
        for message_id in (fallback, legacy):
            assert (await recipient(server, message_id)).next_attempt_at == monday
        clock.now = monday
        assert await server.engine.run_due() == 2
        assert (await recipient(server, fallback)).state == S.FALLBACK_SENT
        assert (await recipient(server, legacy)).state == S.FALLBACK_SENT
        assert b"/v/" in bytes(sms_to(server, NOBODY)[-1].payload)
        assert b"/v/" in bytes(sms_to(server, D)[-1].payload)


async def test_the_expiry_is_not_extended(tmp_path: Path) -> None:
    async with running(with_vasp(tmp_path)) as server:
        clock = hold_time(server)
        clock.now = paris(2027, 3, 13, 20, 30).timestamp()
        ad = await submit(server, B, klass="Advertisement",
                          extra="<ExpiryDate>PT3H</ExpiryDate>")
        assert await server.engine.run_due() == 1
        r = await recipient(server, ad)
        expiry = clock.now + 3 * 3600
        assert r.state == S.ACCEPTED and r.next_attempt_at == expiry
        (event,) = await held_events(server, ad)
        assert event.detail["expires_first"] is True
        clock.now = expiry
        assert await server.engine.run_due() == 1
        assert (await recipient(server, ad)).state == S.EXPIRED and sms_to(server, B) == []


async def test_the_earliest_delivery_time_comes_on_top(tmp_path: Path) -> None:
    """An operator's re-notify on Sunday of an advertisement whose earliest delivery time is
    Monday 12:00: held until 12:00, not the 10:00 opening."""
    async with running(with_vasp(tmp_path)) as server:
        clock = hold_time(server)
        clock.now = paris(2027, 3, 14, 15, 0).timestamp()
        noon = paris(2027, 3, 15, 12, 0)
        ad = await submit(server, B, klass="Advertisement", extra=(
            f"<EarliestDeliveryTime>{noon.isoformat()}</EarliestDeliveryTime>"))
        r = await recipient(server, ad)
        assert r.next_attempt_at == noon.timestamp()
        assert await server.engine.renotify(ad, r.id) is True
        assert await server.engine.run_due() == 1
        assert (await recipient(server, ad)).next_attempt_at == noon.timestamp()
        assert sms_to(server, B) == []


async def test_a_vasp_default_class(tmp_path: Path) -> None:
    """acme sends advertisements: a submit without MessageClass is one; one that says
    Informational is not held."""
    async with running(with_vasp(tmp_path, default_class="Advertisement")) as server:
        clock = hold_time(server)
        clock.now = paris(2027, 3, 14, 15, 0).timestamp()
        unsaid = await submit(server, B, tid="unsaid")
        said = await submit(server, A, klass="Informational", tid="said")
        assert (await server.engine.state.get_message(unsaid)).message_class == "Advertisement"
        assert (await server.engine.state.get_message(said)).message_class == "Informational"
        assert await server.engine.run_due() == 2
        assert sms_to(server, B) == [] and len(sms_to(server, A)) == 1


async def test_a_bad_mm7_class_is_refused(tmp_path: Path) -> None:
    async with running(with_vasp(tmp_path)) as server:
        status, doc, _ = await call(server, *soap_with_attachments(envelope(
            submit_body(extra="<MessageClass>Promo</MessageClass>"))))
        assert status == 500 and status_of(doc)[1] == 2007
        assert "Promo" in doc.find(".//{*}StatusText").text
        assert await server.engine.state.list_message_ids() == []
        assert await submit(server, B, klass="advertisement", tid="lower")  # still serving


async def test_mm1_classes(tmp_path: Path) -> None:
    """An m-send-req keeps its class (token or Token-text) and an Advertisement from a handset
    is held too; a class octet that is no class is Error-permanent-message-format-corrupt."""
    async with running(config(tmp_path)) as server:
        clock = hold_time(server)
        clock.now = paris(2027, 3, 14, 15, 0).timestamp()
        ids = {}
        for name, value in (("token", MessageClass.ADVERTISEMENT), ("text", "Promo")):
            conf = decode((await post(server, encode(send_req(
                transaction_id=name, message_class=value))))[1])
            assert conf.response_status == OK
            ids[name] = conf.message_id
        assert (await server.engine.state.get_message(ids["token"])).message_class == \
            "Advertisement"
        assert (await server.engine.state.get_message(ids["text"])).message_class == "Promo"
        assert await server.engine.run_due() == 2
        assert len(sms_to(server, B)) == 1  # the Promo one; the advertisement waits
        assert (await recipient(server, ids["token"])).state == S.ACCEPTED
        conf = decode((await post(server, encode(send_req(message_class=0x85))))[1])
        assert conf.response_status == FORMAT_CORRUPT
        assert "0x85" in str(conf.response_text)


def test_the_held_class_is_read_in_any_case() -> None:
    """MM4 peers write classes in their own case (``personal``), MM1 may carry the class as
    Token-text: an advertisement is one however it is spelt, and only that class is held."""
    assert all(is_advertisement(c) for c in ("Advertisement", "advertisement", " ADVERTISEMENT"))
    assert not any(is_advertisement(c) for c in ("Personal", "Informational", "Auto", None, ""))


async def test_mm4_keeps_the_class_of_a_peer_and_its_advertisement_is_held(
        tmp_path: Path) -> None:
    """A peer MMSC's MM4_forward.REQ with ``X-Mms-Message-Class: advertisement`` (a peer's
    own case): stored as written and held like any other; ``personal`` goes at once."""
    from test_mm4 import DOMAIN_1, VENDOR_SUB, Sink, mm4_config, smtp_send, vendor_forward

    async with Sink() as peer, running(mm4_config(tmp_path, peer.port)) as server:
        clock = hold_time(server)
        clock.now = paris(2027, 3, 14, 15, 0).timestamp()
        for klass in ("advertisement", "personal"):
            data = vendor_forward().replace(b"X-Mms-Message-Class: personal",
                                            f"X-Mms-Message-Class: {klass}".encode())
            data = data.replace(b"a10529a49c79442da63768dbf6d92a85", klass.encode())
            refused = await asyncio.to_thread(
                smtp_send, server.mm4_port, "+33612345678/TYPE=PLMN@foreign.example",
                [f"{VENDOR_SUB}/TYPE=PLMN@{DOMAIN_1}"], data)
            assert refused == {}
        by_class = {m.message_class: m for m in [
            await server.engine.state.get_message(i)
            for i in await server.engine.state.list_message_ids()]}
        assert set(by_class) == {"advertisement", "personal"}
        await server.engine.run_due()
        assert len(sms_to(server, VENDOR_SUB)) == 1
        assert (await recipient(server, by_class["advertisement"].id)).state == S.ACCEPTED
        assert await held_events(server, by_class["advertisement"].id)
