"""Time: random moments in the district's week and year, and how sources write them."""

from __future__ import annotations

import bisect
import calendar
import random
from datetime import date, datetime, timedelta
from itertools import accumulate
from typing import NamedTuple
from zoneinfo import ZoneInfo

from chaperone.demo.traffic.draws import weighted

_HOURS = tuple(range(6, 23))
_HOUR_CUM = tuple(accumulate((1, 4, 9, 10, 10, 9, 8, 8, 9, 9, 7, 4, 3, 3, 2, 2, 1)))
_EPOCH = datetime(1970, 1, 1)
_HOLIDAYS = {(6, 19), (7, 3), (7, 4), (9, 7), (10, 12), (11, 3), (11, 11), (11, 26), (11, 27)}


class When(NamedTuple):
    """A moment: epoch seconds (UTC), district-local wall time, and its UTC offset in minutes."""

    epoch: int
    local: datetime
    offset: int


class Clock:
    """Random moments in the range, mostly school days and working hours, in local time."""

    def __init__(self, start: date, end: date, zone: ZoneInfo) -> None:
        self.days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
        self._cum = list(accumulate(_day_weight(day) for day in self.days))
        noons = (datetime(d.year, d.month, d.day, 12) for d in self.days)
        self._offsets = [
            int((zone.utcoffset(noon) or timedelta()).total_seconds()) // 60 for noon in noons
        ]
        self._midnights = [calendar.timegm(d.timetuple()) for d in self.days]

    def span(self, first: date | None = None, last: date | None = None) -> tuple[int, int] | None:
        """The day indexes [i, j) from first to last inclusive, None when no day is left."""
        i = 0 if first is None else bisect.bisect_left(self.days, first)
        j = len(self.days) if last is None else bisect.bisect_right(self.days, last)
        return (i, j) if i < j else None

    def pick(self, rng: random.Random, span: tuple[int, int] | None = None) -> When:
        """A random moment, within the span of days when one is given."""
        i, j = span or (0, len(self.days))
        base = self._cum[i - 1] if i else 0.0
        point = base + rng.random() * (self._cum[j - 1] - base)
        index = min(bisect.bisect_right(self._cum, point, i, j), j - 1)
        hour = weighted(rng, _HOURS, _HOUR_CUM)
        minute, second = divmod(int(rng.random() * 3600), 60)
        day, offset = self.days[index], self._offsets[index]
        local = datetime(day.year, day.month, day.day, hour, minute, second)
        epoch = self._midnights[index] + hour * 3600 + minute * 60 + second - offset * 60
        return When(epoch, local, offset)


def _day_weight(day: date) -> float:
    """How busy a day is: school days most, summer and holidays little, weekends least."""
    if day.weekday() >= 5:
        return 0.08
    if (day.month, day.day) in _HOLIDAYS:
        return 0.1
    summer = date(day.year, 6, 26) <= day <= date(day.year, 9, 8)
    return 0.25 if summer else 1.0


def utc(when: When) -> datetime:
    """The moment as a naive UTC datetime."""
    return _EPOCH + timedelta(seconds=when.epoch)


def offset_text(minutes: int, colon: str) -> str:
    """A UTC offset such as -0400 or -04:00."""
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}{colon}{abs(minutes) % 60:02d}"
