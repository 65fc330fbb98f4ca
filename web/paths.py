"""Path convertors the routes share.

Starlette matches a route on the decoded path, and its ``path`` convertor is
``.*``: it stops at a newline, so ``/notes/tags/a%0A/notes`` would match no
route and get a 404 the schema does not declare. ``{name:text}`` takes any
text, ``/`` and newlines included; the use case then decides what it means.
"""

from starlette.convertors import PathConvertor, register_url_convertor


class AnyTextConvertor(PathConvertor):
    """Starlette's ``path``, with newlines too."""

    regex = "(?s:.*)"


register_url_convertor("text", AnyTextConvertor())
