"""The pages behind the account emails' links in a real browser (SPEC §10): Debian's Chromium driven by
Playwright, as in ``test_docs_browser.py``, on ``python main.py`` with a real SMTP server (aiosmtpd).

The links are opened exactly as the emails carry them (``PUBLIC_URL`` defaults to the server's own
``http://HOST:PORT``); every request that is not for the loopback server is aborted and recorded, and a
page must need none: no JavaScript runs, nothing comes from another host.
"""

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.support import log_audit
from tests.support.app import PASSWORD, service_missing, unique_email
from tests.support.email import Delivered, SmtpSink, smtp_sink, wait_until
from tests.support.live_server import LiveServer, live_server, main_py
from tests.system.test_docs_browser import CHROMIUM, CHROMIUM_ARGS, RENDER_TIMEOUT_MS, OfflinePage

pytestmark = pytest.mark.browser

NEW_PASSWORD = "chosen in the browser 비밀번호"
LINK = re.compile(r"(http://127\.0\.0\.1:\d+/(?:reset-password|verify-email)\?token=[A-Za-z0-9_-]+)")


@pytest.fixture(scope="module")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        service_missing(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    return CHROMIUM


@pytest.fixture(scope="module")
def sink() -> Iterator[SmtpSink]:
    with smtp_sink() as running:
        yield running


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink) -> Iterator[LiveServer]:
    env = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(sink.port)}
    with live_server(name="account-pages", command=main_py(), workdir=tmp_path_factory.mktemp("pages"), env=env) as up:
        yield up


@pytest.fixture(scope="module")
def browser(chromium_path: Path) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def offline_page(browser: Browser) -> Iterator[OfflinePage]:
    page = OfflinePage(browser)
    page.context.set_default_timeout(RENDER_TIMEOUT_MS)
    try:
        yield page
    finally:
        page.close()


def link_in(sink: SmtpSink, recipient: str, subject: str) -> str:
    def arrived() -> list[Delivered]:
        return [d for d in sink.to(recipient) if d.message["Subject"] == subject]

    [delivered] = wait_until(arrived, timeout=15, what=f"'{subject}' to {recipient}")
    [link] = LINK.findall(delivered.part("text/plain"))
    log_audit.remember_secret(link.rsplit("=", 1)[1], what="a token from an account email")
    return link


def sign_up(http: httpx.Client) -> str:
    email = unique_email("browser")
    assert http.post("/users", json={"name": "Dexter", "email": email, "password": PASSWORD}).status_code == 201
    return email


def login(http: httpx.Client, email: str, password: str) -> httpx.Response:
    return http.post("/users/login", data={"username": email, "password": password})


def assert_self_contained(page: OfflinePage) -> None:
    assert page.blocked == []
    assert page.errors == []
    assert page.page.locator("script").count() == 0


def test_a_reset_link_from_the_email_opens_a_form_that_sets_the_new_password(
    server: LiveServer, sink: SmtpSink, offline_page: OfflinePage, request: pytest.FixtureRequest
) -> None:
    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        email = sign_up(http)
        assert http.post("/users/password-reset", json={"email": email}).status_code == 202
        link = link_in(sink, email, "비밀번호 재설정 안내")
        page = offline_page.page
        log_audit.remember_secret(NEW_PASSWORD, what="a password typed into the reset page")

        opened = page.goto(link)
        assert opened is not None
        assert opened.status == 200
        assert opened.headers["content-security-policy"] == (
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"
        )
        page.fill("#password", NEW_PASSWORD)
        page.fill("#password_confirm", NEW_PASSWORD + " typo")
        page.click("button[type=submit]")
        assert "do not match" in page.locator("#error").inner_text()
        offline_page.screenshot("reset-password-mismatch.png", request)

        page.fill("#password", NEW_PASSWORD)
        page.fill("#password_confirm", NEW_PASSWORD)
        page.click("button[type=submit]")
        page.locator("#success").wait_for()
        offline_page.screenshot("reset-password-done.png", request)

        assert_self_contained(offline_page)
        assert login(http, email, NEW_PASSWORD).status_code == 200
        assert login(http, email, PASSWORD).status_code == 401
        page.goto(link)  # used: the page says so
        assert "invalid" in page.locator("#error").inner_text()


def test_a_verification_link_from_the_welcome_email_verifies_the_address(
    server: LiveServer, sink: SmtpSink, offline_page: OfflinePage, request: pytest.FixtureRequest
) -> None:
    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        email = sign_up(http)
        link = link_in(sink, email, "회원가입을 환영합니다.")

        opened = offline_page.page.goto(link)

        assert opened is not None
        assert opened.status == 200
        assert email in offline_page.page.locator("#success").inner_text()
        offline_page.screenshot("verify-email-done.png", request)
        assert_self_contained(offline_page)
        token = login(http, email, PASSWORD).json()["access_token"]
        log_audit.remember_token(token)
        me = http.get("/users/me", headers={"Authorization": f"Bearer {token}"})
        assert me.json()["email_verified"] is True
