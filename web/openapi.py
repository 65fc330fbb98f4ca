"""What ``/openapi.json`` says about every route, in one place, so a route added later follows by itself.

- ``operation_id``: short, stable operation ids, ``<tag>-<name>`` (``notes-list_by_tag``): the route
  function's name without the words of its tag, which the tag already says. Generated clients group
  operations by tag, so a client author calls ``notes.list_by_tag``, not
  ``list_notes_by_tag_notes_tags_tag_name_notes_get``.
- ``install_openapi``: the document FastAPI builds, then what FastAPI cannot say per route: every
  response carries ``X-Request-ID`` (``middlewares/request_context.py`` sets it on every answer), and
  a validation error's ``ctx`` is an open object (``{"min_length": 2}``), not an empty one; and no
  operation declares a 422 it cannot answer (FastAPI declares one wherever a route has a parameter, even
  a path segment that any text is valid for).
"""

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

REQUEST_ID_HEADER = {
    "X-Request-ID": {
        "description": "This request's id: the one sent in `X-Request-ID` when it is sane, else a new one",
        "required": True,
        "schema": {"type": "string"},
    }
}
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def _name_words(tag: str) -> set[str]:
    """The words a tag makes redundant in a route's name: ``notes`` → ``notes``, ``note``."""
    return {tag, tag.removesuffix("s")}


def operation_id(route: APIRoute) -> str:
    """``<first tag>-<route name without the tag's words>``; the bare name for an untagged route."""
    if not route.tags:
        return route.name
    tag = str(route.tags[0])
    words = [word for word in route.name.split("_") if word not in _name_words(tag)]
    return f"{tag}-{'_'.join(words) or route.name}"


def install_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` (what ``/openapi.json`` answers) the document FastAPI builds, completed."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _completed(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _completed(document: dict[str, Any]) -> dict[str, Any]:
    for path_item in document.get("paths", {}).values():
        for method, operation in path_item.items():
            if method in HTTP_METHODS:
                _declare_request_id(operation)
                if not _can_be_invalid(operation):
                    operation.get("responses", {}).pop("422", None)
    schemas = document.get("components", {}).get("schemas", {})
    context = schemas.get("ValidationError", {}).get("properties", {}).get("ctx")
    if context is not None:
        context["additionalProperties"] = True
    return document


# The keywords of a parameter schema that say nothing about which values are valid.
_ANNOTATIONS = {"title", "description", "examples", "example", "deprecated"}


def _can_be_invalid(operation: dict[str, Any]) -> bool:
    """Whether some request could fail validation: a body, or a parameter that is required (a header or
    query parameter can be missing) or constrained. A path parameter is always there."""
    if "requestBody" in operation:
        return True
    return any(
        (parameter.get("required") and parameter["in"] != "path") or not _any_text(parameter.get("schema", {}))
        for parameter in operation.get("parameters", [])
    )


def _any_text(schema: dict[str, Any]) -> bool:
    """A schema every string (or absence) satisfies: ``string``, or ``string`` or ``null``, unconstrained."""
    if "anyOf" in schema and not set(schema) - {"anyOf"} <= _ANNOTATIONS:
        return False
    return all(
        option.get("type") in {"string", "null"} and set(option) - {"type"} <= _ANNOTATIONS
        for option in schema.get("anyOf", [schema])
    )


def _declare_request_id(operation: dict[str, Any]) -> None:
    for response in operation.get("responses", {}).values():
        response.setdefault("headers", {}).update(REQUEST_ID_HEADER)
