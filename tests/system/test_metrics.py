"""``GET /metrics`` (SPEC §4) on a real ``uvicorn main:create_app --factory`` process.

The server has a registry of its own, so every delta below is exactly what
these tests sent.
"""

import math
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from middlewares.metrics import OTHER_METHOD, UNMATCHED_ROUTE
from tests.support.app import TEST_JWT_SECRET, bearer, login, migrate, signup, unique_email
from tests.support.live_server import LiveServer, live_server, uvicorn_factory

REQUESTS = "http_requests_total"
LATENCY = "http_request_duration_seconds"
Labels = tuple[str, str, str]  # method, route template, status


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    workdir: Path = tmp_path_factory.mktemp("metrics")
    database_url = f"sqlite:///{workdir / 'til.db'}"
    migrate(database_url)
    with live_server(
        name="factory",
        command=uvicorn_factory("main:create_app"),
        workdir=workdir,
        env={"DATABASE_URL": database_url, "JWT_SECRET": TEST_JWT_SECRET},
    ) as running:
        yield running


@pytest.fixture(scope="module")
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        yield client


class Scrape:
    """One ``GET /metrics``, parsed with prometheus_client's own parser."""

    def __init__(self, http: httpx.Client) -> None:
        response = http.get("/metrics")
        assert response.status_code == 200
        self.content_type = response.headers["content-type"]
        self.families = {family.name: family for family in text_string_to_metric_families(response.text)}
        self.samples: list[Sample] = [sample for family in self.families.values() for sample in family.samples]

    def value(self, name: str, **labels: str) -> float:
        found = [s.value for s in self.samples if s.name == name and s.labels == labels]
        assert len(found) <= 1, found
        return found[0] if found else 0.0

    def requests(self, labels: Labels) -> float:
        method, route, status = labels
        return self.value(REQUESTS, method=method, route=route, status=status)

    def latency_count(self, labels: Labels) -> float:
        method, route, status = labels
        return self.value(f"{LATENCY}_count", method=method, route=route, status=status)

    def routes(self) -> set[str]:
        return {s.labels["route"] for s in self.samples if s.name == REQUESTS}


def test_the_request_counter_goes_up_by_the_number_sent_by_route_template(
    server: LiveServer, http: httpx.Client
) -> None:
    email = unique_email("metrics")
    user = signup(http, email=email)
    headers = bearer(login(http, email))
    others = [f"01{uuid.uuid4().hex[:24].upper()}" for _ in range(7)]
    before = Scrape(http)

    for other in others:
        assert http.get(f"/users/{other}", headers=headers).status_code == 403
    for _ in range(3):
        assert http.get(f"/users/{user['id']}", headers=headers).status_code == 200
    after = Scrape(http)

    forbidden: Labels = ("GET", "/users/{user_id}", "403")
    allowed: Labels = ("GET", "/users/{user_id}", "200")
    assert after.requests(forbidden) - before.requests(forbidden) == 7
    assert after.requests(allowed) - before.requests(allowed) == 3
    assert after.latency_count(forbidden) - before.latency_count(forbidden) == 7
    assert after.latency_count(allowed) - before.latency_count(allowed) == 3
    raw_paths = [route for route in after.routes() if user["id"] in route or any(o in route for o in others)]
    assert raw_paths == []


def test_the_tag_route_is_labelled_with_its_openapi_template(http: httpx.Client) -> None:
    """The route matches ``{tag_name:text}`` (an encoded ``/`` or newline in a tag); its label is OpenAPI's template."""
    headers = bearer(login(http, signup(http, email=unique_email("metrics-tag"))["email"]))
    labels: Labels = ("GET", "/notes/tags/{tag_name}/notes", "200")
    before = Scrape(http)

    for tag in ["study", "a%2Fb", "a%0Ab"]:
        assert http.get(f"/notes/tags/{tag}/notes", headers=headers).status_code == 200
    after = Scrape(http)

    assert after.requests(labels) - before.requests(labels) == 3
    assert not [route for route in after.routes() if ":text" in route]


def test_paths_no_route_matches_share_one_label(http: httpx.Client) -> None:
    labels: Labels = ("GET", UNMATCHED_ROUTE, "404")
    before = Scrape(http)
    nonce = uuid.uuid4().hex

    for number in range(4):
        assert http.get(f"/no-such-thing/{nonce}/{number}").status_code == 404
    after = Scrape(http)

    assert after.requests(labels) - before.requests(labels) == 4
    assert not [route for route in after.routes() if nonce in route]


def test_every_scrape_is_counted_once(http: httpx.Client) -> None:
    labels: Labels = ("GET", "/metrics", "200")
    first = Scrape(http)
    second = Scrape(http)
    third = Scrape(http)

    assert second.requests(labels) - first.requests(labels) == 1
    assert third.requests(labels) - second.requests(labels) == 1


def test_the_latency_histogram_is_a_prometheus_histogram(http: httpx.Client) -> None:
    assert http.get("/health").status_code == 200
    scrape = Scrape(http)

    family = scrape.families[LATENCY]
    assert family.type == "histogram"
    labels = {"method": "GET", "route": "/health", "status": "200"}
    buckets = sorted(
        (float(s.labels["le"]), s.value)
        for s in family.samples
        if s.name == f"{LATENCY}_bucket" and {k: v for k, v in s.labels.items() if k != "le"} == labels
    )
    assert len(buckets) >= 5
    assert buckets[-1][0] == math.inf
    counts = [count for _, count in buckets]
    assert counts == sorted(counts), "cumulative buckets"
    assert buckets[-1][1] == scrape.value(f"{LATENCY}_count", **labels) >= 1
    assert scrape.value(f"{LATENCY}_sum", **labels) > 0


def test_the_text_is_the_prometheus_format_with_the_email_metrics(http: httpx.Client) -> None:
    scrape = Scrape(http)

    assert scrape.content_type == "text/plain; version=0.0.4; charset=utf-8"
    assert scrape.families[REQUESTS.removesuffix("_total")].type == "counter"
    assert scrape.families["emails_sent"].type == "counter"
    assert scrape.families["emails_failed"].type == "counter"
    assert scrape.families["outbox_pending"].type == "gauge"
    assert scrape.value("emails_sent_total") >= 0
    assert scrape.value("emails_failed_total") >= 0


def test_a_scraper_that_asks_for_openmetrics_gets_it(http: httpx.Client) -> None:
    response = http.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/openmetrics-text; version=1.0.0")
    assert response.text.endswith("# EOF\n")


def test_a_method_outside_the_standard_ones_is_counted_as_other(http: httpx.Client) -> None:
    # uvicorn's default parser (llhttp) only lets through the methods it knows, WebDAV's among them;
    # with --http h11 any token gets through. Either way the label set stays bounded.
    before = Scrape(http)

    assert http.request("PROPFIND", "/no-such-thing").status_code == 404
    assert http.request("MKCOL", "/health").status_code == 405
    after = Scrape(http)

    unmatched: Labels = (OTHER_METHOD, UNMATCHED_ROUTE, "404")
    health: Labels = (OTHER_METHOD, "/health", "405")
    assert after.requests(unmatched) - before.requests(unmatched) == 1
    assert after.requests(health) - before.requests(health) == 1
    methods = {s.labels["method"] for s in after.samples if s.name == REQUESTS}
    assert methods <= {"GET", "POST", "PUT", "DELETE", OTHER_METHOD}
