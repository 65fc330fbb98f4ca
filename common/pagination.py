"""Pagination value objects shared by every app (pure Python)."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from common.errors import InvalidInput

T = TypeVar("T")

MAX_ITEMS_PER_PAGE = 100
DEFAULT_ITEMS_PER_PAGE = 10


@dataclass(frozen=True, slots=True)
class PageRequest:
    """A 1-based page of at most ``MAX_ITEMS_PER_PAGE`` items."""

    page: int = 1
    items_per_page: int = DEFAULT_ITEMS_PER_PAGE

    def __post_init__(self) -> None:
        if self.page < 1:
            raise InvalidInput("page must be at least 1")
        if not 1 <= self.items_per_page <= MAX_ITEMS_PER_PAGE:
            raise InvalidInput(f"items_per_page must be between 1 and {MAX_ITEMS_PER_PAGE}")

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.items_per_page

    @property
    def limit(self) -> int:
        return self.items_per_page


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of results and the total number of results on all pages."""

    items: Sequence[T]
    total_count: int
    page: int
