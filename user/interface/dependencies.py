"""Annotated dependencies of the user routes, and ``CurrentUser`` for every app.

Two kinds of bearer token speak for a user: a login token (a JWT from
``POST /users/login``) and a personal access token (``til_pat_…``).
``CurrentUser`` (every other app's routes: notes, tags, shares, review…)
takes either, and is one that may use the service: with
REQUIRE_VERIFIED_EMAIL on, an unverified account gets 403 there. The /users
routes skip that check: ``AccountUser`` takes either token; the
account-management routes (SPEC §11) take ``LoginUser`` or ``LoginSession``,
which answer a valid personal access token with 403 ``This needs a login token``.
"""

import functools
from typing import Annotated

from dependency_injector.wiring import inject
from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, OAuth2PasswordBearer

from common.request_context import current_request_context
from user.application.access_service import AccessService, Caller
from user.application.account_service import AccountService
from user.application.user_service import UserService
from user.domain.errors import InvalidToken
from user.domain.user import User
from web.injection import Provided
from web.routing import Deferred, in_route_thread, then

# Both read the same ``Authorization: Bearer`` header; two schemes so that Swagger UI offers the OAuth2
# password form (login tokens) and a field to paste a personal access token into.
bearer_token = OAuth2PasswordBearer(
    tokenUrl="/users/login",
    auto_error=False,
    description=(
        "Log in with your account: your **email** goes in `username`, then your password. "
        "Leave `client_id` and `client_secret` empty (this API has no OAuth2 clients) and the "
        "client credentials location as it is; there are no scopes to choose."
    ),
)
personal_token_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="PersonalAccessToken",
    description="A personal access token (`til_pat_…`) from `POST /users/me/tokens`",
)

UserServiceDep = Annotated[UserService, Depends(Provided["user_service"])]
AccountServiceDep = Annotated[AccountService, Depends(Provided["account_service"])]
AccessServiceDep = Annotated[AccessService, Depends(Provided["access_service"])]
BearerToken = Annotated[str | None, Depends(bearer_token)]
# Declared for the OpenAPI scheme only: the token itself is the same header's, read by ``bearer_token``.
PersonalTokenScheme = Annotated[HTTPAuthorizationCredentials | None, Depends(personal_token_bearer)]


async def _authenticated(token: str | None, service: AccessService, *, login_only: bool) -> Deferred[Caller]:
    """No token: 401 at once. Otherwise the token's check, which reads the database, in the route's thread."""
    if not token:
        raise InvalidToken("Not authenticated")
    return await in_route_thread(functools.partial(_caller, token, service, login_only=login_only))


def _caller(token: str, service: AccessService, *, login_only: bool) -> Caller:
    # A personal access token refused by an account route is not counted as used.
    caller = service.authenticate(token, record_use=not login_only)
    # Before the rule below: a refused personal access token's request is still its owner's, in the log.
    context = current_request_context()
    context.user_id, context.auth = caller.user.id, caller.credential.value
    return caller.require_login_token() if login_only else caller


# ``async`` and without a database read of their own: FastAPI calls them on the event loop, and the
# route's worker thread looks the caller up (``in_route_thread``), so a request makes one thread hop.
@inject
async def current_caller(
    token: BearerToken, _scheme: PersonalTokenScheme, service: AccessServiceDep
) -> Deferred[Caller]:
    """The authenticated caller, by login token or personal access token, or 401.
    Also names the caller (and the kind of token) in the request's log lines."""
    return await _authenticated(token, service, login_only=False)


@inject
async def login_session(
    token: BearerToken, _scheme: PersonalTokenScheme, service: AccessServiceDep
) -> Deferred[Caller]:
    """The caller of a login token; 403 for a personal access token, 401 for no live token."""
    return await _authenticated(token, service, login_only=True)


def _user_of(caller: Caller) -> User:
    return caller.user


async def account_user(caller: Annotated[Deferred[Caller], Depends(current_caller)]) -> Deferred[User]:
    return then(caller, _user_of)


async def login_user(caller: Annotated[Deferred[Caller], Depends(login_session)]) -> Deferred[User]:
    return then(caller, _user_of)


AccountUser = Annotated[User, Depends(account_user)]
"""Any live token, verified address or not: the /users routes that accept a personal access token."""


# Not built on ``account_user``: each dependency FastAPI solves costs every request of every note route.
@inject
async def current_user(token: BearerToken, _scheme: PersonalTokenScheme, service: AccessServiceDep) -> Deferred[User]:
    """The authenticated caller, or 401; 403 while its address is unverified, if REQUIRE_VERIFIED_EMAIL."""
    return then(
        await _authenticated(token, service, login_only=False), lambda caller: service.require_verified(caller.user)
    )


CurrentUser = Annotated[User, Depends(current_user)]
"""Any live token (login or personal access token) of an account that may use the service."""
LoginUser = Annotated[User, Depends(login_user)]
"""A live login token only: account management (SPEC §11)."""
LoginSession = Annotated[Caller, Depends(login_session)]
"""As ``LoginUser``, with the token's own id and expiry (what a logout ends)."""
