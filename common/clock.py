"""Time as a port, so rules that depend on it can be tested without sleeping."""

from abc import ABC, abstractmethod
from datetime import UTC, datetime


class Clock(ABC):
    @abstractmethod
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""


class SystemClock(Clock):
    def now(self) -> datetime:
        return datetime.now(UTC)
