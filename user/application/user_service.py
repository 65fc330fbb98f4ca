"""The user app's use cases: one public method each, one unit of work each."""

import enum
import logging
from dataclasses import dataclass

from common.clock import Clock
from common.ids import IdGenerator
from common.pagination import Page, PageRequest
from common.unit_of_work import retry_on_conflict
from mail.application.ports import EmailHandoff, QueuedEmail
from user.application.account_emails import AccountEmails
from user.application.commands import AccountChanges, SignUpRequest
from user.application.ports import AccessToken, PasswordHasher, TokenIssuer, UserUnitOfWork
from user.domain.errors import (
    EmailAlreadyRegistered,
    InvalidCredentials,
    InvalidToken,
    LoginThrottled,
    NotAllowed,
    UserNotFound,
    UserWriteConflict,
    WrongCurrentPassword,
)
from user.domain.login_throttle import LoginThrottlePolicy
from user.domain.user import (
    EMAIL_MAX_LENGTH,
    Role,
    User,
    canonical_email,
    check_name,
    check_password,
    check_timezone,
    email_key,
)

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

    def sign_up(self, *, request: SignUpRequest) -> SignUp:
        """A new USER account and its welcome email, committed in one transaction (the outbox),
        then handed off: the email goes out after the commit, and never fails the signup."""
        user = self._new_user(name=request.name, email=request.email, password=request.password, role=Role.USER)
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
            email=canonical_email(email),
            password_hash=password_hash,
            role=role,
            created_at=now,
            updated_at=now,
        )

    def _add_user(self, user: User, *, welcome: bool) -> QueuedEmail | None:
        def add() -> QueuedEmail | None:
            queued = None
            with self._uow as uow:
                if uow.users.get_by_email(user.email) is not None:
                    raise EmailAlreadyRegistered()
                uow.users.add(user)
                if welcome:  # carries the link that verifies the address
                    queued = self._account_emails.stage_verification(uow, user, now=user.created_at, welcome=True)
                uow.commit()
            return queued

        queued = retry_on_conflict(add, exhausted=UserWriteConflict)
        logger.info("user registered", extra={"registered_user_id": user.id})
        return queued

    def login(self, *, email: str, password: str) -> AccessToken:
        """Check the password and issue a token.

        The attempt is counted as a failure before the (slow, CPU-bound) hash
        check, in a short transaction of its own that locks the email's
        throttle row: of any number of parallel attempts, in any number of
        processes, at most ``max_failures`` reach the check; the others get
        ``LoginThrottled``. A success forgets the failures. No connection or
        SQLite write lock is held while Argon2 runs. Unknown email and wrong
        password do the same work: a reservation and a hash check.
        """
        key = email_key(email)
        now = self._clock.now()
        user = retry_on_conflict(lambda: self._reserve_attempt(key), exhausted=UserWriteConflict)

        if user is None:
            self._hasher.dummy_verify(password)
            check = None
        else:
            check = self._hasher.verify(password, user.password_hash)

        if user is None or check is None or not check.valid:
            raise InvalidCredentials()  # the failure is counted already
        retry_on_conflict(lambda: self._forget_failures(key, user, check.upgraded_hash), exhausted=UserWriteConflict)
        return self._tokens.issue(subject=user.id, version=user.token_version, token_id=self._ids.new_id(), now=now)

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

    def update_me(self, *, actor_id: str, changes: AccountChanges) -> User:
        """Rename, change the password (which ends every earlier token), the timezone and/or the digest:
        what ``changes`` gives (``None`` = unchanged).

        Both Argon2 runs (checking ``current_password``, hashing the new one)
        happen before the transaction. The transaction locks the user, and
        writes only if the password hash is still the one just checked: of two
        password changes racing with the same ``current_password`` one wins,
        the other gets ``WrongCurrentPassword``; a rename racing a password
        change never undoes it (only changed columns are written). A new
        password also queues the password-changed notice.
        """
        if changes.name is not None:
            check_name(changes.name)
        if changes.timezone is not None:
            check_timezone(changes.timezone)
        checked_hash = new_hash = None
        if changes.password is not None:
            check_password(changes.password)
            checked_hash = self._check_current_password(actor_id, changes.current_password)
            new_hash = self._hasher.hash(changes.password)

        def update() -> tuple[User, QueuedEmail | None]:
            notice = None
            with self._uow as uow:
                user = uow.users.get_for_update(actor_id)
                if user is None:
                    raise InvalidToken()
                now = self._clock.now()
                if new_hash is not None:
                    if user.password_hash != checked_hash:
                        raise WrongCurrentPassword()  # changed meanwhile: what was checked is no longer current
                    user.set_password_hash(new_hash, now=now)
                    notice = self._account_emails.stage_password_changed(uow, user, now=now)
                if changes.name is not None:
                    user.rename(changes.name, now=now)
                if changes.timezone is not None or changes.digest is not None:
                    user.set_preferences(now=now, timezone=changes.timezone, digest=changes.digest)
                if changes.changes_anything():
                    uow.users.save(user)
                    uow.commit()
            return user, notice

        user, notice = retry_on_conflict(update, exhausted=UserWriteConflict)
        if notice is not None:
            self._emails.hand_off(notice)
        return user

    def delete_me(self, *, actor_id: str) -> None:
        def delete() -> None:
            with self._uow as uow:
                if uow.users.get_for_update(actor_id) is None:
                    raise InvalidToken()
                uow.users.delete(actor_id)
                uow.commit()

        retry_on_conflict(delete, exhausted=UserWriteConflict)
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

    def _check_current_password(self, actor_id: str, current_password: str | None) -> str:
        """The hash ``current_password`` was checked against; ``WrongCurrentPassword`` if it does not match."""
        with self._uow as uow:
            user = uow.users.get(actor_id)
        if user is None:
            raise InvalidToken()
        if current_password is None or not self._hasher.verify(current_password, user.password_hash).valid:
            raise WrongCurrentPassword()
        return user.password_hash

    def _reserve_attempt(self, key: str) -> User | None:
        """The account of ``key``, once this attempt is counted; ``LoginThrottled`` if none may be made now."""
        with self._uow as uow:
            user = uow.users.get_by_email(key)
            if len(key) > EMAIL_MAX_LENGTH:
                # No account can have such an address (so there is nothing to
                # protect or reveal), and the throttle table cannot hold the key.
                return user
            throttle = uow.login_throttles.get_for_update(key)
            retry_after = throttle.reserve_attempt(now=self._clock.now(), policy=self._throttle_policy)
            if retry_after is not None:
                raise LoginThrottled(retry_after)
            uow.login_throttles.save(throttle)
            uow.commit()
        return user

    def _forget_failures(self, key: str, user: User, upgraded_hash: str | None) -> None:
        """After a success: the attempt and the failures before it are forgotten; the hash re-done if asked."""
        with self._uow as uow:
            uow.login_throttles.reset(key)
            if upgraded_hash is not None:
                current = uow.users.get_for_update(user.id)
                # Only if the password did not change meanwhile.
                if current is not None and current.password_hash == user.password_hash:
                    current.upgrade_password_hash(upgraded_hash)
                    uow.users.save(current)
            uow.commit()
