"""``/docs`` and ``/redoc`` work offline (SPEC §4): a real browser on a live server, no internet.

Debian's Chromium (``/usr/bin/chromium``; ``.ci/run`` installs it with apt)
is driven headless by Playwright with ``executable_path`` set, so no browser
is ever downloaded. Every request that is not for the loopback server is
aborted and recorded. Screenshots go to ``artifacts/`` (git-ignored), and
their paths are printed.
"""

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route, sync_playwright

from main import PROJECT_ROOT
from tests.support.app import bearer, create_personal_token, login, service_missing, signup, unique_email
from tests.support.live_server import LiveServer, live_server, main_py

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--no-first-run",
]
ARTIFACTS = PROJECT_ROOT / "artifacts"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
# ReDoc's sidebar footer always tries this decorative image ("API docs by Redocly")
# and hides it when it does not load; nothing else may leave the machine.
REDOC_DECORATION = "https://cdn.redoc.ly/redoc/logo-mini.svg"
RENDER_TIMEOUT_MS = 15_000

# SPEC §4, method and path ({...} stands for any parameter name).
SPEC_USERS_AND_OPERATIONS = {
    ("POST", "/users"),
    ("POST", "/users/login"),
    ("GET", "/users/me"),
    ("GET", "/users/{}"),
    ("PUT", "/users"),
    ("DELETE", "/users"),
    ("GET", "/users"),
    ("GET", "/health"),
    ("GET", "/metrics"),
    # SPEC §10
    ("POST", "/users/password-reset"),
    ("POST", "/users/password-reset/confirm"),
    ("POST", "/users/email-verification"),
    ("POST", "/users/email-verification/confirm"),
    ("GET", "/reset-password"),
    ("POST", "/reset-password"),
    ("GET", "/verify-email"),
}
SPEC_NOTES = {
    ("POST", "/notes"),
    ("GET", "/notes"),
    ("GET", "/notes/{}"),
    ("PUT", "/notes/{}"),
    ("DELETE", "/notes/{}"),
    ("GET", "/notes/tags/{}/notes"),
    ("GET", "/tags"),
}


def shape(method: str, path: str) -> tuple[str, str]:
    return method.upper(), re.sub(r"\{[^}]*\}", "{}", path)


@pytest.fixture(scope="module")
def chromium_path() -> Path:
    if not CHROMIUM.exists() or shutil.which(str(CHROMIUM)) is None:
        service_missing(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    return CHROMIUM


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(name="docs", command=main_py(), workdir=tmp_path_factory.mktemp("docs")) as running:
        yield running


@pytest.fixture(scope="module")
def openapi(server: LiveServer) -> dict[str, Any]:
    response = httpx.get(f"{server.base_url}/openapi.json", timeout=10)
    assert response.status_code == 200
    return response.json()


@pytest.fixture(scope="module")
def operations(openapi: dict[str, Any]) -> dict[tuple[str, str], str]:
    """``(METHOD, path)`` of every operation in the live ``/openapi.json``, and its ``operationId``."""
    return {
        (method.upper(), path): operation["operationId"]
        for path, methods in openapi["paths"].items()
        for method, operation in methods.items()
    }


@pytest.fixture(scope="module")
def browser(chromium_path: Path) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


class OfflinePage:
    """A fresh page whose requests may only reach the loopback server."""

    def __init__(self, browser: Browser) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.loopback: list[str] = []
        self.blocked: list[str] = []
        self.errors: list[str] = []
        self.context.route("**/*", self._only_loopback)
        self.page: Page = self.context.new_page()
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _only_loopback(self, route: Route) -> None:
        url = route.request.url
        if urlsplit(url).hostname in LOOPBACK:
            self.loopback.append(url)
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort("internetdisconnected")

    def screenshot(self, name: str, request: pytest.FixtureRequest) -> Path:
        """Saved under ``artifacts/``; its path goes to the test log (and to JUnit XML's properties)."""
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / name
        self.page.screenshot(path=str(path), full_page=True)
        request.node.user_properties.append(("screenshot", str(path)))
        reporter = request.config.pluginmanager.get_plugin("terminalreporter")
        capture = request.config.pluginmanager.get_plugin("capturemanager")
        if reporter is not None and capture is not None:
            with capture.global_and_fixture_disabled():
                requests = f"loopback requests: {len(self.loopback)}, blocked: {self.blocked or 'none'}"
                reporter.write_line(f"\n[screenshot] {path} ({requests})")
        return path

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def offline_page(browser: Browser) -> Iterator[OfflinePage]:
    page = OfflinePage(browser)
    try:
        yield page
    finally:
        page.close()


def test_openapi_has_every_spec_operation(operations: dict[tuple[str, str], str]) -> None:
    served = {shape(*operation) for operation in operations}

    assert served >= SPEC_USERS_AND_OPERATIONS
    if any(path.startswith(("/notes", "/tags")) for _, path in served):
        assert served >= SPEC_NOTES


def test_swagger_ui_renders_every_operation_offline(
    server: LiveServer,
    offline_page: OfflinePage,
    operations: dict[tuple[str, str], str],
    request: pytest.FixtureRequest,
) -> None:
    page = offline_page.page

    page.goto(f"{server.base_url}/docs")
    page.wait_for_function(
        f"document.querySelectorAll('.opblock').length >= {len(operations)}", timeout=RENDER_TIMEOUT_MS
    )
    rendered = page.eval_on_selector_all(
        ".opblock",
        """blocks => blocks.map(block => [
            block.querySelector('.opblock-summary-method').textContent.trim(),
            block.querySelector('.opblock-summary-path').getAttribute('data-path'),
        ])""",
    )
    screenshot = offline_page.screenshot("docs.png", request)

    assert sorted((method, path) for method, path in rendered) == sorted(operations)
    assert {shape(*operation) for operation in rendered} >= SPEC_USERS_AND_OPERATIONS
    assert page.locator(".information-container .title").first.inner_text().startswith("TIL Notes")
    assert offline_page.blocked == [], "Swagger UI needed the internet"
    assert any(url.endswith("/openapi.json") for url in offline_page.loopback)
    assert offline_page.errors == []
    assert screenshot.stat().st_size > 10_000


def test_redoc_renders_every_operation_offline(
    server: LiveServer,
    offline_page: OfflinePage,
    operations: dict[tuple[str, str], str],
    request: pytest.FixtureRequest,
) -> None:
    page = offline_page.page

    page.goto(f"{server.base_url}/redoc")
    page.wait_for_function(
        f"document.querySelectorAll('[data-section-id^=\"operation/\"]').length >= {len(operations)}",
        timeout=RENDER_TIMEOUT_MS,
    )
    sections = page.eval_on_selector_all(
        '[data-section-id^="operation/"]',
        """sections => sections.map(section => [
            section.getAttribute('data-section-id').slice('operation/'.length),
            [...section.querySelectorAll('span[type]')]
                .map(badge => [
                    badge.getAttribute('type'),
                    badge.parentElement.textContent.slice(badge.textContent.length),
                ])
                .filter(([verb, path]) => path.startsWith('/')),
        ])""",
    )
    screenshot = offline_page.screenshot("redoc.png", request)

    shown = {operation_id: {(verb.upper(), path) for verb, path in endpoints} for operation_id, endpoints in sections}
    assert sorted(shown) == sorted(operations.values())
    for operation, operation_id in operations.items():
        assert operation in shown[operation_id], (operation, shown[operation_id])
    assert set(offline_page.blocked) <= {REDOC_DECORATION}, "ReDoc needed the internet"
    assert any(url.endswith("/openapi.json") for url in offline_page.loopback)
    assert offline_page.errors == []
    assert screenshot.stat().st_size > 10_000


def test_a_personal_access_token_pasted_into_swagger_ui_authorizes_try_it_out(
    server: LiveServer, offline_page: OfflinePage, request: pytest.FixtureRequest
) -> None:
    """SPEC §11: Authorize offers the OAuth2 password form and a bearer field; a PAT pasted into the
    field is sent by "Try it out", and ``GET /users/me`` answers its owner."""
    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        email = unique_email("docs-pat")
        user = signup(http, email=email)
        personal = create_personal_token(http, bearer(login(http, email)))["token"]
    page = offline_page.page
    page.goto(f"{server.base_url}/docs")
    page.locator(".auth-wrapper .btn.authorize").click(timeout=RENDER_TIMEOUT_MS)

    containers = page.locator(".modal-ux .auth-container")
    oauth2 = containers.filter(has_text="OAuth2PasswordBearer")
    assert oauth2.locator("input#oauth_username").count() == 1
    # The dialog says what its OAuth2 fields mean here: the email in username, no client credentials.
    assert "email goes in username" in oauth2.inner_text()
    assert "Leave client_id and client_secret empty" in oauth2.inner_text()
    field = containers.filter(has_text="PersonalAccessToken")
    field.locator("input").fill(personal)
    field.locator("button.authorize").click()
    page.locator(".modal-ux button.btn-done").first.click()
    operation = page.locator("#operations-users-users-get_me")
    operation.locator(".opblock-summary").click()
    operation.locator(".try-out__btn").click()
    operation.locator("button.execute").click()
    live = operation.locator(".live-responses-table tbody .response-col_status").first
    live.wait_for(timeout=RENDER_TIMEOUT_MS)
    offline_page.screenshot("docs-pat.png", request)

    assert live.inner_text().strip() == "200"
    assert user["id"] in operation.locator(".live-responses-table tbody .response-col_description").first.inner_text()
    assert offline_page.blocked == []
    assert offline_page.errors == []
