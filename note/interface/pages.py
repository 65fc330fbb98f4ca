"""The HTML page of a shared note (SPEC §13): Markdown rendered safely into a Jinja2 template.

The content goes through markdown-it-py (CommonMark, HTML input off: raw HTML
is shown as text) and then through nh3, which keeps only an allow-list of tags
and attributes, only absolute ``http``, ``https`` and ``mailto`` URLs, and puts
``rel="nofollow noopener"`` on every link. Everything else on the page is
autoescaped by Jinja2. The page has its CSS inline, no script, and nothing
from another host; the headers below let a browser enforce that.
"""

from pathlib import Path
from urllib.parse import urlsplit

import nh3
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markdown_it import MarkdownIt
from markupsafe import Markup

from note.domain.note import format_memo_date
from note.domain.share import SharedNote

SHARED_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:",
    "X-Robots-Tag": "noindex",
    "Referrer-Policy": "no-referrer",
}
"""On every answer of ``GET /shared/{token}`` (the §13 headers), HTML or JSON."""

URL_SCHEMES = frozenset({"http", "https", "mailto"})
URL_ATTRIBUTES = frozenset({"href", "src"})
ALLOWED_TAGS = frozenset(
    {"a", "blockquote", "br", "code", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "img", "li", "ol", "p", "pre"}
    | {"strong", "ul"}
)
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "ol": {"start"}}

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    auto_reload=False,
)


def is_allowed_url(url: str) -> bool:
    """An absolute ``http``, ``https`` or ``mailto`` URL. Relative ones are refused too: on a page
    at ``/shared/...`` they would point into the API, and ``//other.host`` to anywhere."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme in URL_SCHEMES and (bool(parts.netloc) or scheme == "mailto")


def _absolute_url_only(tag: str, attribute: str, value: str) -> str | None:
    return value if attribute not in URL_ATTRIBUTES or is_allowed_url(value) else None


# A link or image with any other URL stays Markdown text; nh3 checks again, whatever the parser did.
_markdown = MarkdownIt("commonmark", {"html": False})
_markdown.validateLink = is_allowed_url  # type: ignore[method-assign]


_cleaner = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
    url_schemes=set(URL_SCHEMES),
    link_rel="nofollow noopener",
    attribute_filter=_absolute_url_only,
    strip_comments=True,
)


def render_markdown(text: str) -> Markup:
    """CommonMark to HTML that is safe to put in a page as it is."""
    return Markup(_cleaner.clean(_markdown.render(text)))  # noqa: S704 - sanitized by nh3 just above


def shared_note_page(note: SharedNote) -> str:
    return _templates.get_template("shared_note.html").render(
        title=note.title,
        author=note.author,
        memo_date=_iso_date(format_memo_date(note.memo_date)),
        tags=note.tags,
        updated_at=note.updated_at.strftime("%Y-%m-%d %H:%M UTC"),
        content=render_markdown(note.content),
    )


def _iso_date(yyyymmdd: str) -> str:
    return f"{yyyymmdd[:4]}-{yyyymmdd[4:6]}-{yyyymmdd[6:]}"
