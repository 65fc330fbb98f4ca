"""CORS in a real browser (SPEC §15): a page from another origin calls the API with ``fetch`` and a bearer token.

Two small pages are served from two other loopback ports, so two other
origins; ``python main.py`` lists only the first in ``CORS_ORIGINS``. Debian's
Chromium runs headless under Playwright, as in ``test_docs_browser.py``. From
the listed origin the calls succeed and the page reads the exposed headers;
from the other, ``fetch`` fails and the request behind the preflight never
reaches the route.
"""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.support import log_audit
from tests.support.app import PASSWORD, service_missing, unique_email
from tests.support.live_server import LiveServer, is_request_line, live_server, main_py
from tests.system.test_docs_browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.browser

PAGE = b"""<!doctype html>
<html><head><meta charset="utf-8"><title>TIL client</title></head>
<body><h1>A web app on another origin</h1></body></html>
"""

# Run in the page: the calls a single-page app makes, and what the page can see of the answers.
CALL_THE_API = """
async ({api, token}) => {
  const auth = {"Authorization": `Bearer ${token}`};
  try {
    const me = await fetch(`${api}/users/me`, {headers: auth});
    const created = await fetch(`${api}/notes`, {
      method: "POST",
      headers: {...auth, "Content-Type": "application/json", "X-Request-ID": "from-the-page"},
      body: JSON.stringify({title: "cross-origin", content: "fetch works", memo_date: "20261201", tags: ["cors"]}),
    });
    const note = await created.json();
    const etag = created.headers.get("ETag");
    const updated = await fetch(`${api}/notes/${note.id}`, {
      method: "PUT",
      headers: {...auth, "Content-Type": "application/json", "If-Match": etag},
      body: JSON.stringify({title: "edited cross-origin"}),
    });
    return {
      ok: true,
      me: {status: me.status, body: await me.json()},
      created: {
        status: created.status,
        etag,
        location: created.headers.get("Location"),
        requestId: created.headers.get("X-Request-ID"),
        body: note,
      },
      updated: {status: updated.status, etag: updated.headers.get("ETag"), title: (await updated.json()).title},
    };
  } catch (error) {
    return {ok: false, error: `${error.name}: ${error.message}`};
  }
}
"""


class _PageHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test's output is the API's log."""


@pytest.fixture(scope="module")
def page_origins() -> Iterator[tuple[str, str]]:
    """Two web servers on other loopback ports: the listed origin and another one."""
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), _PageHandler) for _ in range(2)]
    threads = [threading.Thread(target=server.serve_forever, daemon=True) for server in servers]
    for thread in threads:
        thread.start()
    try:
        listed, other = (f"http://127.0.0.1:{server.server_address[1]}" for server in servers)
        yield listed, other
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, page_origins: tuple[str, str]) -> Iterator[LiveServer]:
    listed, _ = page_origins
    env = {"CORS_ORIGINS": listed, "EMAIL_RELAY_INTERVAL_SECONDS": "3600"}
    with live_server(name="cors api", command=main_py(), workdir=tmp_path_factory.mktemp("cors"), env=env) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        service_missing(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    try:
        yield context.new_page()
    finally:
        context.close()


def bearer_token(api: LiveServer) -> tuple[str, str]:
    """A fresh account's email and login token, obtained outside the browser."""
    email = unique_email("cors")
    with httpx.Client(base_url=api.base_url, timeout=10) as http:
        assert http.post("/users", json={"name": "Cora", "email": email, "password": PASSWORD}).status_code == 201
        token = http.post("/users/login", data={"username": email, "password": PASSWORD}).json()["access_token"]
    log_audit.remember_token(token)
    return email, token


def calls(records: list[dict[str, Any]], method: str, path: str, status: int | None = None) -> int:
    """How many request lines are for ``method path`` (answered with ``status``, when given)."""
    return sum(
        1
        for r in records
        if is_request_line(r) and (r["method"], r["path"]) == (method, path) and status in (None, r["status"])
    )


def test_a_page_from_a_listed_origin_calls_the_api_with_a_bearer_token(
    api: LiveServer, page_origins: tuple[str, str], page: Page
) -> None:
    listed, _ = page_origins
    email, token = bearer_token(api)
    page.goto(f"{listed}/")

    result = page.evaluate(CALL_THE_API, {"api": api.base_url, "token": token})

    assert result["ok"], result
    assert result["me"] == {"status": 200, "body": result["me"]["body"]}
    assert result["me"]["body"]["email"] == email
    created = result["created"]
    assert created["status"] == 201
    assert created["etag"] == '"1"'  # exposed: the page can read it
    assert created["location"].endswith(f"/notes/{created['body']['id']}")
    assert created["requestId"] == "from-the-page"
    assert result["updated"] == {"status": 200, "etag": '"2"', "title": "edited cross-origin"}


def test_a_page_from_another_origin_is_stopped_by_the_browser(
    api: LiveServer, page_origins: tuple[str, str], page: Page
) -> None:
    _, other = page_origins
    _, token = bearer_token(api)
    page.goto(f"{other}/")
    before = api.records()

    result = page.evaluate(CALL_THE_API, {"api": api.base_url, "token": token})

    assert result == {"ok": False, "error": "TypeError: Failed to fetch"}
    # The browser asked first (the bearer token needs a preflight), got a plain 405 with no CORS
    # header, and stopped there: the route itself never ran.
    preflights = calls(before, "OPTIONS", "/users/me", 405)
    after = api.wait_for(lambda records: calls(records, "OPTIONS", "/users/me", 405) > preflights)
    assert calls(after, "GET", "/users/me") == calls(before, "GET", "/users/me")
