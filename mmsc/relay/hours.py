"""Sending hours of marketing messages: when an Advertisement may reach a phone.

A pure rule (no I/O, no clock, no state): a moment in, the first allowed moment at or after it
out. It lives beside the engine that enforces it (:mod:`mmsc.relay.hold`) rather than in
``config``, which only parses it, so that it is tested on its own, day by day, without a
server.

The rule is a daily window ``HH:MM-HH:MM`` of local time in an IANA time zone, on some
weekdays, except public holidays (the ``holidays`` package, by ISO country code). The window
opens at its start and closes at its end: the end instant is not allowed (10:00-20:00 allows
19:59:59.999, not 20:00). ``24:00`` as the end is the following midnight. A window that crosses
midnight (``22:00-06:00``) is refused: which day's weekday and holiday would its night
follow? Write two days' hours instead.

Daylight saving time: the window is wall-clock time. A start or end that the clock jumps over
(a spring-forward gap) is the instant of the jump; one that happens twice (an autumn fold)
opens at its first occurrence and closes at its last, so the window holds every instant whose
wall clock reads inside it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holiday_calendars

#: Weekday names as ``days`` takes them, Monday first (``date.weekday()`` order).
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: How far ahead an opening is looked for; a rule that opens on no day within it is refused.
HORIZON_DAYS = 400
_WINDOW = re.compile(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*")
_UTC = timezone.utc


class HoursError(ValueError):
    """A setting of the rule that cannot be used; ``key`` names it."""

    def __init__(self, key: str, text: str) -> None:
        super().__init__(f"{key}: {text}")
        self.key = key


@dataclass(frozen=True)
class SendingHours:
    """The parsed rule; build it with :func:`parse`. ``start`` and ``end`` are minutes after
    local midnight (``end`` up to 1440), ``days`` weekday numbers (Monday 0), ``country`` an
    ISO code of the ``holidays`` package or "" for none."""

    start: int
    end: int
    zone: tzinfo
    days: frozenset[int]
    country: str = ""

    def allowed_on(self, day: date) -> bool:
        """Whether the window opens on ``day`` (a local date) at all."""
        return day.weekday() in self.days and day not in _holidays(self.country, day.year)

    def window(self, day: date) -> tuple[datetime, datetime]:
        """The instants the window opens and closes on ``day``, in UTC."""
        return (_instant(day, self.start, self.zone, last=False),
                _instant(day, self.end, self.zone, last=True))

    def next_allowed(self, when: datetime) -> datetime:
        """``when`` itself when it is allowed, else the next opening, in the rule's zone.
        ``when`` must carry its time zone."""
        if when.tzinfo is None or when.utcoffset() is None:
            raise ValueError("next_allowed needs a datetime with its time zone")
        local_day = when.astimezone(self.zone).date()
        for offset in range(HORIZON_DAYS):
            day = local_day + timedelta(days=offset)
            if not self.allowed_on(day):
                continue
            opens, closes = self.window(day)
            if when < closes:
                return max(when, opens).astimezone(self.zone)
        raise ValueError(f"no opening within {HORIZON_DAYS} days of {when.isoformat()}")

    def next_allowed_at(self, seconds: float) -> float:
        """:meth:`next_allowed` in unix seconds, as the engine's clock counts (``seconds``
        itself when allowed, not a float that went through a datetime and back)."""
        when = datetime.fromtimestamp(seconds, _UTC)
        opening = self.next_allowed(when).astimezone(_UTC)
        return seconds if opening == when else opening.timestamp()


def parse(window: str, zone: str, days: list[str], country: str) -> SendingHours:
    """The rule of the ``[advertising]`` settings; :class:`HoursError` naming the setting
    (``window``, ``timezone``, ``days``, ``holidays``) that cannot be used."""
    match = _WINDOW.fullmatch(window)
    if not match:
        raise HoursError("window", f"{window!r} is not a window like 10:00-20:00")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2):
        raise HoursError("window", f"{window!r} has a time that is not a time of day")
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if end <= start:
        raise HoursError("window", f"{window!r} ends before it starts (a window across "
                                   "midnight is not supported; the end is at most 24:00)")
    try:
        tz = ZoneInfo(zone.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise HoursError("timezone", f"{zone!r} is not an IANA time zone "
                                     "(like Europe/Paris)") from None
    numbers = set()
    for name in days:
        number = _DAY_NAMES.get(str(name).strip().lower())
        if number is None:
            raise HoursError("days", f"{name!r} is not a day (one of {', '.join(DAYS)})")
        numbers.add(number)
    if not numbers:
        raise HoursError("days", "no day at all: nothing would ever be sent")
    code = country.strip().upper()
    if code and code not in holiday_calendars.list_supported_countries():
        raise HoursError("holidays", f"{country!r} is not a country code the holidays "
                                     "package knows (like FR), nor \"\" for none")
    return SendingHours(start, end, tz, frozenset(numbers), code)


#: ``days`` entries: short and full English names, any case.
_DAY_NAMES = {name: number for number, names in enumerate(zip(DAYS, (
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")))
    for name in names}


@lru_cache(maxsize=64)
def _holidays(country: str, year: int) -> frozenset[date]:
    """The public holidays of ``country`` in ``year`` (none for "")."""
    if not country:
        return frozenset()
    return frozenset(holiday_calendars.country_holidays(country, years=year))


def _instant(day: date, minutes: int, zone: tzinfo, *, last: bool) -> datetime:
    """The UTC instant of the wall time ``minutes`` after the local midnight of ``day``: of
    two (a fold), the first, or the ``last``; of none (a gap), the instant of the jump."""
    wall = datetime.combine(day, time()) + timedelta(minutes=minutes)
    a, b = (wall.replace(tzinfo=zone, fold=f).astimezone(_UTC) for f in (0, 1))
    early, late = min(a, b), max(a, b)
    if _wall(early, zone) == wall or _wall(late, zone) == wall:
        return late if last and _wall(late, zone) == wall else early
    # a gap: ``early`` is before the jump and ``late`` after it; find the jump to the second
    while late - early > timedelta(seconds=1):
        middle = early + (late - early) / 2
        if middle.astimezone(zone).utcoffset() == early.astimezone(zone).utcoffset():
            early = middle
        else:
            late = middle
    return late.replace(microsecond=0)


def _wall(instant: datetime, zone: tzinfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None, fold=0)
