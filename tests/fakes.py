"""In-memory fakes that subclass the real ports, for fast unit tests.

The repository contract suite (tests/integration/test_user_repository_contract.py)
runs the same assertions against these and the SQLAlchemy versions, so they
cannot drift apart.
"""

import copy
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from common.clock import Clock
from common.ids import IdGenerator
from common.pagination import PageRequest
from user.application.ports import (
    AccessToken,
    EmailDeliveryFailed,
    EmailDispatcher,
    EmailDispatchFailed,
    EmailRenderer,
    EmailSender,
    OutgoingEmail,
    PasswordCheck,
    PasswordHasher,
    QueuedEmail,
    RenderedEmail,
    TokenClaims,
    TokenIssuer,
    UserUnitOfWork,
)
from user.domain.errors import EmailAlreadyRegistered, InvalidToken
from user.domain.login_throttle import LoginThrottle
from user.domain.outbox_email import EmailKind, EmailStatus, OutboxEmail
from user.domain.repository import LoginThrottleRepository, OutboxEmailRepository, UserRepository
from user.domain.user import User, email_key


class FakeClock(Clock):
    def __init__(self, now: datetime | None = None) -> None:
        self._now = now or datetime(2026, 11, 27, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta: float) -> None:
        self._now += timedelta(**delta)


class SequentialIds(IdGenerator):
    def __init__(self) -> None:
        self._next = 0

    def new_id(self) -> str:
        self._next += 1
        return f"{self._next:026d}"


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
    """Tokens are ``<subject>:<version>:<expiry timestamp>``, checked against a clock."""

    def __init__(self, clock: Clock, lifetime: timedelta = timedelta(hours=1)) -> None:
        self._clock = clock
        self._lifetime = lifetime

    def issue(self, *, subject: str, version: int, now: datetime) -> AccessToken:
        expiry = (now + self._lifetime).timestamp()
        return AccessToken(token=f"{subject}:{version}:{expiry}", expires_in=int(self._lifetime.total_seconds()))

    def decode(self, token: str) -> TokenClaims:
        try:
            subject, version, expiry = token.split(":")
            if float(expiry) <= self._clock.now().timestamp():
                raise InvalidToken()
            return TokenClaims(subject=subject, version=int(version))
        except ValueError:
            raise InvalidToken() from None


class FakeUserRepository(UserRepository):
    def __init__(self, store: dict[str, User]) -> None:
        self._store = store

    def add(self, user: User) -> None:
        if any(email_key(other.email) == email_key(user.email) for other in self._store.values()):
            raise EmailAlreadyRegistered()
        self._store[user.id] = copy.deepcopy(user)

    def get(self, user_id: str) -> User | None:
        user = self._store.get(user_id)
        return copy.deepcopy(user) if user else None

    def get_for_update(self, user_id: str) -> User | None:
        return self.get(user_id)  # a fake unit of work has no concurrent writer to lock out

    def get_by_email(self, email: str) -> User | None:
        key = email_key(email)
        return next((copy.deepcopy(u) for u in self._store.values() if email_key(u.email) == key), None)

    def save(self, user: User) -> None:
        if user.id in self._store:
            self._store[user.id] = copy.deepcopy(user)

    def delete(self, user_id: str) -> None:
        self._store.pop(user_id, None)

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


class FakeOutboxEmailRepository(OutboxEmailRepository):
    """One process, one transaction at a time: nothing is ever locked by another, so nothing is skipped."""

    def __init__(self, store: dict[str, OutboxEmail]) -> None:
        self._store = store

    def add(self, email: OutboxEmail) -> None:
        self._store[email.id] = copy.deepcopy(email)

    def get(self, email_id: str) -> OutboxEmail | None:
        email = self._store.get(email_id)
        return copy.deepcopy(email) if email else None

    def get_for_update(self, email_id: str, *, skip_locked: bool = True) -> OutboxEmail | None:
        return self.get(email_id)

    def due_for_update(self, *, now: datetime, limit: int) -> Sequence[OutboxEmail]:
        due = sorted((e for e in self._store.values() if e.is_due(now)), key=lambda e: (e.next_attempt_at, e.id))
        return [copy.deepcopy(e) for e in due[:limit]]

    def save(self, email: OutboxEmail) -> None:
        if email.id in self._store:
            self._store[email.id] = copy.deepcopy(email)

    def count_pending(self) -> int:
        return sum(1 for e in self._store.values() if e.status is EmailStatus.PENDING)


class FakeUserUnitOfWork(UserUnitOfWork):
    """Changes reach the shared state only on ``commit``; anything else is rolled back."""

    def __init__(self) -> None:
        self.users_state: dict[str, User] = {}
        self.throttles_state: dict[str, LoginThrottle] = {}
        self.outbox_state: dict[str, OutboxEmail] = {}
        self.commits = 0

    def __enter__(self) -> "FakeUserUnitOfWork":
        self._users_work = copy.deepcopy(self.users_state)
        self._throttles_work = copy.deepcopy(self.throttles_state)
        self._outbox_work = copy.deepcopy(self.outbox_state)
        self.users = FakeUserRepository(self._users_work)
        self.login_throttles = FakeLoginThrottleRepository(self._throttles_work)
        self.outbox = FakeOutboxEmailRepository(self._outbox_work)
        return self

    def commit(self) -> None:
        self.users_state = copy.deepcopy(self._users_work)
        self.throttles_state = copy.deepcopy(self._throttles_work)
        self.outbox_state = copy.deepcopy(self._outbox_work)
        self.commits += 1

    def rollback(self) -> None:
        # In place: the repositories handed out by __enter__ keep working on these dicts.
        self._users_work.clear()
        self._users_work.update(copy.deepcopy(self.users_state))
        self._throttles_work.clear()
        self._throttles_work.update(copy.deepcopy(self.throttles_state))
        self._outbox_work.clear()
        self._outbox_work.update(copy.deepcopy(self.outbox_state))


class FakeEmailRenderer(EmailRenderer):
    def render(self, *, kind: EmailKind, payload: dict[str, str]) -> RenderedEmail:
        name = payload["name"]
        return RenderedEmail(subject=f"{kind.value} subject", text=f"text for {name}", html=f"<p>html for {name}</p>")


class FakeEmailSender(EmailSender):
    """Keeps what it accepted; while ``down`` is set, every send fails with that message."""

    def __init__(self) -> None:
        self.sent: list[OutgoingEmail] = []
        self.down: str | None = None

    def send(self, email: OutgoingEmail) -> None:
        if self.down is not None:
            raise EmailDeliveryFailed(self.down)
        self.sent.append(email)


class FakeEmailDispatcher(EmailDispatcher):
    """A broker: keeps what was published; while ``down``, every publish fails."""

    def __init__(self) -> None:
        self.published: list[QueuedEmail] = []
        self.down = False

    def dispatch(self, email: QueuedEmail) -> None:
        if self.down:
            raise EmailDispatchFailed("ConnectionRefusedError: [Errno 111] Connection refused")
        self.published.append(email)
