"""Prometheus request metrics, recorded by the activity-log middleware.

Labelled by method, route *template* (``/notes/{note_id}``, never the raw
path, so ids cannot explode the label set) and status. A method outside the
standard ones is counted as ``OTHER``, for the same reason: clients choose
methods freely. Under ``uvicorn --workers N`` every worker's counts are
summed at each scrape (``observability/metrics.py``, imported first for that).
"""

from prometheus_client import Counter, Histogram
from starlette.types import Scope

import observability.metrics  # noqa: F401 - first: it decides where metric values live (one process or all workers)

UNMATCHED_ROUTE = "<unmatched>"
OTHER_METHOD = "OTHER"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"})

REQUESTS = Counter("http_requests_total", "HTTP requests answered", ["method", "route", "status"])
LATENCY = Histogram(
    "http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "route", "status"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)

# The labelled children, looked up once per label set: ``labels()`` is the
# dearest part of recording. Bounded like the label sets themselves.
_children: dict[tuple[str, str, str], tuple[Counter, Histogram]] = {}


def observe_request(scope: Scope, *, status: int, seconds: float) -> None:
    method = scope["method"] if scope["method"] in KNOWN_METHODS else OTHER_METHOD
    # The template as OpenAPI writes it: ``{tag_name}``, not the ``{tag_name:text}`` the route matches with.
    route = getattr(scope.get("route"), "path_format", UNMATCHED_ROUTE)
    key = (method, route, str(status))
    children = _children.get(key)
    if children is None:
        children = _children[key] = (REQUESTS.labels(*key), LATENCY.labels(*key))
    requests, latency = children
    requests.inc()
    latency.observe(seconds)
