"""HTTP routes of the user app: thin handlers around ``UserService``."""

from typing import Annotated

from dependency_injector.wiring import inject
from fastapi import APIRouter, Form, Response, status

from user.interface.dependencies import (
    AccessServiceDep,
    AccountServiceDep,
    AccountUser,
    LoginSession,
    LoginUser,
    UserServiceDep,
)
from user.interface.schemas import (
    AcceptedResponse,
    EmailVerificationConfirm,
    LoginForm,
    PasswordResetConfirm,
    PasswordResetRequest,
    PersonalTokenCreate,
    PersonalTokenCreated,
    PersonalTokenListResponse,
    TokenResponse,
    UserCreate,
    UserPageResponse,
    UserResponse,
    UserUpdate,
)
from web.routing import ThreadedRoute
from web.schemas import Pagination, error_responses

router = APIRouter(prefix="/users", tags=["users"], route_class=ThreadedRoute)

AUTHENTICATED = error_responses(401, 503)
# Account management: a personal access token gets 403 "This needs a login token" (SPEC §11).
LOGIN_TOKEN_ONLY = error_responses(401, 403, 503)


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
    signup = service.sign_up(request=body.to_command())
    response.headers["Location"] = f"/users/{signup.user.id}"
    return UserResponse.from_domain(signup.user)


@router.post(
    "/login",
    responses=error_responses(401, 413, 429, 503),
    summary="Log in (OAuth2 password flow): username is the email",
)
@inject
def login(form: Annotated[LoginForm, Form()], service: UserServiceDep) -> TokenResponse:
    token = service.login(email=form.username, password=form.password)
    return TokenResponse.from_domain(token)


RESET_REQUESTED = "If the address has an account, a password reset email is on its way"
VERIFICATION_REQUESTED = "A verification email is on its way"


@router.post(
    "/password-reset",
    status_code=status.HTTP_202_ACCEPTED,
    responses=error_responses(413, 503),
    summary="Ask for a password reset email; the same answer whether or not the address has an account",
)
@inject
def request_password_reset(body: PasswordResetRequest, accounts: AccountServiceDep) -> AcceptedResponse:
    accounts.request_password_reset(email=body.email)
    return AcceptedResponse(detail=RESET_REQUESTED)


@router.post(
    "/password-reset/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(400, 413, 503),
    summary="Set a new password with the token from the reset email; every login token ends",
)
@inject
def confirm_password_reset(body: PasswordResetConfirm, accounts: AccountServiceDep) -> Response:
    accounts.confirm_password_reset(token=body.token, password=body.password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/email-verification",
    status_code=status.HTTP_202_ACCEPTED,
    responses={**LOGIN_TOKEN_ONLY, **error_responses(409, 413, 429)},
    summary="Send the caller a new email-verification link",
)
@inject
def request_verification(actor: LoginUser, accounts: AccountServiceDep) -> AcceptedResponse:
    accounts.request_verification(actor_id=actor.id)
    return AcceptedResponse(detail=VERIFICATION_REQUESTED)


@router.post(
    "/email-verification/confirm",
    responses=error_responses(400, 413, 503),
    summary="Verify an address with the token from the email (idempotent)",
)
@inject
def confirm_verification(body: EmailVerificationConfirm, accounts: AccountServiceDep) -> UserResponse:
    return UserResponse.from_domain(accounts.confirm_verification(token=body.token))


@router.get("/me", responses=AUTHENTICATED, summary="The caller")
def get_me(user: AccountUser) -> UserResponse:
    return UserResponse.from_domain(user)


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=LOGIN_TOKEN_ONLY,
    summary="End the login token of this request; the others stay",
)
@inject
def logout(session: LoginSession, service: AccessServiceDep) -> Response:
    service.logout(session)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/logout-all",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=LOGIN_TOKEN_ONLY,
    summary="End every login token of the account issued so far",
)
@inject
def logout_all(session: LoginSession, service: AccessServiceDep) -> Response:
    service.logout_all(session)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


TOKEN_LOCATION = {
    "Location": {
        "description": "/users/me/tokens/{id}: where the token is deleted",
        "required": True,
        "schema": {"type": "string"},
    }
}


@router.post(
    "/me/tokens",
    status_code=status.HTTP_201_CREATED,
    responses={201: {"headers": TOKEN_LOCATION}, **LOGIN_TOKEN_ONLY, **error_responses(409)},
    summary="Create a personal access token; the token is shown in this response only",
)
@inject
def create_personal_token(
    body: PersonalTokenCreate, response: Response, session: LoginSession, service: AccessServiceDep
) -> PersonalTokenCreated:
    created = service.create_personal_token(session, name=body.name, expires_in_days=body.expires_in_days)
    response.headers["Location"] = f"/users/me/tokens/{created.record.id}"
    response.headers["Cache-Control"] = "no-store"
    return PersonalTokenCreated.from_created(created)


@router.get(
    "/me/tokens",
    responses=LOGIN_TOKEN_ONLY,
    summary="The caller's personal access tokens, newest first (never the tokens themselves)",
)
@inject
def list_personal_tokens(session: LoginSession, service: AccessServiceDep) -> PersonalTokenListResponse:
    return PersonalTokenListResponse.from_domain(service.list_personal_tokens(session))


@router.delete(
    "/me/tokens/{token_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**LOGIN_TOKEN_ONLY, **error_responses(404)},
    summary="Delete one of the caller's personal access tokens; it stops working at once",
)
@inject
def delete_personal_token(token_id: str, session: LoginSession, service: AccessServiceDep) -> Response:
    service.delete_personal_token(session, token_id=token_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{user_id}",
    responses={**AUTHENTICATED, **error_responses(403, 404)},
    summary="One user: admins see anyone, users only themselves",
)
@inject
def get_user(user_id: str, actor: AccountUser, service: UserServiceDep) -> UserResponse:
    return UserResponse.from_domain(service.get_user(actor=actor, user_id=user_id))


@router.put(
    "",
    responses=LOGIN_TOKEN_ONLY,
    summary="Update the caller; a new password needs current_password",
)
@inject
def update_me(body: UserUpdate, actor: LoginUser, service: UserServiceDep) -> UserResponse:
    user = service.update_me(actor_id=actor.id, changes=body.to_command())
    return UserResponse.from_domain(user)


@router.delete(
    "",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=LOGIN_TOKEN_ONLY,
    summary="Delete the caller, with its notes, tags and tokens",
)
@inject
def delete_me(actor: LoginUser, service: UserServiceDep) -> Response:
    service.delete_me(actor_id=actor.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "",
    responses={**AUTHENTICATED, **error_responses(403)},
    summary="All users, oldest first (admins only)",
)
@inject
def list_users(
    actor: AccountUser,
    service: UserServiceDep,
    page: Pagination,
) -> UserPageResponse:
    result = service.list_users(actor=actor, page=page)
    return UserPageResponse.from_domain(result)
