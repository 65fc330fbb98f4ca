"""The account emails (verification, password reset, password changed), staged in the caller's unit of work.

Each one-time token is created here, its SHA-256 staged with the email that
carries it; the raw token lives only in that email's ``secret_`` payload
values, which the mail app blanks once the email is sent.
"""

from dataclasses import dataclass
from datetime import datetime

from common.ids import IdGenerator
from mail.application.ports import QueuedEmail
from mail.domain.outbox_email import EmailKind
from user.application.ports import UserUnitOfWork
from user.domain.account_token import AccountToken, AccountTokenPolicy, TokenPurpose, new_raw_token
from user.domain.user import User

RESET_PAGE = "/reset-password"
VERIFY_PAGE = "/verify-email"
RESET_API = "/users/password-reset"


@dataclass(frozen=True, slots=True)
class AccountEmails:
    """``public_url``: where people reach the service (``PUBLIC_URL``), without a trailing slash."""

    public_url: str
    policy: AccountTokenPolicy
    ids: IdGenerator

    def stage_verification(self, uow: UserUnitOfWork, user: User, *, now: datetime, welcome: bool) -> QueuedEmail:
        """The welcome email (not counted toward the hourly limit) or a verification resend (counted)."""
        raw = self._stage_token(uow, user, purpose=TokenPurpose.EMAIL_VERIFICATION, now=now, counted=not welcome)
        hours = int(self.policy.verification_lifetime.total_seconds() // 3600)
        return self._queue(
            uow,
            kind=EmailKind.WELCOME if welcome else EmailKind.EMAIL_VERIFICATION,
            user=user,
            now=now,
            payload={"hours": str(hours), **self._secrets(VERIFY_PAGE, raw)},
        )

    def stage_reset(self, uow: UserUnitOfWork, user: User, *, now: datetime) -> QueuedEmail:
        raw = self._stage_token(uow, user, purpose=TokenPurpose.PASSWORD_RESET, now=now, counted=True)
        minutes = int(self.policy.reset_lifetime.total_seconds() // 60)
        return self._queue(
            uow,
            kind=EmailKind.PASSWORD_RESET,
            user=user,
            now=now,
            payload={"minutes": str(minutes), **self._secrets(RESET_PAGE, raw)},
        )

    def stage_password_changed(self, uow: UserUnitOfWork, user: User, *, now: datetime) -> QueuedEmail:
        return self._queue(
            uow,
            kind=EmailKind.PASSWORD_CHANGED,
            user=user,
            now=now,
            payload={"reset_api": f"{self.public_url}{RESET_API}"},
        )

    def _stage_token(
        self, uow: UserUnitOfWork, user: User, *, purpose: TokenPurpose, now: datetime, counted: bool
    ) -> str:
        raw = new_raw_token()
        token = AccountToken.issue(
            id=self.ids.new_id(),
            user_id=user.id,
            purpose=purpose,
            raw=raw,
            now=now,
            lifetime=self.policy.lifetime(purpose),
            counted=counted,
        )
        uow.account_tokens.add(token)
        return raw

    def _secrets(self, page: str, raw: str) -> dict[str, str]:
        return {"secret_link": f"{self.public_url}{page}?token={raw}", "secret_token": raw}

    @staticmethod
    def _queue(
        uow: UserUnitOfWork, *, kind: EmailKind, user: User, now: datetime, payload: dict[str, str]
    ) -> QueuedEmail:
        queued = uow.outbox.queue(kind=kind, recipient=user.email, payload={"name": user.name, **payload}, now=now)
        assert queued is not None  # no dedupe key: always queued
        return queued
