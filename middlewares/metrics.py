"""Prometheus request metrics, recorded by the activity-log middleware.

Labelled by method, route *template* (``/notes/{note_id}``, never the raw
path, so ids cannot explode the label set) and status.
"""

from prometheus_client import Counter, Histogram
from starlette.types import Scope

UNMATCHED_ROUTE = "<unmatched>"

REQUESTS = Counter("http_requests_total", "HTTP requests answered", ["method", "route", "status"])
LATENCY = Histogram(
    "http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "route", "status"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


def observe_request(scope: Scope, *, status: int, seconds: float) -> None:
    route = getattr(scope.get("route"), "path", UNMATCHED_ROUTE)
    labels = (scope["method"], route, str(status))
    REQUESTS.labels(*labels).inc()
    LATENCY.labels(*labels).observe(seconds)
