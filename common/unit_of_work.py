"""The unit-of-work port every app's ``application/ports.py`` builds on, and the
one retry of a unit of work that the database aborted for a conflict."""

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from types import TracebackType
from typing import Self, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")


class UnitOfWork(ABC):
    """Owns one transaction: rolls back whatever was not committed on exit."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.rollback()

    @abstractmethod
    def commit(self) -> None: ...

    @abstractmethod
    def rollback(self) -> None: ...


class WriteConflict(Exception):
    """The database rolled a unit of work back to break a deadlock or a lock wait
    with a concurrent one; running the whole use case again may well succeed."""


# A write the database aborted for a conflict is run this many times in all.
WRITE_ATTEMPTS = 3


def retry_on_conflict(
    write: Callable[[], T], *, exhausted: Callable[[], Exception], attempts: int = WRITE_ATTEMPTS
) -> T:
    """Run ``write`` (one whole unit of work) again when the database aborted it
    for a conflict (``WriteConflict``); every attempt starts afresh, re-reading
    and re-checking. After ``attempts`` aborts, raise ``exhausted()`` (a 409)."""
    for attempt in range(1, attempts + 1):
        try:
            return write()
        except WriteConflict:
            logger.warning("write aborted by a concurrent one", extra={"attempt": attempt})
    raise exhausted()
