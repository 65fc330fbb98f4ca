"""Path convertors the routes share.

Starlette matches a route on the decoded path, and its ``path`` convertor is
``.*``: it stops at a newline, so ``/notes/tags/a%0A/notes`` would match no
route and get a 404 the schema does not declare. ``{name:text}`` takes any
text, ``/`` and newlines included; the use case then decides what it means.
"""

from starlette.convertors import Convertor, register_url_convertor


class AnyTextConvertor(Convertor[str]):
    regex = "(?s:.*)"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("text", AnyTextConvertor())
