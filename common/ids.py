"""Identifier generation as a port; the service's ids are ULID strings."""

from abc import ABC, abstractmethod


class IdGenerator(ABC):
    @abstractmethod
    def new_id(self) -> str:
        """A new unique, sortable identifier."""
