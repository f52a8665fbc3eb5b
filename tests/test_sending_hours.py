"""Sending hours of marketing messages (issue 18, items 3 and 4): the pure rule of
mmsc/relay/hours.py day by day, its configuration, the message classes of MM7 and MM1, and the
hold end to end on a real server (MM7 and MM1 over HTTP, the SMSC emulator over SMPP) whose
engine clock the test sets: what the SMSC received is what reached the phones.

French calendar facts used below, written out rather than computed: in 2026 Easter Monday is
6 April, Ascension 14 May, Whit Monday 25 May; in Paris summer time ends on Sunday
25 October 2026 at 03:00 CEST (01:00 UTC) and begins on Sunday 29 March 2026 at 02:00 CET.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from mmsc.config import ConfigError, VaspConfig, load
from mmsc.mm7.soap import Mm7Error, message_class
from mmsc.relay.hours import SendingHours, parse
from mmsc.server import Server

from test_loop import B, config, running
from test_mm7 import call, envelope, soap_with_attachments, status_of, submit_body


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
                    'days = ["sat", "sun"]\nholidays = "be"\n')
    cfg = load(file, {})
    assert cfg.advertising.hours() == SendingHours(510, 1440, ZoneInfo("Europe/Brussels"),
                                                    frozenset({5, 6}), "BE")
    file.write_text("")
    assert load(file, {}).advertising.hours() == FRANCE


# -- message classes ----------------------------------------------------------------------------

def test_mm7_message_classes() -> None:
    assert [message_class(t) for t in ("Advertisement", "informational", " AUTO ", None, "")] \
        == ["Advertisement", "Informational", "Auto", None, None]
    with pytest.raises(Mm7Error) as error:
        message_class("Spam")
    assert error.value.status == 2007


# -- MM7 over HTTP -------------------------------------------------------------------------

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


async def test_a_bad_mm7_class_is_refused(tmp_path: Path) -> None:
    async with running(with_vasp(tmp_path)) as server:
        status, doc, _ = await call(server, *soap_with_attachments(envelope(
            submit_body(extra="<MessageClass>Promo</MessageClass>"))))
        assert status == 500 and status_of(doc)[1] == 2007
        assert "Promo" in doc.find(".//{*}StatusText").text
        assert await server.engine.state.list_message_ids() == []
        assert await submit(server, B, klass="advertisement", tid="lower")  # still serving
