"""Days as the caller sees them: "today" in a time zone, on-this-day matching, streaks (pure Python)."""

import calendar
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

STATS_DAYS = 365
ONE_DAY = timedelta(days=1)


def today_in(timezone: str, now: datetime) -> date:
    """The calendar day ``now`` (aware) falls on in the IANA zone ``timezone``."""
    return now.astimezone(zoneinfo.ZoneInfo(timezone)).date()


@dataclass(frozen=True, slots=True)
class MemoDay:
    """Which ``memo_date`` month and days count as "this day" in earlier years."""

    month: int
    days: tuple[int, ...]


def memo_day_of(target: date) -> MemoDay:
    """``target``'s month and day; on 28 February of a common year, 29 February too,
    so a leap-day note still has a day to show up on."""
    if target.month == 2 and target.day == 28 and not calendar.isleap(target.year):
        return MemoDay(month=2, days=(28, 29))
    return MemoDay(month=target.month, days=(target.day,))


@dataclass(frozen=True, slots=True)
class Streaks:
    current: int
    longest: int


def streaks(days: Iterable[date], *, today: date) -> Streaks:
    """Runs of consecutive days among ``days`` (distinct, oldest first, none after ``today``).

    The current streak is the run ending today or yesterday; any other is over (0)."""
    longest = run = 0
    previous: date | None = None
    for day in days:
        run = run + 1 if previous is not None and day - previous == ONE_DAY else 1
        longest = max(longest, run)
        previous = day
    current = run if previous is not None and today - previous <= ONE_DAY else 0
    return Streaks(current=current, longest=longest)


def stats_window(today: date) -> tuple[date, date]:
    """The first and last of the 365 days that end with ``today``."""
    return today - timedelta(days=STATS_DAYS - 1), today
