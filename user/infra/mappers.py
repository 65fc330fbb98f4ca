"""The only code that turns user rows into entities and back."""

from typing import Any

from sqlalchemy import Row

from user.domain.account_token import AccountToken, TokenPurpose
from user.domain.login_throttle import LoginThrottle
from user.domain.personal_token import PersonalToken
from user.domain.user import Digest, Role, User, email_key
from user.infra.db_models import AccountTokenRow, LoginThrottleRow, UserRow


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
        email_verified=bool(row.email_verified),
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
        "email_verified": user.email_verified,
        "created_at": user.created_at,
        "updated_at": user.updated_at,
    }


def throttle_from_row(row: LoginThrottleRow | Row[Any]) -> LoginThrottle:
    return LoginThrottle(email_key=row.email_key, failures=row.failures, locked_until=row.locked_until)


def account_token_from_row(row: AccountTokenRow | Row[Any]) -> AccountToken:
    return AccountToken(
        id=row.id,
        user_id=row.user_id,
        purpose=TokenPurpose(row.purpose),
        token_hash=row.token_hash,
        counted=bool(row.counted),
        created_at=row.created_at,
        expires_at=row.expires_at,
        used_at=row.used_at,
    )


def account_token_values(token: AccountToken) -> dict[str, Any]:
    return {
        "id": token.id,
        "user_id": token.user_id,
        "purpose": token.purpose.value,
        "token_hash": token.token_hash,
        "counted": token.counted,
        "created_at": token.created_at,
        "expires_at": token.expires_at,
        "used_at": token.used_at,
    }


def personal_token_from_row(row: Row[Any], *, prefix: str = "") -> PersonalToken:
    """From a Core row of ``personal_tokens``, whose columns may carry a ``prefix`` (in a join)."""
    mapping = row._mapping
    return PersonalToken(
        id=mapping[f"{prefix}id"],
        user_id=mapping[f"{prefix}user_id"],
        name=mapping[f"{prefix}name"],
        token_hash=mapping[f"{prefix}token_hash"],
        created_at=mapping[f"{prefix}created_at"],
        expires_at=mapping[f"{prefix}expires_at"],
        last_used_at=mapping[f"{prefix}last_used_at"],
    )


def personal_token_values(token: PersonalToken) -> dict[str, Any]:
    return {
        "id": token.id,
        "user_id": token.user_id,
        "name": token.name,
        "token_hash": token.token_hash,
        "created_at": token.created_at,
        "expires_at": token.expires_at,
        "last_used_at": token.last_used_at,
    }
