"""Email bodies from the template files in ``templates/``: ``<kind>.txt`` and ``<kind>.html``.

Placeholders are ``${name}`` (``string.Template``); in the HTML part every
value is HTML-escaped. The renderer knows no kind: whatever keys the
payload has fill the placeholders of the same name, so a new kind needs its
templates and its subject, never code here. Templates are read once, when the renderer is built,
so a missing file stops the start rather than the first email.

A placeholder the payload lacks renders empty: an email queued by an
earlier release (a welcome email from before it carried a verification
link) still goes out, rather than failing at every attempt.
"""

import html
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from string import Template

from mail.application.ports import EmailRenderer, RenderedEmail
from mail.domain.outbox_email import EmailKind

TEMPLATE_DIR = Path(__file__).with_name("templates")


class TemplateEmailRenderer(EmailRenderer):
    def __init__(self, *, subjects: Mapping[EmailKind, str], directory: Path = TEMPLATE_DIR) -> None:
        self._subjects = dict(subjects)
        self._templates = {
            kind: (
                Template((directory / f"{kind.value}.txt").read_text(encoding="utf-8")),
                Template((directory / f"{kind.value}.html").read_text(encoding="utf-8")),
            )
            for kind in EmailKind
        }

    def render(self, *, kind: EmailKind, payload: Mapping[str, str]) -> RenderedEmail:
        text, markup = self._templates[kind]
        return RenderedEmail(
            subject=self._subjects[kind],
            text=text.substitute(defaultdict(str, payload)),
            html=markup.substitute(defaultdict(str, {key: html.escape(value) for key, value in payload.items()})),
        )
