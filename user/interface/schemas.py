"""Request and response models of the user routes."""

import re
from collections.abc import Sequence
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, BaseModel, Field

from common.pagination import Page
from user.application.access_service import CreatedPersonalToken
from user.application.commands import AccountChanges, SignUpRequest
from user.application.ports import AccessToken
from user.domain.account_token import ACCOUNT_TOKEN_MAX_LENGTH
from user.domain.personal_token import (
    EXPIRES_IN_DAYS_MAX,
    EXPIRES_IN_DAYS_MIN,
    PersonalToken,
    check_token_name,
)
from user.domain.personal_token import NAME_MAX_LENGTH as TOKEN_NAME_MAX_LENGTH
from user.domain.personal_token import NAME_MIN_LENGTH as TOKEN_NAME_MIN_LENGTH
from user.domain.user import (
    NAME_MAX_LENGTH,
    NAME_MIN_LENGTH,
    PASSWORD_MAX_LENGTH,
    PASSWORD_MIN_LENGTH,
    TIMEZONE_MAX_LENGTH,
    TIMEZONES,
    Digest,
    Role,
    User,
    check_name,
    check_password,
    check_timezone,
)
from web.schemas import (
    CONTROL,
    JSON_INTEGER,
    UNICODE_ONLY,
    Email,
    ResponseModel,
    UnicodeText,
    UtcTimestamp,
    not_blank_pattern,
    pydantic_rule,
)

Name = Annotated[
    str,
    Field(
        min_length=NAME_MIN_LENGTH,
        max_length=NAME_MAX_LENGTH,
        json_schema_extra={"pattern": not_blank_pattern(forbidden=CONTROL)},
        description="Not blank, and no control characters",
        examples=["Dexter"],
    ),
    UNICODE_ONLY,
    AfterValidator(pydantic_rule(check_name)),
]
Password = Annotated[
    str,
    Field(
        min_length=PASSWORD_MIN_LENGTH,
        max_length=PASSWORD_MAX_LENGTH,
        json_schema_extra={"pattern": r"^[^\x00]*$"},
        description="Any characters but NUL",
        examples=["correct horse battery"],
    ),
    UNICODE_ONLY,
    AfterValidator(pydantic_rule(check_password)),
]


def _member_name(zone: str) -> str:
    """A time zone as an identifier that no other zone shares: ``Etc/GMT+1`` is ``ETC_GMT_PLUS_1``."""
    spelled = zone.replace("+", "_plus_").replace("-", "_minus_")
    return re.sub(r"[^A-Za-z0-9]+", "_", spelled).strip("_").upper()


TimeZone = Annotated[
    str,
    Field(
        min_length=1,
        max_length=TIMEZONE_MAX_LENGTH,
        # ``x-enum-varnames``: names generated clients give the members; ``Etc/GMT+1`` and ``Etc/GMT-1``
        # would otherwise both become ``ETC_GMT1``.
        json_schema_extra={
            "enum": sorted(TIMEZONES),
            "x-enum-varnames": [_member_name(zone) for zone in sorted(TIMEZONES)],
        },
        description="An IANA time zone name; 'today' in on-this-day, stats and the digest is the day there",
        examples=["Asia/Seoul"],
    ),
    UNICODE_ONLY,
    AfterValidator(pydantic_rule(check_timezone)),
]

CurrentPassword = Annotated[str, Field(max_length=PASSWORD_MAX_LENGTH), UNICODE_ONLY]


class UserCreate(BaseModel):
    """A ``role`` or ``id`` in the body is ignored: signups are always USERs."""

    name: Name
    email: Email
    password: Password

    def to_command(self) -> SignUpRequest:
        return SignUpRequest(name=self.name, email=self.email, password=self.password)


class UserUpdate(BaseModel):
    name: Name | None = None
    password: Password | None = None
    current_password: CurrentPassword | None = Field(default=None, description="Required to change the password")
    timezone: TimeZone | None = None
    digest: Digest | None = Field(default=None, description="weekly: the digest email every Monday 08:00 local time")

    def to_command(self) -> AccountChanges:
        return AccountChanges(
            name=self.name,
            password=self.password,
            current_password=self.current_password,
            timezone=self.timezone,
            digest=self.digest,
        )


class UserResponse(ResponseModel):
    id: str
    name: str
    email: str
    role: Role
    email_verified: bool
    timezone: str = Field(examples=["UTC"])
    digest: Digest
    created_at: UtcTimestamp
    updated_at: UtcTimestamp

    @classmethod
    def from_domain(cls, user: User) -> Self:
        return cls(
            id=user.id,
            name=user.name,
            email=user.email,
            role=user.role,
            email_verified=user.email_verified,
            timezone=user.timezone,
            digest=user.digest,
            created_at=user.created_at,
            updated_at=user.updated_at,
        )


class UserPageResponse(ResponseModel):
    total_count: int
    page: int
    users: list[UserResponse]

    @classmethod
    def from_domain(cls, page: Page[User]) -> Self:
        return cls(
            total_count=page.total_count,
            page=page.page,
            users=[UserResponse.from_domain(user) for user in page.items],
        )


class LoginForm(BaseModel):
    """``POST /users/login``'s form: OAuth2's password grant, whose ``username`` is the account's email.

    OAuth2's other form fields (``scope``, ``client_id``, ``client_secret``) are accepted and ignored:
    this API has no scopes and no registered clients."""

    grant_type: str | None = Field(default=None, pattern="^password$", description="`password`, or absent")
    # An empty form field is a missing one to FastAPI (422 "Field required"): the schema says so.
    username: str = Field(min_length=1, description="The account's email", examples=["dexter@example.com"])
    password: str = Field(min_length=1, json_schema_extra={"format": "password"})


class TokenResponse(ResponseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the token expires")

    @classmethod
    def from_domain(cls, token: AccessToken) -> Self:
        return cls(access_token=token.token, expires_in=token.expires_in)


AccountTokenText = Annotated[
    str,
    Field(
        min_length=1,
        max_length=ACCOUNT_TOKEN_MAX_LENGTH,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="The token from the email (URL-safe base64)",
        examples=["Zq1m1u2fX3u8lW8bq4dJ0nH3rEo2xk6s7l9pQwYvN0c"],
    ),
]


class PasswordResetRequest(BaseModel):
    email: Email


class PasswordResetConfirm(BaseModel):
    token: AccountTokenText
    password: Password


class EmailVerificationConfirm(BaseModel):
    token: AccountTokenText


class AcceptedResponse(ResponseModel):
    detail: str


TokenName = Annotated[
    UnicodeText,
    Field(
        min_length=TOKEN_NAME_MIN_LENGTH,
        max_length=TOKEN_NAME_MAX_LENGTH,
        json_schema_extra={"pattern": not_blank_pattern(forbidden=CONTROL)},
        description="What the token is for. Not blank, and no control characters",
        examples=["backup script"],
    ),
    AfterValidator(pydantic_rule(check_token_name)),
]


class PersonalTokenCreate(BaseModel):
    name: TokenName
    expires_in_days: Annotated[int, Field(ge=EXPIRES_IN_DAYS_MIN, le=EXPIRES_IN_DAYS_MAX), JSON_INTEGER] | None = Field(
        default=None, description="Days until the token stops working; null or absent: never"
    )


class PersonalTokenResponse(ResponseModel):
    id: str
    name: str
    created_at: UtcTimestamp
    expires_at: UtcTimestamp | None = Field(description="null: never expires")
    last_used_at: UtcTimestamp | None = Field(description="Kept to the minute; null: never used")

    @classmethod
    def from_domain(cls, token: PersonalToken) -> Self:
        return cls(
            id=token.id,
            name=token.name,
            created_at=token.created_at,
            expires_at=token.expires_at,
            last_used_at=token.last_used_at,
        )


class PersonalTokenCreated(PersonalTokenResponse):
    token: str = Field(description="`til_pat_…`: shown in this response only, never again", examples=["til_pat_…"])

    @classmethod
    def from_created(cls, created: CreatedPersonalToken) -> Self:
        record = created.record
        return cls(
            id=record.id,
            name=record.name,
            token=created.token,
            created_at=record.created_at,
            expires_at=record.expires_at,
            last_used_at=record.last_used_at,
        )


class PersonalTokenListResponse(ResponseModel):
    tokens: list[PersonalTokenResponse]

    @classmethod
    def from_domain(cls, tokens: Sequence[PersonalToken]) -> Self:
        return cls(tokens=[PersonalTokenResponse.from_domain(token) for token in tokens])


class ResetPasswordForm(BaseModel):
    """What the reset page's form posts (``POST /reset-password``); any field may be empty:
    the page says what is wrong."""

    token: str = Field(default="", description="The token of the reset link, carried by the form")
    password: str = Field(default="", description="The new password")
    password_confirm: str = Field(default="", description="The new password again")
