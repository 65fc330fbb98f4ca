"""Argon2id through passlib's ``CryptContext`` (provided by the ``libpass`` fork)."""

import os
import threading

from passlib.context import CryptContext

from user.application.ports import PasswordCheck, PasswordHasher

# OWASP's minimum for Argon2id: 19 MiB of memory, 2 iterations, 1 lane.
ARGON2_MEMORY_KIB = 19 * 1024
ARGON2_TIME_COST = 2
ARGON2_PARALLELISM = 1


class Argon2PasswordHasher(PasswordHasher):
    """Hashes new passwords with Argon2id; still verifies bcrypt and PBKDF2
    hashes of older systems and replaces them at the next login.

    At most one hash runs per CPU core at a time. Each takes 19 MiB and a
    core for its whole run (argon2-cffi releases the GIL), so letting every
    worker thread hash at once only thrashes the caches: 16 concurrent logins
    on 2 cores finish later, all of them, than the same logins two by two.
    """

    def __init__(
        self,
        *,
        memory_kib: int = ARGON2_MEMORY_KIB,
        time_cost: int = ARGON2_TIME_COST,
        parallelism: int = ARGON2_PARALLELISM,
    ) -> None:
        self._context = CryptContext(
            schemes=["argon2", "bcrypt", "pbkdf2_sha256"],
            deprecated="auto",
            argon2__type="ID",
            argon2__memory_cost=memory_kib,
            argon2__time_cost=time_cost,
            argon2__parallelism=parallelism,
        )
        self._cores = threading.BoundedSemaphore(os.cpu_count() or 1)
        self._dummy_hash = self._context.hash("a password nobody has")

    def hash(self, password: str) -> str:
        with self._cores:
            return self._context.hash(password)

    def verify(self, password: str, password_hash: str) -> PasswordCheck:
        try:
            with self._cores:
                valid, upgraded = self._context.verify_and_update(password, password_hash)
        except ValueError:
            # An unreadable stored hash, or a legacy bcrypt hash and a password
            # longer than bcrypt's 72 bytes: a mismatch, never a 500.
            return PasswordCheck(valid=False)
        return PasswordCheck(valid=valid, upgraded_hash=upgraded if valid else None)

    def dummy_verify(self, password: str) -> None:
        with self._cores:
            self._context.verify(password, self._dummy_hash)
