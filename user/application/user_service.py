"""The user app's use cases: one public method each, one unit of work each."""

import enum
import logging
from dataclasses import dataclass

from common.clock import Clock
from common.ids import IdGenerator
from common.pagination import Page, PageRequest
from mail.application.ports import EmailHandoff, QueuedEmail
from user.application.account_emails import AccountEmails
from user.application.ports import AccessToken, PasswordHasher, TokenIssuer, UserUnitOfWork
from user.domain.errors import (
    EmailAlreadyRegistered,
    InvalidCredentials,
    InvalidToken,
    LoginThrottled,
    NotAllowed,
    UserNotFound,
    WrongCurrentPassword,
)
from user.domain.login_throttle import LoginThrottle, LoginThrottlePolicy
from user.domain.user import EMAIL_MAX_LENGTH, Role, User, check_name, check_password, email_key

logger = logging.getLogger(__name__)


class AdminBootstrap(enum.Enum):
    CREATED = "created"
    ALREADY_ADMIN = "already an ADMIN"
    NOT_ADMIN = "exists but is not an ADMIN"


@dataclass(frozen=True, slots=True)
class SignUp:
    user: User
    welcome_email: QueuedEmail  # committed with the account, and handed off after the commit


class UserService:
    """``emails``: where a committed email is handed off (the mail app's ``EmailHandoff``)."""

    def __init__(
        self,
        *,
        uow: UserUnitOfWork,
        hasher: PasswordHasher,
        tokens: TokenIssuer,
        clock: Clock,
        ids: IdGenerator,
        throttle_policy: LoginThrottlePolicy,
        emails: EmailHandoff,
        account_emails: AccountEmails,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._tokens = tokens
        self._clock = clock
        self._ids = ids
        self._throttle_policy = throttle_policy
        self._emails = emails
        self._account_emails = account_emails

    def sign_up(self, *, name: str, email: str, password: str) -> SignUp:
        """A new USER account and its welcome email, committed in one transaction (the outbox),
        then handed off: the email goes out after the commit, and never fails the signup."""
        user = self._new_user(name=name, email=email, password=password, role=Role.USER)
        welcome = self._add_user(user, welcome=True)
        assert welcome is not None  # no dedupe key: always queued
        self._emails.hand_off(welcome)
        return SignUp(user=user, welcome_email=welcome)

    def register(self, *, name: str, email: str, password: str, role: Role = Role.USER) -> User:
        """A new account, without a welcome email (the first admin at start)."""
        user = self._new_user(name=name, email=email, password=password, role=role)
        self._add_user(user, welcome=False)
        return user

    def _new_user(self, *, name: str, email: str, password: str, role: Role) -> User:
        check_name(name)
        check_password(password)
        password_hash = self._hasher.hash(password)  # slow: before the transaction opens
        now = self._clock.now()
        return User(
            id=self._ids.new_id(),
            name=name,
            email=email.strip(),
            password_hash=password_hash,
            role=role,
            created_at=now,
            updated_at=now,
        )

    def _add_user(self, user: User, *, welcome: bool) -> QueuedEmail | None:
        queued = None
        with self._uow as uow:
            if uow.users.get_by_email(user.email) is not None:
                raise EmailAlreadyRegistered()
            uow.users.add(user)
            if welcome:  # carries the link that verifies the address
                queued = self._account_emails.stage_verification(uow, user, now=user.created_at, welcome=True)
            uow.commit()
        logger.info("user registered", extra={"registered_user_id": user.id})
        return queued

    def login(self, *, email: str, password: str) -> AccessToken:
        """Check the password and issue a token.

        Two short transactions around the (slow, CPU-bound) hash check, so no
        connection or SQLite write lock is held while Argon2 runs. Unknown
        email and wrong password do the same work: a hash check and a
        recorded failure.
        """
        key = email_key(email)
        now = self._clock.now()
        with self._uow as uow:
            throttle = uow.login_throttles.get(key)
            user = uow.users.get_by_email(key)
        self._refuse_if_locked(throttle)

        if user is None:
            self._hasher.dummy_verify(password)
            check = None
        else:
            check = self._hasher.verify(password, user.password_hash)

        if user is None or check is None or not check.valid:
            self._record_failure(key)
            raise InvalidCredentials()
        if throttle is not None or check.upgraded_hash is not None:
            with self._uow as uow:
                if throttle is not None:
                    uow.login_throttles.reset(key)
                if check.upgraded_hash is not None:
                    self._upgrade_hash(uow, user, check.upgraded_hash)
                uow.commit()
        return self._tokens.issue(subject=user.id, version=user.token_version, now=now)

    def authenticate(self, token: str) -> User:
        """The user a bearer token speaks for; ``InvalidToken`` if there is none."""
        claims = self._tokens.decode(token)
        with self._uow as uow:
            user = uow.users.get(claims.subject)
        if user is None or user.token_version != claims.version:
            raise InvalidToken()
        return user

    def get_user(self, *, actor: User, user_id: str) -> User:
        if not actor.may_view(user_id):
            raise NotAllowed()
        if user_id == actor.id:
            return actor
        with self._uow as uow:
            user = uow.users.get(user_id)
        if user is None:
            raise UserNotFound()
        return user

    def update_me(
        self,
        *,
        actor_id: str,
        name: str | None = None,
        password: str | None = None,
        current_password: str | None = None,
    ) -> User:
        """A new password also queues the password-changed notice."""
        if name is not None:
            check_name(name)
        if password is not None:
            check_password(password)
        notice = None
        with self._uow as uow:
            user = uow.users.get(actor_id)
            if user is None:
                raise InvalidToken()
            now = self._clock.now()
            if password is not None:
                if current_password is None or not self._hasher.verify(current_password, user.password_hash).valid:
                    raise WrongCurrentPassword()
                user.set_password_hash(self._hasher.hash(password), now=now)
                notice = self._account_emails.stage_password_changed(uow, user, now=now)
            if name is not None:
                user.rename(name, now=now)
            if name is not None or password is not None:
                uow.users.save(user)
                uow.commit()
        if notice is not None:
            self._emails.hand_off(notice)
        return user

    def delete_me(self, *, actor_id: str) -> None:
        with self._uow as uow:
            if uow.users.get(actor_id) is None:
                raise InvalidToken()
            uow.users.delete(actor_id)
            uow.commit()
        logger.info("user deleted", extra={"deleted_user_id": actor_id})

    def list_users(self, *, actor: User, page: PageRequest) -> Page[User]:
        if not actor.is_admin:
            raise NotAllowed()
        with self._uow as uow:
            total = uow.users.count()
            users = uow.users.list(page) if page.offset < total else []
        return Page(items=users, total_count=total, page=page.page)

    def ensure_admin(self, *, email: str, password: str, name: str) -> AdminBootstrap:
        """Create this ADMIN unless an account has the email; safe to repeat."""
        with self._uow as uow:
            existing = uow.users.get_by_email(email)
        if existing is None:
            try:
                self.register(name=name, email=email, password=password, role=Role.ADMIN)
                return AdminBootstrap.CREATED
            except EmailAlreadyRegistered:  # another process won the race: look again
                with self._uow as uow:
                    existing = uow.users.get_by_email(email)
        return AdminBootstrap.ALREADY_ADMIN if existing is not None and existing.is_admin else AdminBootstrap.NOT_ADMIN

    def _refuse_if_locked(self, throttle: LoginThrottle | None) -> None:
        if throttle is None:
            return
        retry_after = throttle.retry_after(self._clock.now())
        if retry_after is not None:
            raise LoginThrottled(retry_after)

    def _record_failure(self, key: str) -> None:
        if len(key) > EMAIL_MAX_LENGTH:
            # No account can have such an address (so there is nothing to
            # protect or reveal), and the throttle table cannot hold the key.
            return
        with self._uow as uow:
            throttle = uow.login_throttles.get_for_update(key)
            throttle.register_failure(now=self._clock.now(), policy=self._throttle_policy)
            uow.login_throttles.save(throttle)
            uow.commit()

    @staticmethod
    def _upgrade_hash(uow: UserUnitOfWork, user: User, new_hash: str) -> None:
        current = uow.users.get(user.id)
        # Only if the password did not change meanwhile.
        if current is not None and current.password_hash == user.password_hash:
            current.upgrade_password_hash(new_hash)
            uow.users.save(current)
