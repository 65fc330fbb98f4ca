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

_markdown = MarkdownIt("commonmark", {"html": False})
_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    auto_reload=False,
)


def _absolute_url_only(tag: str, attribute: str, value: str) -> str | None:
    """Drop a URL attribute unless it is an absolute URL of an allowed scheme (nh3 checks the
    schemes of absolute URLs; relative ones, ``//other.host`` among them, it would let through)."""
    if attribute not in URL_ATTRIBUTES:
        return value
    parts = urlsplit(value)
    return value if parts.scheme.lower() in URL_SCHEMES and (parts.netloc or parts.scheme == "mailto") else None


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
