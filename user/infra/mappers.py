"""The only code that turns user rows into entities and back."""

from typing import Any

from sqlalchemy import Row

from user.domain.login_throttle import LoginThrottle
from user.domain.user import Digest, Role, User, email_key
from user.infra.db_models import LoginThrottleRow, UserRow


def user_from_row(row: UserRow | Row[Any]) -> User:
    """From an ORM row or a Core row of the ``users`` table (same attribute names)."""
    return User(
        id=row.id,
        name=row.name,
        email=row.email,
        password_hash=row.password_hash,
        role=Role(row.role),
        token_version=row.token_version,
        timezone=row.timezone,
        digest=Digest(row.digest),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def user_values(user: User) -> dict[str, Any]:
    """The ``users`` columns of ``user``: all of them for an insert; an update leaves ``id`` and ``created_at``."""
    return {
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "email_key": email_key(user.email),
        "password_hash": user.password_hash,
        "role": user.role.value,
        "token_version": user.token_version,
        "timezone": user.timezone,
        "digest": user.digest.value,
        "created_at": user.created_at,
        "updated_at": user.updated_at,
    }


def throttle_from_row(row: LoginThrottleRow | Row[Any]) -> LoginThrottle:
    return LoginThrottle(email_key=row.email_key, failures=row.failures, locked_until=row.locked_until)
