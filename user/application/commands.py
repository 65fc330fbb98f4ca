"""Inputs of the user use cases that carry more than a few plain values.

A request schema builds them (``to_command()``), so a field passes from the route to the use case
without a signature in between changing. Passwords stay out of ``repr`` (and so out of logs).
"""

from dataclasses import dataclass, field

from user.domain.user import Digest


@dataclass(frozen=True, kw_only=True)
class SignUpRequest:
    """A new account as its owner gave it (``POST /users``); checked by the use case, not here."""

    name: str
    email: str
    password: str = field(repr=False)


@dataclass(frozen=True, kw_only=True)
class AccountChanges:
    """A change to the caller's account (``PUT /users``): ``None`` leaves a field as it is.

    A new ``password`` needs ``current_password``.
    """

    name: str | None = None
    password: str | None = field(default=None, repr=False)
    current_password: str | None = field(default=None, repr=False)
    timezone: str | None = None
    digest: Digest | None = None

    def changes_anything(self) -> bool:
        return any(value is not None for value in (self.name, self.password, self.timezone, self.digest))
