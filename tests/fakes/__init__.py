"""In-memory fakes that subclass the real ports, for fast unit tests: one module per app
(``user``, ``note``, ``mail``); here the fakes of ``common``'s ports, which every app uses.

The repository contract suites (tests/integration/test_*_repository_contract.py,
test_outbox_claiming.py) run the same assertions against these and the
SQLAlchemy versions, so they cannot drift apart.
"""

import copy
from datetime import UTC, datetime, timedelta

from common.clock import Clock
from common.ids import IdGenerator


class FakeClock(Clock):
    def __init__(self, now: datetime | None = None) -> None:
        self._now = now or datetime(2026, 11, 27, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta: float) -> None:
        self._now += timedelta(**delta)


class SequentialIds(IdGenerator):
    def __init__(self) -> None:
        self._next = 0

    def new_id(self) -> str:
        self._next += 1
        return f"{self._next:026d}"


def _replace(state: dict, work: dict) -> None:  # type: ignore[type-arg]
    """In place: another fake unit of work may share ``state`` (the outbox table)."""
    state.clear()
    state.update(copy.deepcopy(work))
