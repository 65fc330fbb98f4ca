"""The only code that turns user rows into entities and back."""

from user.domain.login_throttle import LoginThrottle
from user.domain.user import Role, User, email_key
from user.infra.db_models import LoginThrottleRow, UserRow


def user_from_row(row: UserRow) -> User:
    return User(
        id=row.id,
        name=row.name,
        email=row.email,
        password_hash=row.password_hash,
        role=Role(row.role),
        token_version=row.token_version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def user_to_row(user: User, row: UserRow | None = None) -> UserRow:
    row = row or UserRow(id=user.id, created_at=user.created_at)
    row.name = user.name
    row.email = user.email
    row.email_key = email_key(user.email)
    row.password_hash = user.password_hash
    row.role = user.role.value
    row.token_version = user.token_version
    row.updated_at = user.updated_at
    return row


def throttle_from_row(row: LoginThrottleRow) -> LoginThrottle:
    return LoginThrottle(email_key=row.email_key, failures=row.failures, locked_until=row.locked_until)
