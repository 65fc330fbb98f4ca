"""What a driver error means, whichever database raised it."""

from sqlalchemy.exc import DBAPIError

# MySQL/MariaDB: "Deadlock found when trying to get lock; try restarting transaction".
MYSQL_DEADLOCK = 1213
# MySQL/MariaDB: "Lock wait timeout exceeded; try restarting transaction".
MYSQL_LOCK_WAIT_TIMEOUT = 1205
# A row the write refers to is gone: MySQL/MariaDB ER_NO_REFERENCED_ROW_2, SQLite SQLITE_CONSTRAINT_FOREIGNKEY.
MYSQL_NO_REFERENCED_ROW = 1452
SQLITE_CONSTRAINT_FOREIGNKEY = 787
# A second row with the same key: MySQL/MariaDB ER_DUP_ENTRY; SQLite SQLITE_CONSTRAINT_PRIMARYKEY and _UNIQUE.
MYSQL_DUPLICATE_ENTRY = 1062
SQLITE_CONSTRAINT_DUPLICATES = frozenset({1555, 2067})


def _mysql_code(error: DBAPIError) -> object:
    args = getattr(error.orig, "args", ())
    return args[0] if args else None


def is_deadlock(error: DBAPIError) -> bool:
    return _mysql_code(error) == MYSQL_DEADLOCK


def is_write_conflict(error: DBAPIError) -> bool:
    """The database aborted the transaction for a concurrent one: not an outage, worth running again."""
    return _mysql_code(error) in (MYSQL_DEADLOCK, MYSQL_LOCK_WAIT_TIMEOUT)


def is_foreign_key_violation(error: DBAPIError) -> bool:
    if getattr(error.orig, "sqlite_errorcode", None) == SQLITE_CONSTRAINT_FOREIGNKEY:
        return True
    return _mysql_code(error) == MYSQL_NO_REFERENCED_ROW


def is_duplicate_key(error: DBAPIError) -> bool:
    if getattr(error.orig, "sqlite_errorcode", None) in SQLITE_CONSTRAINT_DUPLICATES:
        return True
    return _mysql_code(error) == MYSQL_DUPLICATE_ENTRY
