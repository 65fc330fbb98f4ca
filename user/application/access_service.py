"""Who a request speaks for, and the use cases that end sessions and manage
personal access tokens (SPEC §11): one public method each, one unit of work each."""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from common.clock import Clock
from common.ids import IdGenerator
from user.application.ports import TokenIssuer, UserUnitOfWork
from user.domain.errors import (
    EmailNotVerified,
    InvalidToken,
    LoginTokenRequired,
    PersonalTokenLimitReached,
    PersonalTokenNotFound,
)
from user.domain.personal_token import (
    LAST_USED_RESOLUTION,
    MAX_PERSONAL_TOKENS_PER_USER,
    Credential,
    PersonalToken,
    credential_of,
    is_well_formed_personal_token,
    personal_token_hash,
)
from user.domain.user import User

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Caller:
    """The account a request speaks for, and the credential it came with."""

    user: User
    credential: Credential
    token_id: str  # a login token's jti, or a personal access token's id
    expires_at: datetime | None  # None: a personal access token that never expires

    def require_login_token(self) -> "Caller":
        """The account-management rule: only a login token may end sessions or manage tokens."""
        if self.credential is not Credential.LOGIN:
            raise LoginTokenRequired()
        return self


@dataclass(frozen=True, slots=True)
class CreatedPersonalToken:
    record: PersonalToken
    token: str  # shown in the creating response only; never stored


class AccessService:
    """``require_verified_email``: REQUIRE_VERIFIED_EMAIL (unverified accounts keep only the user routes)."""

    def __init__(
        self,
        *,
        uow: UserUnitOfWork,
        tokens: TokenIssuer,
        clock: Clock,
        ids: IdGenerator,
        require_verified_email: bool = False,
    ) -> None:
        self._uow = uow
        self._require_verified_email = require_verified_email
        self._tokens = tokens
        self._clock = clock
        self._ids = ids

    def authenticate(self, token: str, *, record_use: bool = True) -> Caller:
        """The caller a bearer token speaks for; ``InvalidToken`` if none.

        A personal access token's ``last_used_at`` is brought up to date
        (at most once a minute) unless ``record_use`` is false.
        """
        if credential_of(token) is Credential.LOGIN:
            return self._login_token_caller(token)
        return self._personal_token_caller(token, record_use=record_use)

    def require_verified(self, user: User) -> User:
        """``user``, or ``EmailNotVerified`` when REQUIRE_VERIFIED_EMAIL is on and the address is unverified."""
        if self._require_verified_email and not user.email_verified:
            raise EmailNotVerified()
        return user

    def logout(self, caller: Caller) -> None:
        """End the login token of this request; the account's other tokens stay."""
        caller.require_login_token()
        assert caller.expires_at is not None
        with self._uow as uow:
            uow.revoked_tokens.add(token_id=caller.token_id, user_id=caller.user.id, expires_at=caller.expires_at)
            uow.commit()

    def logout_all(self, caller: Caller) -> None:
        """End every login token of the account issued so far (personal access tokens stay)."""
        caller.require_login_token()
        with self._uow as uow:
            if not uow.users.bump_token_version(caller.user.id):
                raise InvalidToken()
            uow.commit()

    def create_personal_token(self, caller: Caller, *, name: str, expires_in_days: int | None) -> CreatedPersonalToken:
        caller.require_login_token()
        record, token = PersonalToken.issue(
            id=self._ids.new_id(),
            user_id=caller.user.id,
            name=name,
            expires_in_days=expires_in_days,
            now=self._clock.now(),
        )
        with self._uow as uow:
            if not uow.personal_tokens.lock_owner(caller.user.id):
                raise InvalidToken()
            if uow.personal_tokens.count_for_user(caller.user.id) >= MAX_PERSONAL_TOKENS_PER_USER:
                raise PersonalTokenLimitReached()
            uow.personal_tokens.add(record)
            uow.commit()
        logger.info("personal access token created", extra={"personal_token_id": record.id})
        return CreatedPersonalToken(record=record, token=token)

    def list_personal_tokens(self, caller: Caller) -> Sequence[PersonalToken]:
        caller.require_login_token()
        with self._uow as uow:
            return uow.personal_tokens.list_for_user(caller.user.id)

    def delete_personal_token(self, caller: Caller, *, token_id: str) -> None:
        caller.require_login_token()
        with self._uow as uow:
            if not uow.personal_tokens.delete(user_id=caller.user.id, token_id=token_id):
                raise PersonalTokenNotFound()
            uow.commit()
        logger.info("personal access token deleted", extra={"personal_token_id": token_id})

    def prune_revoked_tokens(self) -> int:
        """Forget the revocations of login tokens that have expired anyway: a periodic pass."""
        with self._uow as uow:
            pruned = uow.revoked_tokens.prune(now=self._clock.now())
            uow.commit()
        if pruned:
            logger.info("revoked login tokens pruned", extra={"pruned": pruned})
        return pruned

    def _login_token_caller(self, token: str) -> Caller:
        claims = self._tokens.decode(token)
        with self._uow as uow:
            user = uow.users.get_unless_revoked(claims.subject, token_id=claims.token_id)
        if user is None or user.token_version != claims.version:
            raise InvalidToken()
        return Caller(user=user, credential=Credential.LOGIN, token_id=claims.token_id, expires_at=claims.expires_at)

    def _personal_token_caller(self, token: str, *, record_use: bool) -> Caller:
        if not is_well_formed_personal_token(token):
            raise InvalidToken()
        now = self._clock.now()
        with self._uow as uow:
            found = uow.personal_tokens.get_with_owner(personal_token_hash(token))
            if found is None or found[0].is_expired(now):
                raise InvalidToken()
            record, owner = found
            if record_use and record.last_use_is_stale(now):
                # At most once a minute per token: the conditional update lets racing processes write it once.
                uow.personal_tokens.touch(record.id, now=now, stale_before=now - LAST_USED_RESOLUTION)
                uow.commit()
        return Caller(user=owner, credential=Credential.PERSONAL, token_id=record.id, expires_at=record.expires_at)
