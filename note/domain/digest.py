"""The weekly digest's calendar (pure Python): which week an account is in, and when its digest is due.

A week is an ISO week in the account's time zone, named ``2026-W49``; its
digest is due from Monday 08:00 there until the week ends, so a digest missed
while the service was down still goes out when it is back, that same week.
"""

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

DIGEST_TIME = time(8, 0)


@dataclass(frozen=True, slots=True)
class DigestWeek:
    key: str  # "2026-W49": the ISO week of ``monday``
    monday: date
    due_from: datetime  # Monday 08:00 in the account's zone (aware)

    def is_due(self, now: datetime) -> bool:
        return now >= self.due_from

    @property
    def previous_days(self) -> tuple[date, date]:
        """The 7 days before this Monday: the week the digest looks back on."""
        return self.monday - timedelta(days=7), self.monday - timedelta(days=1)


def digest_week(timezone: str, now: datetime) -> DigestWeek:
    """The ISO week ``now`` falls in, in the zone ``timezone``."""
    zone = zoneinfo.ZoneInfo(timezone)
    today = now.astimezone(zone).date()
    monday = today - timedelta(days=today.weekday())
    iso = monday.isocalendar()
    return DigestWeek(
        key=f"{iso.year}-W{iso.week:02d}",
        monday=monday,
        due_from=datetime.combine(monday, DIGEST_TIME, tzinfo=zone),
    )


def digest_dedupe_key(user_id: str, week: DigestWeek) -> str:
    """The outbox key that lets one digest per account and week through, whoever queues it."""
    return f"digest:{user_id}:{week.key}"
