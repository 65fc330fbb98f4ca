"""Annotated dependencies of the user routes, and ``CurrentUser`` for every app.

``AccountUser`` (the user routes) is any authenticated caller; ``CurrentUser``
(every other app's routes) is one that may use the service: with
REQUIRE_VERIFIED_EMAIL on, an unverified account gets 403 there.
"""

from typing import Annotated

from dependency_injector.wiring import inject
from fastapi import Depends
from fastapi.security import OAuth2PasswordBearer

from common.request_context import current_request_context
from user.application.account_service import AccountService
from user.application.user_service import UserService
from user.domain.errors import InvalidToken
from user.domain.user import User
from web.injection import Provided

bearer_token = OAuth2PasswordBearer(tokenUrl="/users/login", auto_error=False)

UserServiceDep = Annotated[UserService, Depends(Provided["user_service"])]
AccountServiceDep = Annotated[AccountService, Depends(Provided["account_service"])]


@inject
def current_account(token: Annotated[str | None, Depends(bearer_token)], service: UserServiceDep) -> User:
    """The authenticated caller, or 401. Also names the caller in the request's log lines."""
    if not token:
        raise InvalidToken("Not authenticated")
    user = service.authenticate(token)
    current_request_context().user_id = user.id
    return user


AccountUser = Annotated[User, Depends(current_account)]


@inject
def current_user(user: AccountUser, accounts: AccountServiceDep) -> User:
    """The authenticated caller, or 401; 403 while its address is unverified, if REQUIRE_VERIFIED_EMAIL."""
    return accounts.require_verified(user)


CurrentUser = Annotated[User, Depends(current_user)]
