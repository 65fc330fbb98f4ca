"""ULID adapter for the ``IdGenerator`` port."""

from ulid import ULID

from common.ids import IdGenerator


class UlidIdGenerator(IdGenerator):
    def new_id(self) -> str:
        return str(ULID())
