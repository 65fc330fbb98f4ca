"""Getting back in: password reset and email verification, one public method and one unit of work each.

No account enumeration: a reset request for an unknown address answers
like one for an account, after about the same work (a token made and
hashed, the same statements, a commit), and no request answers before
``reset_request_floor`` has passed: the two inserts an account costs more
cannot show in the response time. The hourly limits count the tokens in the
database, so they hold across processes.
"""

import logging
import time
from datetime import datetime, timedelta

from common.clock import Clock
from common.unit_of_work import retry_on_conflict
from mail.application.ports import EmailHandoff, QueuedEmail
from user.application.account_emails import AccountEmails
from user.application.ports import PasswordHasher, UserUnitOfWork
from user.domain.account_token import (
    RATE_WINDOW,
    AccountToken,
    TokenPurpose,
    emails_retry_after,
    hash_token,
    new_raw_token,
)
from user.domain.errors import (
    AccountEmailsThrottled,
    EmailAlreadyVerified,
    InvalidAccountToken,
    InvalidToken,
    UserWriteConflict,
)
from user.domain.user import User, check_password, email_key

logger = logging.getLogger(__name__)

NOBODY = ""  # no account has this id: the statements of a reset request for an unknown address


class AccountService:
    def __init__(
        self,
        *,
        uow: UserUnitOfWork,
        hasher: PasswordHasher,
        clock: Clock,
        account_emails: AccountEmails,
        emails: EmailHandoff,
        reset_request_floor: timedelta = timedelta(0),
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._clock = clock
        self._account_emails = account_emails
        self._emails = emails
        self._reset_request_floor = reset_request_floor.total_seconds()

    @property
    def _emails_per_hour(self) -> int:
        return self._account_emails.policy.emails_per_hour

    def request_password_reset(self, *, email: str) -> None:
        """Queue a reset email if the address has an account and is under its hourly limit; the same
        outcome (nothing to tell) and about the same work otherwise. Voids the account's older reset tokens."""
        started = time.monotonic()
        try:
            self._request_password_reset(email)
        finally:
            time.sleep(max(0.0, started + self._reset_request_floor - time.monotonic()))

    def _request_password_reset(self, email: str) -> None:
        now = self._clock.now()

        def request() -> QueuedEmail | None:
            queued: QueuedEmail | None = None
            with self._uow as uow:
                user = uow.users.get_by_email(email)
                user_id = NOBODY if user is None else user.id
                uow.account_tokens.lock_owner(user_id)
                if self._under_limit(uow, user_id, TokenPurpose.PASSWORD_RESET, now):
                    # A newer link voids the older ones; past the limit the last one sent keeps working.
                    uow.account_tokens.void_unused(user_id=user_id, purpose=TokenPurpose.PASSWORD_RESET, now=now)
                    if user is None:
                        hash_token(new_raw_token())  # what staging a token costs, for an unknown address too
                    else:
                        queued = self._account_emails.stage_reset(uow, user, now=now)
                elif user is not None:
                    logger.info("password reset not sent: hourly limit reached", extra={"account_id": user.id})
                uow.commit()
            return queued

        queued = retry_on_conflict(request, exhausted=UserWriteConflict)
        if queued is not None:
            self._emails.hand_off(queued)

    def confirm_password_reset(self, *, token: str, password: str) -> None:
        """Set the new password; every login token and every reset token of the account ends, its login
        throttle is cleared and the password-changed notice is queued. ``InvalidAccountToken`` otherwise."""
        check_password(password)
        password_hash = self._hasher.hash(password)  # slow: before the transaction opens
        now = self._clock.now()

        def reset_password() -> tuple[User, QueuedEmail]:
            with self._uow as uow:
                reset = self._usable(uow, token, TokenPurpose.PASSWORD_RESET, now)
                user = self._owner(uow, reset)
                user.set_password_hash(password_hash, now=now)
                uow.users.save(user)
                uow.account_tokens.void_unused(user_id=user.id, purpose=TokenPurpose.PASSWORD_RESET, now=now)
                uow.login_throttles.reset(email_key(user.email))
                notice = self._account_emails.stage_password_changed(uow, user, now=now)
                uow.commit()
            return user, notice

        user, notice = retry_on_conflict(reset_password, exhausted=UserWriteConflict)
        logger.info("password reset", extra={"account_id": user.id})
        self._emails.hand_off(notice)

    def reset_token_is_usable(self, *, token: str) -> bool:
        """Whether a reset link still works: a plain read that never uses the token up (mail scanners open links)."""
        now = self._clock.now()
        with self._uow as uow:
            reset = uow.account_tokens.get_by_hash(hash_token(token), TokenPurpose.PASSWORD_RESET)
        return reset is not None and reset.is_usable(now)

    def request_verification(self, *, actor_id: str) -> None:
        """A new verification email; ``EmailAlreadyVerified``, or ``AccountEmailsThrottled`` past the hourly limit."""
        now = self._clock.now()

        def request() -> QueuedEmail:
            with self._uow as uow:
                # The row lock also queues concurrent requests, so each counts the tokens of the one before.
                user = uow.users.get_for_update(actor_id)
                if user is None:
                    raise InvalidToken()
                if user.email_verified:
                    raise EmailAlreadyVerified()
                sent = uow.account_tokens.counted_since(
                    user_id=user.id, purpose=TokenPurpose.EMAIL_VERIFICATION, since=now - RATE_WINDOW
                )
                retry_after = emails_retry_after(sent, now=now, limit=self._emails_per_hour)
                if retry_after is not None:
                    raise AccountEmailsThrottled(retry_after)
                queued = self._account_emails.stage_verification(uow, user, now=now, welcome=False)
                uow.commit()
            return queued

        queued = retry_on_conflict(request, exhausted=UserWriteConflict)
        self._emails.hand_off(queued)

    def confirm_verification(self, *, token: str) -> User:
        """Mark the address verified; again with the same valid token is fine. ``InvalidAccountToken`` otherwise."""
        now = self._clock.now()

        def verify() -> User:
            with self._uow as uow:
                verification = self._usable(uow, token, TokenPurpose.EMAIL_VERIFICATION, now)
                user = self._owner(uow, verification)
                if not user.email_verified:
                    user.verify_email(now=now)
                    uow.users.save(user)
                    uow.commit()
            return user

        return retry_on_conflict(verify, exhausted=UserWriteConflict)

    def purge_spent_tokens(self) -> int:
        """Delete the used and expired tokens (kept for the hour the limits count them); how many."""
        now = self._clock.now()
        with self._uow as uow:
            deleted = uow.account_tokens.delete_spent(now=now, created_before=now - RATE_WINDOW)
            uow.commit()
        if deleted:
            logger.info("spent account tokens deleted", extra={"deleted_tokens": deleted})
        return deleted

    def _under_limit(self, uow: UserUnitOfWork, user_id: str, purpose: TokenPurpose, now: datetime) -> bool:
        sent = uow.account_tokens.counted_since(user_id=user_id, purpose=purpose, since=now - RATE_WINDOW)
        return emails_retry_after(sent, now=now, limit=self._emails_per_hour) is None

    @staticmethod
    def _usable(uow: UserUnitOfWork, raw: str, purpose: TokenPurpose, now: datetime) -> AccountToken:
        token = uow.account_tokens.get_by_hash(hash_token(raw), purpose)
        if token is None or not token.is_usable(now):
            raise InvalidAccountToken()
        return token

    @staticmethod
    def _owner(uow: UserUnitOfWork, token: AccountToken) -> User:
        user = uow.users.get_for_update(token.user_id)
        if user is None:  # the cascade removes the tokens of a deleted account; a race at most
            raise InvalidAccountToken()
        return user
