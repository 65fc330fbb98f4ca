"""The HTML pages behind the links in the account emails: reset a password, verify an address.

Rendered on the server from ``templates/`` (Jinja2, autoescape on). No
JavaScript, nothing from another host; every page carries ``PAGE_HEADERS``.
Opening the reset link (GET) never uses the token up: only the form's POST
does. A bad token, a mismatched confirmation or a refused password shows a
message on the page and changes nothing.
"""

from pathlib import Path
from typing import Annotated, Any

from dependency_injector.wiring import inject
from fastapi import APIRouter, Form, status
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from common.errors import InvalidInput
from user.domain.errors import InvalidAccountToken
from user.domain.user import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, check_password
from user.interface.dependencies import AccountServiceDep
from user.interface.schemas import ResetPasswordForm
from web.routing import ThreadedRoute
from web.schemas import error_responses

router = APIRouter(tags=["pages"], route_class=ThreadedRoute)

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=True,
    undefined=StrictUndefined,
)

PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
INVALID_LINK = "이 링크는 유효하지 않거나 만료되었습니다. This link is invalid or has expired (or was already used)."
RESET_DONE = "비밀번호가 바뀌었습니다. Your password was changed: log in with the new one."
PASSWORDS_DIFFER = "두 비밀번호가 다릅니다. The two passwords do not match."
VERIFIED = "이메일 주소가 확인되었습니다. Your email address {email} is verified."


def _documented(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"text/html": {"schema": {"type": "string"}}},
        "headers": {
            name: {"description": f"Always `{value}`", "required": True, "schema": {"type": "string"}}
            for name, value in PAGE_HEADERS.items()
        },
    }


RESET_FORM_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: _documented("The form: a new password, twice"),
    400: _documented("The link is invalid, expired or used: a page saying so"),
    **error_responses(503),
}
RESET_RESULT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: _documented("The password was changed: a page saying so"),
    400: _documented("The token is invalid, expired or used: a page saying so; nothing changed"),
    422: _documented("The passwords differ or one is not allowed: the form again, with the reason; nothing changed"),
    **error_responses(503),
}
VERIFY_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: _documented("The address is verified: a page saying so"),
    400: _documented("The link is invalid or expired: a page saying so"),
    **error_responses(503),
}


def _page(template: str, *, status_code: int = status.HTTP_200_OK, **context: object) -> HTMLResponse:
    html = TEMPLATES.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status_code, headers=PAGE_HEADERS)


def _result(*, title: str, message: str, ok: bool) -> HTMLResponse:
    code = status.HTTP_200_OK if ok else status.HTTP_400_BAD_REQUEST
    return _page("result.html", status_code=code, title=title, message=message, ok=ok)


def _reset_form(*, token: str, error: str | None = None) -> HTMLResponse:
    code = status.HTTP_200_OK if error is None else status.HTTP_422_UNPROCESSABLE_CONTENT
    return _page(
        "reset_password_form.html",
        status_code=code,
        title="새 비밀번호 (Reset your password)",
        token=token,
        error=error,
        min_length=PASSWORD_MIN_LENGTH,
        max_length=PASSWORD_MAX_LENGTH,
    )


def _invalid_reset_link() -> HTMLResponse:
    return _result(title="비밀번호 재설정 (Reset your password)", message=INVALID_LINK, ok=False)


@router.get(
    "/reset-password",
    response_class=HTMLResponse,
    responses=RESET_FORM_RESPONSES,
    summary="The page a reset email links to: a form for the new password (the token is not used up)",
)
@inject
def reset_password_page(accounts: AccountServiceDep, token: str = "") -> HTMLResponse:
    if not token or not accounts.reset_token_is_usable(token=token):
        return _invalid_reset_link()
    return _reset_form(token=token)


@router.post(
    "/reset-password",
    response_class=HTMLResponse,
    responses=RESET_RESULT_RESPONSES,
    summary="The reset form's target: sets the new password and answers a page saying whether it worked",
)
@inject
def reset_password_submit(accounts: AccountServiceDep, form: Annotated[ResetPasswordForm, Form()]) -> HTMLResponse:
    token, password, password_confirm = form.token, form.password, form.password_confirm
    if not token or not accounts.reset_token_is_usable(token=token):
        return _invalid_reset_link()
    if password != password_confirm:
        return _reset_form(token=token, error=PASSWORDS_DIFFER)
    try:
        check_password(password)
        accounts.confirm_password_reset(token=token, password=password)
    except InvalidInput as error:
        return _reset_form(token=token, error=error.message)
    except InvalidAccountToken:  # used up meanwhile, by another tab
        return _invalid_reset_link()
    return _result(title="비밀번호 재설정 (Reset your password)", message=RESET_DONE, ok=True)


@router.get(
    "/verify-email",
    response_class=HTMLResponse,
    responses=VERIFY_RESPONSES,
    summary="The page a verification email links to: verifies the address, says whether it worked",
)
@inject
def verify_email_page(accounts: AccountServiceDep, token: str = "") -> HTMLResponse:
    title = "이메일 주소 확인 (Verify your email address)"
    try:
        user = accounts.confirm_verification(token=token) if token else None
    except InvalidAccountToken:
        user = None
    if user is None:
        return _result(title=title, message=INVALID_LINK, ok=False)
    return _result(title=title, message=VERIFIED.format(email=user.email), ok=True)
