"""The shared page against hostile notes (SPEC §13): each case of the corpus is written as a note's
content (and, where it fits, its title and tags), shared, and read back as HTML; the page is then
parsed and checked as a browser would see it.

What must hold on every page: no ``script``, ``style`` (beyond the template's own), ``iframe``,
``object``, ``embed``, ``form``, ``input``, ``svg``, ``math`` or ``base`` element; no event-handler
(``on*``), ``style`` or ``srcdoc`` attribute; every URL absolute ``http``, ``https`` or ``mailto``;
every link ``rel="nofollow noopener"``; raw HTML shown as text; the page whole (one ``html``, one
``body``, the footer still last).
"""

from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from note.interface.pages import ALLOWED_TAGS
from tests.support import log_audit
from tests.support.app import new_user
from tests.support.notes import create_note

# The template's own elements; the content may bring only ALLOWED_TAGS.
TEMPLATE_TAGS = {"html", "head", "meta", "title", "style", "body", "main", "header", "p", "h1", "span", "time"}
TEMPLATE_TAGS |= {"ul", "li", "article", "footer"}
FORBIDDEN_TAGS = {"script", "iframe", "object", "embed", "form", "input", "svg", "math", "base", "link", "textarea"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "srcset", "poster", "background"}
ALLOWED_SCHEMES = {"http", "https", "mailto"}
LONG_LINE = "가나다" * 3000 + "-" + "a" * 9000

CORPUS = {
    "script tag": "<script>alert('xss')</script>",
    "script tag, upper case": "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    "script split over lines": "<scr\nipt>alert(1)</scr\nipt>",
    "event handler on img": '<img src="x" onerror="alert(1)">',
    "event handler on svg": "<svg/onload=alert(1)>",
    "event handler in markdown image title": '![a](https://example.com/a.png "x\\" onerror=\\"alert(1))',
    "javascript link": "[click](javascript:alert(1))",
    "javascript link, mixed case and spaces": "[click]( JaVaScRiPt:alert(1) )",
    "javascript link, entity-encoded": "[click](jav&#x61;script:alert(1))",
    "javascript link, angle brackets": "[click](<javascript:alert(1)>)",
    "javascript autolink": "<javascript:alert(1)>",
    "javascript reference link": "[click][x]\n\n[x]: javascript:alert(1)",
    "vbscript link": "[click](vbscript:msgbox(1))",
    "data link": "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "data image": "![pixel](data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk)",
    "data svg image": "![svg](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "file link": "[secrets](file:///etc/passwd)",
    "protocol-relative link": "[away](//evil.example/path)",
    "relative link": "[here](/users/me)",
    "raw anchor": '<a href="javascript:alert(1)">x</a>',
    "raw iframe": '<iframe src="https://evil.example"></iframe>',
    "raw form": '<form action="https://evil.example"><input name="password"></form>',
    "raw style": "<style>body { display: none }</style>",
    "style attribute": '<p style="position:fixed;inset:0">cover</p>',
    "meta refresh": '<meta http-equiv="refresh" content="0;url=https://evil.example">',
    "base tag": '<base href="https://evil.example/">',
    "html comment": "<!-- <script>alert(1)</script> -->",
    "cdata": "<![CDATA[<script>alert(1)</script>]]>",
    "html entity trick": "&lt;script&gt;alert(1)&lt;/script&gt;",
    "broken markdown": "**unclosed *emphasis [link(https://example.com\n\n```\nunclosed fence <script>",
    "nested brackets": "[[[[[[[[[[x]]]]]]]]]](javascript:alert(1))",
    "link in code": "`<a href=javascript:alert(1)>x</a>` and\n\n    <script>alert(1)</script>",
    "mailto link": "[mail me](mailto:someone@example.com)",
    "https link with quotes": '[q](https://example.com/?a="onmouseover=alert(1)")',
    "autolink": "<https://example.com/a?b=c&d=e>",
    "very long line": LONG_LINE,
    "many blockquotes": ">" * 500 + " deep",
    "many list levels": "\n".join("  " * level + "- item" for level in range(100)),
}
HOSTILE_TITLES = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "{{ 7*7 }} {% raw %}"]


class Page(HTMLParser):
    """Every start tag of a page with its attributes, and its text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


def shared_page(client: TestClient, headers: dict[str, str], **note: Any) -> str:
    created = create_note(client, headers, **note)
    response = client.put(f"/notes/{created['id']}/share", headers=headers)
    assert response.status_code == 200, response.text
    token = response.json()["token"]
    log_audit.remember_secret(token, what="a share token")
    page = client.get(f"/shared/{token}", headers={"Accept": "text/html"})
    assert page.status_code == 200, page.text
    return page.text


def assert_safe(html: str) -> Page:
    page = parse(html)
    names = [tag for tag, _ in page.tags]
    assert not FORBIDDEN_TAGS & set(names), names
    assert set(names) <= TEMPLATE_TAGS | ALLOWED_TAGS, set(names) - TEMPLATE_TAGS - ALLOWED_TAGS
    assert names.count("html") == names.count("body") == names.count("style") == 1
    assert names[-1] == "footer" or "footer" in names[names.index("article") :]
    for tag, attributes in page.tags:
        for name, value in attributes.items():
            assert not name.startswith("on"), (tag, name, value)
            assert name not in {"style", "srcdoc", "formaction"}, (tag, name)
            if name in URL_ATTRIBUTES:
                assert value is not None
                parts = urlsplit(value)
                assert parts.scheme.lower() in ALLOWED_SCHEMES, (tag, name, value)
                assert parts.netloc or parts.scheme == "mailto", (tag, name, value)
            assert "javascript:" not in (value or "").lower().replace(" ", ""), (tag, name, value)
        if tag == "a":
            assert attributes.get("rel") == "nofollow noopener", attributes
        if tag == "meta":
            assert set(attributes) <= {"charset", "name", "content"}, attributes
    return page


@pytest.fixture
def author(client: TestClient) -> dict[str, str]:
    return new_user(client, name="Mallory")[1]


@pytest.mark.parametrize("content", CORPUS.values(), ids=CORPUS.keys())
def test_hostile_content_renders_harmless(client: TestClient, author: dict[str, str], content: str) -> None:
    html = shared_page(client, author, content=content)

    assert_safe(html)


def test_raw_html_is_shown_as_text(client: TestClient, author: dict[str, str]) -> None:
    html = shared_page(client, author, content="Before <b>bold?</b> <script>alert(1)</script> after")

    page = assert_safe(html)

    assert "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Before <b>bold?</b> <script>alert(1)</script> after" in "".join(page.text)


def test_markdown_still_renders(client: TestClient, author: dict[str, str]) -> None:
    content = (
        "# Title\n\n## Sub\n\nSome **bold**, *em* and `code`.\n\n> quoted\n\n1. one\n2. two\n\n- a\n- b\n\n"
        "```python\nprint('<hi>')\n```\n\n---\n\n[site](https://example.com/path?q=1) <mailto:me@example.com>\n\n"
        "![logo](https://example.com/logo.png)"
    )
    html = shared_page(client, author, content=content)

    page = assert_safe(html)

    names = [tag for tag, _ in page.tags]
    for tag in ("h1", "h2", "strong", "em", "code", "blockquote", "ol", "pre", "hr", "img"):
        assert tag in names, tag
    links = [attributes["href"] for tag, attributes in page.tags if tag == "a"]
    assert links == ["https://example.com/path?q=1", "mailto:me@example.com"]
    assert "print(&#39;&lt;hi&gt;&#39;)" in html or "print('&lt;hi&gt;')" in html


@pytest.mark.parametrize("title", HOSTILE_TITLES)
def test_hostile_titles_and_tags_are_escaped(client: TestClient, author: dict[str, str], title: str) -> None:
    html = shared_page(client, author, title=title, tags=["<b>tag<b>", "x\"onmouseover='1'"], content="ok")

    page = assert_safe(html)

    text = "".join(page.text)
    assert title in text
    assert "<b>tag<b>" in text


def test_a_hostile_author_name_is_escaped(client: TestClient) -> None:
    _, headers = new_user(client, name="<img src=x onerror=1>")

    html = shared_page(client, headers, content="hello")

    page = assert_safe(html)
    assert "<img src=x onerror=1>" in "".join(page.text)


def test_links_and_images_of_other_urls_stay_markdown_text(client: TestClient, author: dict[str, str]) -> None:
    content = "[here](/users/me) [away](//evil.example) [file](file:///etc/passwd) ![pixel](data:image/png;base64,AA)"
    html = shared_page(client, author, content=content)

    page = assert_safe(html)

    assert [tag for tag, _ in page.tags if tag in {"a", "img"}] == []
    assert content in "".join(page.text)
