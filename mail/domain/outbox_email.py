"""Emails waiting in the transactional outbox, and the rules of their delivery (pure Python).

An outbox email is written in the same transaction as the change that causes
it (the welcome email with the new account), so it exists if and only if
that change was committed. Whoever sends it must first *claim* it: a claim
names its holder and lasts until ``next_attempt_at``, so two senders never
work on one email at once. A claim ends with the email marked sent, or with
the failure recorded: a temporary one schedules the next attempt with
exponential backoff, a permanent one (the server refused the email for good)
marks it ``FAILED`` with its reason, and nobody tries again.

A payload value whose key starts with ``secret_`` (a one-time token, a link
that carries one) exists only while the email may still be sent: marking it
sent or failed blanks it, so the outbox keeps no usable secret.

An email may carry a ``dedupe_key`` ("digest:<user>:<iso-week>"): the outbox
holds at most one email per key, so queueing the same key twice sends once.
"""

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

LAST_ERROR_MAX_LENGTH = 500
SECRET_KEY_PREFIX = "secret_"
ERASED = ""


class EmailKind(enum.StrEnum):
    """What an email is about: one template pair (``<kind>.txt``, ``<kind>.html``) and one subject each."""

    WELCOME = "welcome"
    DIGEST = "digest"  # the weekly digest (SPEC §14), queued by the note app
    PASSWORD_RESET = "password_reset"
    EMAIL_VERIFICATION = "email_verification"
    PASSWORD_CHANGED = "password_changed"


class EmailStatus(enum.StrEnum):
    PENDING = "PENDING"
    SENT = "SENT"
    FAILED = "FAILED"  # refused for good: ``last_error`` says why; never retried


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """How long a claim lasts and how retries back off.

    After the n-th failed attempt the next one waits
    ``min(retry_base * 2 ** (n - 1), retry_max)``. ``lease`` must outlast the
    longest send: once it runs out, another sender may take the email over.
    """

    lease: timedelta
    retry_base: timedelta
    retry_max: timedelta

    def retry_delay(self, attempts: int) -> timedelta:
        exponent = max(0, attempts - 1)
        if exponent >= 32:  # far past any cap; avoids huge numbers
            return self.retry_max
        return min(self.retry_base * 2**exponent, self.retry_max)


DEFAULT_DELIVERY_POLICY = DeliveryPolicy(
    lease=timedelta(minutes=2), retry_base=timedelta(seconds=30), retry_max=timedelta(hours=1)
)


@dataclass(kw_only=True)
class OutboxEmail:
    id: str
    recipient: str
    kind: EmailKind
    payload: dict[str, str] = field(default_factory=dict)
    status: EmailStatus = EmailStatus.PENDING
    attempts: int = 0
    # Pending: when the email is due again (the end of the current claim, or
    # of the backoff after a failure). Whoever holds ``claimed_by`` may work
    # on it before that; anyone may claim it after.
    next_attempt_at: datetime
    claimed_by: str | None = None
    sent_at: datetime | None = None
    last_error: str | None = None
    dedupe_key: str | None = None
    created_at: datetime

    @classmethod
    def queued(
        cls,
        *,
        id: str,
        kind: EmailKind,
        recipient: str,
        payload: Mapping[str, str],
        claim: str,
        now: datetime,
        lease: timedelta,
        dedupe_key: str | None = None,
    ) -> "OutboxEmail":
        """A new email, already claimed by ``claim`` for the hand-off that follows the commit."""
        return cls(
            id=id,
            recipient=recipient,
            kind=kind,
            payload=dict(payload),
            next_attempt_at=now + lease,
            claimed_by=claim,
            dedupe_key=dedupe_key,
            created_at=now,
        )

    @property
    def is_sent(self) -> bool:
        return self.status is EmailStatus.SENT

    @property
    def is_failed(self) -> bool:
        return self.status is EmailStatus.FAILED

    def is_due(self, now: datetime) -> bool:
        return self.status is EmailStatus.PENDING and self.next_attempt_at <= now

    def may_be_claimed_by(self, claim: str, now: datetime) -> bool:
        """Pending, and either due or already held by ``claim`` (a task redelivered after its worker died)."""
        return self.status is EmailStatus.PENDING and (self.next_attempt_at <= now or self.claimed_by == claim)

    def reserve(self, *, claim: str, now: datetime, lease: timedelta) -> None:
        """Hold the email for a hand-off (a task on its way to a worker) without starting an attempt."""
        self._require_claimable(claim, now)
        self.claimed_by = claim
        self.next_attempt_at = now + lease

    def start_attempt(self, *, claim: str, now: datetime, lease: timedelta) -> None:
        self._require_claimable(claim, now)
        self.claimed_by = claim
        self.attempts += 1
        self.next_attempt_at = now + lease

    def mark_sent(self, now: datetime) -> None:
        """The SMTP server accepted it. ``claimed_by`` is kept: it names the attempt that sent it."""
        self.status = EmailStatus.SENT
        self.sent_at = now
        self.erase_secrets()

    def record_failure(self, *, error: str, now: datetime, policy: DeliveryPolicy) -> None:
        """A temporary failure: try again after the backoff."""
        self.last_error = error[:LAST_ERROR_MAX_LENGTH]
        self.claimed_by = None
        self.next_attempt_at = now + policy.retry_delay(self.attempts)

    def mark_failed(self, *, reason: str) -> None:
        """A permanent refusal: the email is ``FAILED`` with ``reason`` and never tried again."""
        self.status = EmailStatus.FAILED
        self.last_error = reason[:LAST_ERROR_MAX_LENGTH]
        self.claimed_by = None
        self.erase_secrets()

    def erase_secrets(self) -> None:
        """Blank every ``secret_`` value of the payload: nobody will render this email again."""
        for key in self.payload:
            if key.startswith(SECRET_KEY_PREFIX):
                self.payload[key] = ERASED

    def release(self, *, claim: str, now: datetime) -> bool:
        """Give a claim back (its hand-off failed), so the email is due at once. False if not held by ``claim``."""
        if self.status is not EmailStatus.PENDING or self.claimed_by != claim:
            return False
        self.claimed_by = None
        self.next_attempt_at = now
        return True

    def _require_claimable(self, claim: str, now: datetime) -> None:
        if not self.may_be_claimed_by(claim, now):
            raise ValueError(f"outbox email {self.id} cannot be claimed now")
