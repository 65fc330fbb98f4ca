"""In-memory fakes of the user app's ports, subclassing the real ones.

tests/integration/test_user_repository_contract.py runs the same assertions
against these and the SQLAlchemy versions, so they cannot drift apart.
"""

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from common.clock import Clock
from common.ids import IdGenerator
from common.pagination import PageRequest
from mail.domain.outbox_email import DEFAULT_DELIVERY_POLICY, DeliveryPolicy, OutboxEmail
from tests.fakes import SequentialIds, _replace
from tests.fakes.mail import FakeOutbox
from user.application.account_emails import AccountEmails
from user.application.ports import (
    AccessToken,
    PasswordCheck,
    PasswordHasher,
    TokenClaims,
    TokenIssuer,
    UserUnitOfWork,
)
from user.domain.account_token import AccountToken, AccountTokenPolicy, TokenPurpose
from user.domain.errors import EmailAlreadyRegistered, InvalidToken
from user.domain.login_throttle import LoginThrottle
from user.domain.personal_token import PersonalToken
from user.domain.repository import (
    AccountTokenRepository,
    LoginThrottleRepository,
    PersonalTokenRepository,
    RevokedTokenRepository,
    UserRepository,
)
from user.domain.user import User, email_key


class FakePasswordHasher(PasswordHasher):
    """``hashed:<password>``; a ``legacy:<password>`` hash verifies and asks for an upgrade."""

    def __init__(self) -> None:
        self.dummy_checks = 0

    def hash(self, password: str) -> str:
        return f"hashed:{password}"

    def verify(self, password: str, password_hash: str) -> PasswordCheck:
        scheme, _, stored = password_hash.partition(":")
        if stored != password:
            return PasswordCheck(valid=False)
        return PasswordCheck(valid=True, upgraded_hash=self.hash(password) if scheme == "legacy" else None)

    def dummy_verify(self, password: str) -> None:
        self.dummy_checks += 1


class FakeTokenIssuer(TokenIssuer):
    """Tokens are ``<subject>:<version>:<jti>:<expiry timestamp>``, checked against a clock."""

    def __init__(self, clock: Clock, lifetime: timedelta = timedelta(hours=1)) -> None:
        self._clock = clock
        self._lifetime = lifetime

    def issue(self, *, subject: str, version: int, token_id: str, now: datetime) -> AccessToken:
        expiry = (now + self._lifetime).timestamp()
        return AccessToken(
            token=f"{subject}:{version}:{token_id}:{expiry}", expires_in=int(self._lifetime.total_seconds())
        )

    def decode(self, token: str) -> TokenClaims:
        try:
            subject, version, token_id, expiry = token.split(":")
            if float(expiry) <= self._clock.now().timestamp():
                raise InvalidToken()
            expires_at = datetime.fromtimestamp(float(expiry), UTC)
            return TokenClaims(subject=subject, version=int(version), token_id=token_id, expires_at=expires_at)
        except ValueError:
            raise InvalidToken() from None


class FakeUserRepository(UserRepository):
    """Deleting a user also deletes its tokens and revocations, as the database's ON DELETE CASCADE does."""

    def __init__(
        self,
        store: dict[str, User],
        *,
        revoked: dict[str, "Revocation"] | None = None,
        personal_tokens: dict[str, PersonalToken] | None = None,
    ) -> None:
        self._store = store
        self._revoked = {} if revoked is None else revoked
        self._personal_tokens = {} if personal_tokens is None else personal_tokens

    def add(self, user: User) -> None:
        if any(email_key(other.email) == email_key(user.email) for other in self._store.values()):
            raise EmailAlreadyRegistered()
        self._store[user.id] = copy.deepcopy(user)

    def get(self, user_id: str) -> User | None:
        user = self._store.get(user_id)
        return copy.deepcopy(user) if user else None

    def get_unless_revoked(self, user_id: str, *, token_id: str) -> User | None:
        return None if token_id in self._revoked else self.get(user_id)

    def get_for_update(self, user_id: str) -> User | None:
        return self.get(user_id)  # a fake unit of work has no concurrent writer to lock out

    def get_by_email(self, email: str) -> User | None:
        key = email_key(email)
        return next((copy.deepcopy(u) for u in self._store.values() if email_key(u.email) == key), None)

    def save(self, user: User) -> None:
        if user.id in self._store:
            self._store[user.id] = copy.deepcopy(user)

    def bump_token_version(self, user_id: str) -> bool:
        user = self._store.get(user_id)
        if user is None:
            return False
        user.token_version += 1
        return True

    def delete(self, user_id: str) -> None:
        self._store.pop(user_id, None)
        for owned in (self._revoked, self._personal_tokens):
            for key in [key for key, value in owned.items() if value.user_id == user_id]:
                del owned[key]

    def list(self, page: PageRequest) -> Sequence[User]:
        ordered = sorted(self._store.values(), key=lambda u: (u.created_at, u.id))
        return [copy.deepcopy(u) for u in ordered[page.offset : page.offset + page.limit]]

    def count(self) -> int:
        return len(self._store)


class FakeLoginThrottleRepository(LoginThrottleRepository):
    def __init__(self, store: dict[str, LoginThrottle]) -> None:
        self._store = store

    def get(self, email_key: str) -> LoginThrottle | None:
        throttle = self._store.get(email_key)
        return copy.deepcopy(throttle) if throttle else None

    def get_for_update(self, email_key: str) -> LoginThrottle:
        self._store.setdefault(email_key, LoginThrottle(email_key=email_key))
        return copy.deepcopy(self._store[email_key])

    def save(self, throttle: LoginThrottle) -> None:
        self._store[throttle.email_key] = copy.deepcopy(throttle)

    def reset(self, email_key: str) -> None:
        self._store.pop(email_key, None)


class FakeAccountTokenRepository(AccountTokenRepository):
    """``users`` is the users table of the same unit of work: the cascade on delete."""

    def __init__(self, store: dict[str, AccountToken], users: dict[str, User]) -> None:
        self._store = store
        self._users = users

    def _live(self) -> list[AccountToken]:
        for token_id in [t.id for t in self._store.values() if t.user_id not in self._users]:
            del self._store[token_id]
        return list(self._store.values())

    def lock_owner(self, user_id: str) -> None:
        """One transaction at a time: nothing to wait for."""

    def add(self, token: AccountToken) -> None:
        self._store[token.id] = copy.deepcopy(token)

    def get_by_hash(self, token_hash: str, purpose: TokenPurpose) -> AccountToken | None:
        found = next((t for t in self._live() if t.token_hash == token_hash and t.purpose is purpose), None)
        return copy.deepcopy(found)

    def save(self, token: AccountToken) -> None:
        if token.id in self._store:
            self._store[token.id] = copy.deepcopy(token)

    def void_unused(self, *, user_id: str, purpose: TokenPurpose, now: datetime) -> None:
        for token in self._live():
            if token.user_id == user_id and token.purpose is purpose and token.used_at is None:
                token.used_at = now

    def counted_since(self, *, user_id: str, purpose: TokenPurpose, since: datetime) -> list[datetime]:
        return [
            t.created_at
            for t in self._live()
            if t.user_id == user_id and t.purpose is purpose and t.counted and t.created_at >= since
        ]

    def delete_spent(self, *, now: datetime, created_before: datetime) -> int:
        spent = [
            t.id
            for t in self._live()
            if t.created_at < created_before and (t.used_at is not None or t.expires_at <= now)
        ]
        for token_id in spent:
            del self._store[token_id]
        return len(spent)


DEFAULT_ACCOUNT_TOKEN_POLICY = AccountTokenPolicy(
    reset_lifetime=timedelta(minutes=30), verification_lifetime=timedelta(hours=48), emails_per_hour=3
)


def fake_account_emails(
    ids: IdGenerator | None = None, *, policy: AccountTokenPolicy = DEFAULT_ACCOUNT_TOKEN_POLICY
) -> AccountEmails:
    return AccountEmails(public_url="http://til.test", policy=policy, ids=ids or SequentialIds())


@dataclass(frozen=True, slots=True)
class Revocation:
    user_id: str
    expires_at: datetime


class FakeRevokedTokenRepository(RevokedTokenRepository):
    def __init__(self, store: dict[str, Revocation]) -> None:
        self._store = store

    def add(self, *, token_id: str, user_id: str, expires_at: datetime) -> None:
        self._store.setdefault(token_id, Revocation(user_id=user_id, expires_at=expires_at))

    def prune(self, *, now: datetime) -> int:
        expired = [token_id for token_id, revocation in self._store.items() if revocation.expires_at <= now]
        for token_id in expired:
            del self._store[token_id]
        return len(expired)


class FakePersonalTokenRepository(PersonalTokenRepository):
    def __init__(self, store: dict[str, PersonalToken], *, users: dict[str, User]) -> None:
        self._store = store
        self._users = users

    def add(self, token: PersonalToken) -> None:
        self._store[token.id] = copy.deepcopy(token)

    def lock_owner(self, user_id: str) -> bool:
        return user_id in self._users

    def count_for_user(self, user_id: str) -> int:
        return sum(1 for token in self._store.values() if token.user_id == user_id)

    def list_for_user(self, user_id: str) -> Sequence[PersonalToken]:
        owned = [token for token in self._store.values() if token.user_id == user_id]
        return [copy.deepcopy(token) for token in sorted(owned, key=lambda t: (t.created_at, t.id), reverse=True)]

    def get_with_owner(self, token_hash: str) -> tuple[PersonalToken, User] | None:
        token = next((t for t in self._store.values() if t.token_hash == token_hash), None)
        if token is None or token.user_id not in self._users:
            return None
        return copy.deepcopy(token), copy.deepcopy(self._users[token.user_id])

    def delete(self, *, user_id: str, token_id: str) -> bool:
        token = self._store.get(token_id)
        if token is None or token.user_id != user_id:
            return False
        del self._store[token_id]
        return True

    def touch(self, token_id: str, *, now: datetime, stale_before: datetime) -> None:
        token = self._store.get(token_id)
        if token is not None and (token.last_used_at is None or token.last_used_at < stale_before):
            token.last_used_at = now


class FakeUserUnitOfWork(UserUnitOfWork):
    """Changes reach the shared state only on ``commit``; anything else is rolled back.

    ``outbox_state`` is the outbox table: give it to a ``FakeMailUnitOfWork`` to share it.
    """

    def __init__(self, *, ids: IdGenerator | None = None, policy: DeliveryPolicy = DEFAULT_DELIVERY_POLICY) -> None:
        self._ids = ids or SequentialIds()
        self._policy = policy
        self.users_state: dict[str, User] = {}
        self.throttles_state: dict[str, LoginThrottle] = {}
        self.tokens_state: dict[str, AccountToken] = {}
        self.outbox_state: dict[str, OutboxEmail] = {}
        self.revoked_state: dict[str, Revocation] = {}
        self.personal_tokens_state: dict[str, PersonalToken] = {}
        self.commits = 0

    _STATES = (
        "users_state",
        "throttles_state",
        "tokens_state",
        "outbox_state",
        "revoked_state",
        "personal_tokens_state",
    )

    def __enter__(self) -> "FakeUserUnitOfWork":
        self._work = {name: copy.deepcopy(getattr(self, name)) for name in self._STATES}
        users, revoked, personal = (self._work[n] for n in ("users_state", "revoked_state", "personal_tokens_state"))
        self.users = FakeUserRepository(users, revoked=revoked, personal_tokens=personal)
        self.login_throttles = FakeLoginThrottleRepository(self._work["throttles_state"])
        self.outbox = FakeOutbox(self._work["outbox_state"], ids=self._ids, policy=self._policy)
        self.revoked_tokens = FakeRevokedTokenRepository(revoked)
        self.account_tokens = FakeAccountTokenRepository(self._work["tokens_state"], users)
        self.personal_tokens = FakePersonalTokenRepository(personal, users=users)
        return self

    def commit(self) -> None:
        for name in self._STATES:
            # In place: a FakeMailUnitOfWork may share ``outbox_state``.
            _replace(getattr(self, name), self._work[name])
        self.commits += 1

    def rollback(self) -> None:
        # In place: the repositories handed out by __enter__ keep working on these dicts.
        for name in self._STATES:
            self._work[name].clear()
            self._work[name].update(copy.deepcopy(getattr(self, name)))
