"""Annotated dependencies of the user routes, and ``CurrentUser`` for every app."""

from typing import Annotated

from dependency_injector.wiring import inject
from fastapi import Depends
from fastapi.security import OAuth2PasswordBearer

from common.request_context import current_request_context
from user.application.user_service import UserService
from user.domain.errors import InvalidToken
from user.domain.user import User
from web.injection import Provided

bearer_token = OAuth2PasswordBearer(tokenUrl="/users/login", auto_error=False)

UserServiceDep = Annotated[UserService, Depends(Provided["user_service"])]


@inject
def current_user(token: Annotated[str | None, Depends(bearer_token)], service: UserServiceDep) -> User:
    """The authenticated caller, or 401. Also names the caller in the request's log lines."""
    if not token:
        raise InvalidToken("Not authenticated")
    user = service.authenticate(token)
    current_request_context().user_id = user.id
    return user


CurrentUser = Annotated[User, Depends(current_user)]
