"""HTTP routes of the user app: thin handlers around ``UserService``."""

from typing import Annotated

from dependency_injector.wiring import inject
from fastapi import APIRouter, Depends, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from user.interface.dependencies import CurrentUser, UserServiceDep
from user.interface.schemas import TokenResponse, UserCreate, UserPageResponse, UserResponse, UserUpdate
from web.schemas import Pagination, error_responses

router = APIRouter(prefix="/users", tags=["users"])

AUTHENTICATED = error_responses(401, 503)


LOCATION = {
    "Location": {"description": "/users/{id} of the new account", "required": True, "schema": {"type": "string"}}
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={201: {"headers": LOCATION}, **error_responses(409, 413, 503)},
    summary="Sign up; the welcome email follows",
)
@inject
def create_user(
    body: UserCreate,
    response: Response,
    service: UserServiceDep,
) -> UserResponse:
    signup = service.sign_up(name=body.name, email=body.email, password=body.password)
    response.headers["Location"] = f"/users/{signup.user.id}"
    return UserResponse.from_domain(signup.user)


@router.post(
    "/login",
    responses=error_responses(401, 413, 429, 503),
    summary="Log in (OAuth2 password flow): username is the email",
)
@inject
def login(form: Annotated[OAuth2PasswordRequestForm, Depends()], service: UserServiceDep) -> TokenResponse:
    token = service.login(email=form.username, password=form.password)
    return TokenResponse.from_domain(token)


@router.get("/me", responses=AUTHENTICATED, summary="The caller")
def get_me(user: CurrentUser) -> UserResponse:
    return UserResponse.from_domain(user)


@router.get(
    "/{user_id}",
    responses={**AUTHENTICATED, **error_responses(403, 404)},
    summary="One user: admins see anyone, users only themselves",
)
@inject
def get_user(user_id: str, actor: CurrentUser, service: UserServiceDep) -> UserResponse:
    return UserResponse.from_domain(service.get_user(actor=actor, user_id=user_id))


@router.put(
    "",
    responses={**AUTHENTICATED, **error_responses(403, 413)},
    summary="Update the caller; a new password needs current_password",
)
@inject
def update_me(body: UserUpdate, actor: CurrentUser, service: UserServiceDep) -> UserResponse:
    user = service.update_me(
        actor_id=actor.id,
        name=body.name,
        password=body.password,
        current_password=body.current_password,
        timezone=body.timezone,
        digest=body.digest,
    )
    return UserResponse.from_domain(user)


@router.delete(
    "",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=AUTHENTICATED,
    summary="Delete the caller, with its notes and tags",
)
@inject
def delete_me(actor: CurrentUser, service: UserServiceDep) -> Response:
    service.delete_me(actor_id=actor.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "",
    responses={**AUTHENTICATED, **error_responses(403)},
    summary="All users, oldest first (admins only)",
)
@inject
def list_users(
    actor: CurrentUser,
    service: UserServiceDep,
    page: Pagination,
) -> UserPageResponse:
    result = service.list_users(actor=actor, page=page)
    return UserPageResponse.from_domain(result)
