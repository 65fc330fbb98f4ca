"""A shared note in a real browser (SPEC §13): Debian's Chromium, driven by Playwright, opens the
link on a live ``python main.py`` with every request that is not for the loopback server aborted.

The note is as hostile as it gets (a script tag, event handlers, ``javascript:`` and ``data:``
URLs, raw HTML, a very long line); the page must still show its title and content, fire no dialog,
raise no error, run no script, request nothing but the page itself, and fit the window. The
screenshot goes to ``artifacts/`` and its path to the test output (see test_docs_browser.py).
"""

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.support import log_audit
from tests.support.app import bearer, login, service_missing, signup, unique_email
from tests.support.live_server import LiveServer, live_server, main_py
from tests.system.test_docs_browser import CHROMIUM, CHROMIUM_ARGS, OfflinePage

pytestmark = pytest.mark.browser

TITLE = "Generators pause <script>alert('title')</script> 🎉"
CONTENT = """# 제너레이터 Generators

A generator **pauses** at each `yield` and *resumes* on `next()`.

```python
def count():
    yield 1
```

> Lazy sequences cost no memory up front.

- [Python docs](https://docs.python.org/3/glossary.html#term-generator)
- [click me](javascript:alert('link'))
- <img src=x onerror="alert('img')"> and <script>alert('script')</script>
- [data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)
- ![pixel](data:image/png;base64,iVBORw0KGgo=)

LONG_LINE
""".replace("LONG_LINE", "x" * 3000)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(name="shared-page", command=main_py(), workdir=tmp_path_factory.mktemp("shared")) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        service_missing(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def link(server: LiveServer) -> str:
    """The URL of a freshly shared hostile note (never requested from this process: its token stays out
    of every log, which tests/system/test_log_secrets.py checks)."""
    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        email = unique_email("sharer")
        signup(http, name="Ada 러브레이스", email=email)
        headers = bearer(login(http, email))
        note = http.post("/notes", json={"title": TITLE, "content": CONTENT, "memo_date": "20261201"}, headers=headers)
        assert note.status_code == 201, note.text
        shared = http.put(f"/notes/{note.json()['id']}/share", json={"expires_in_days": 7}, headers=headers)
    assert shared.status_code == 200, shared.text
    log_audit.remember_secret(shared.json()["token"], what="a share token")
    return shared.json()["url"]


def test_a_shared_note_renders_offline_with_nothing_run(
    browser: Browser, link: str, request: pytest.FixtureRequest
) -> None:
    offline = OfflinePage(browser)
    dialogs: list[str] = []
    offline.page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    try:
        response = offline.page.goto(link)
        assert response is not None
        assert response.status == 200
        page = offline.page
        page.wait_for_load_state("load")

        title = page.locator("h1.title").inner_text()
        heading = page.locator("article h1").inner_text()
        paragraph = page.locator("article p").first.inner_text()
        author = page.locator(".author").inner_text()
        links = page.eval_on_selector_all("article a", "anchors => anchors.map(a => [a.href, a.rel])")
        scripts = page.eval_on_selector_all("script", "scripts => scripts.length")
        fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        page.wait_for_timeout(300)  # time for anything deferred to fire
        screenshot: Path = offline.screenshot("shared-note.png", request)
    finally:
        offline.close()

    assert title == TITLE  # the script tag in it is text
    assert heading == "제너레이터 Generators"
    assert paragraph.startswith("A generator pauses at each yield and resumes on next().")
    assert author == "Ada 러브레이스"
    assert links == [["https://docs.python.org/3/glossary.html#term-generator", "nofollow noopener"]]
    assert scripts == 0
    assert fits, "a long line made the page wider than the window"
    assert dialogs == [], "a script on the page opened a dialog"
    assert offline.errors == []
    assert offline.blocked == [], "the page asked for something from another host"
    assert offline.loopback == [link], offline.loopback
    assert screenshot.stat().st_size > 10_000
