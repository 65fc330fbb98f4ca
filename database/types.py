"""Column types that behave the same on SQLite and MySQL/MariaDB."""

from datetime import UTC, datetime

from sqlalchemy import DateTime, Dialect, String
from sqlalchemy.dialects import mysql
from sqlalchemy.types import TypeDecorator, TypeEngine

ULID_LENGTH = 26
# Binary and NO PAD (MariaDB): ``utf8mb4_bin`` would still ignore trailing spaces,
# so that ``'<id> '`` found the row of ``'<id>'``.
EXACT_COLLATION = "utf8mb4_nopad_bin"


def exact_string(length: int) -> TypeEngine[str]:
    """A string compared byte for byte: ``Study``, ``study``, ``stüdy`` and
    ``Study `` differ even where the database's default collation says otherwise."""
    return String(length).with_variant(mysql.VARCHAR(length, collation=EXACT_COLLATION), "mysql", "mariadb")


def ulid() -> TypeEngine[str]:
    return exact_string(ULID_LENGTH)


class UtcDateTime(TypeDecorator[datetime]):
    """Stores naive UTC with microseconds; always returns aware UTC datetimes."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[datetime]:
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)
