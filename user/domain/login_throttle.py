"""The failed-login throttle's rule (pure Python)."""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class LoginThrottlePolicy:
    """After ``max_failures`` consecutive failures an email is locked for ``lockout``."""

    max_failures: int
    lockout: timedelta


@dataclass(kw_only=True)
class LoginThrottle:
    """Consecutive failed logins for one email key."""

    email_key: str
    failures: int = 0
    locked_until: datetime | None = None

    def retry_after(self, now: datetime) -> int | None:
        """Seconds until the next attempt is allowed, or ``None`` if it is allowed now."""
        if self.locked_until is None or self.locked_until <= now:
            return None
        return max(1, math.ceil((self.locked_until - now).total_seconds()))

    def reserve_attempt(self, *, now: datetime, policy: LoginThrottlePolicy) -> int | None:
        """Count an attempt as failed before its password is checked; ``None`` if it may go on,
        else the seconds until the next one may (and nothing is counted).

        Counted up front, under the throttle's lock, so that of any number of
        parallel attempts at most ``max_failures`` reach the password check; a
        success then forgets the failures (``LoginThrottleRepository.reset``).
        """
        retry_after = self.retry_after(now)
        if retry_after is None:
            self.register_failure(now=now, policy=policy)
        return retry_after

    def register_failure(self, *, now: datetime, policy: LoginThrottlePolicy) -> None:
        if self.locked_until is not None and self.locked_until <= now:
            # The lockout has run out: the next run of failures starts from zero.
            self.failures = 0
            self.locked_until = None
        self.failures += 1
        if self.failures >= policy.max_failures:
            self.locked_until = now + policy.lockout
