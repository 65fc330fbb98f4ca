"""SPEC §15 on real servers: who the activity log says the client is, and the other §15 lines on the wire.

``python main.py`` listens on 127.0.0.1; the whole of 127.0.0.0/8 is the
loopback, so a test connects from 127.0.0.1 (a client) or from 127.0.0.2 (the
proxy, when ``FORWARDED_ALLOW_IPS=127.0.0.2``). uvicorn's own default would
believe ``X-Forwarded-For`` from 127.0.0.1: these tests fail if that leaks
through. The documented multi-process command is checked the same way.
"""

import gzip
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from observability.log import LOG_CONFIG_FILE
from tests.support.app import PASSWORD, TEST_JWT_SECRET, migrate, unique_email
from tests.support.live_server import LiveServer, live_server, main_py, uvicorn_factory

CLIENT_ADDRESS = "127.0.0.1"
PROXY_ADDRESS = "127.0.0.2"
ORIGIN = "https://app.example.test"
QUIET_RELAY = {"EMAIL_RELAY_INTERVAL_SECONDS": "3600"}  # no relay lines between the requests'


@pytest.fixture(scope="module")
def plain_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """``python main.py`` with none of the §15 variables set."""
    workdir = tmp_path_factory.mktemp("plain")
    with live_server(name="main.py plain", command=main_py(), workdir=workdir, env=QUIET_RELAY) as running:
        yield running


@pytest.fixture(scope="module")
def proxied_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """``python main.py`` behind a proxy at 127.0.0.2, with trusted hosts and CORS on."""
    env = {
        **QUIET_RELAY,
        "FORWARDED_ALLOW_IPS": PROXY_ADDRESS,
        "TRUSTED_HOSTS": f"{CLIENT_ADDRESS},{PROXY_ADDRESS},api.example.test",
        "CORS_ORIGINS": ORIGIN,
    }
    workdir = tmp_path_factory.mktemp("proxied")
    with live_server(name="main.py proxied", command=main_py(), workdir=workdir, env=env) as running:
        yield running


def http_from(address: str) -> httpx.Client:
    """A client whose connections leave from ``address``."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=10)


def logged_client(server: LiveServer, *, source: str, forwarded_for: str | None) -> str:
    """The ``client`` of the request line for one ``GET /health`` from ``source``."""
    request_id = f"xff-{uuid.uuid4().hex}"
    headers = {"X-Request-ID": request_id, "X-Forwarded-Proto": "https"}
    if forwarded_for is not None:
        headers["X-Forwarded-For"] = forwarded_for
    with http_from(source) as http:
        response = http.get(f"{server.base_url}/health", headers=headers)
    assert response.status_code == 200, response.text
    [line] = server.request_lines(request_id)
    return line["client"]


def test_with_forwarded_allow_ips_unset_a_loopback_client_cannot_choose_its_address(plain_server: LiveServer) -> None:
    client = logged_client(plain_server, source=CLIENT_ADDRESS, forwarded_for="203.0.113.7")

    assert client.startswith(f"{CLIENT_ADDRESS}:"), client
    assert "203.0.113.7" not in client


def test_a_listed_proxy_gives_the_client_address(proxied_server: LiveServer) -> None:
    client = logged_client(proxied_server, source=PROXY_ADDRESS, forwarded_for="203.0.113.7")

    assert client == "203.0.113.7:0"  # the proxy names no port


def test_what_a_client_wrote_before_the_proxy_appended_is_not_believed(proxied_server: LiveServer) -> None:
    # nginx's $proxy_add_x_forwarded_for: the client's own header, then the address the proxy saw.
    client = logged_client(proxied_server, source=PROXY_ADDRESS, forwarded_for="198.51.100.66, 203.0.113.7")

    assert client == "203.0.113.7:0"


def test_a_peer_that_is_not_listed_is_logged_as_itself(proxied_server: LiveServer) -> None:
    client = logged_client(proxied_server, source=CLIENT_ADDRESS, forwarded_for="203.0.113.7")

    assert client.startswith(f"{CLIENT_ADDRESS}:"), client


def test_without_x_forwarded_for_the_proxy_itself_is_logged(proxied_server: LiveServer) -> None:
    client = logged_client(proxied_server, source=PROXY_ADDRESS, forwarded_for=None)

    assert client.startswith(f"{PROXY_ADDRESS}:"), client


def test_on_the_wire_a_large_response_is_gzip_and_its_etag_the_same(proxied_server: LiveServer) -> None:
    base = proxied_server.base_url
    with httpx.Client(base_url=base, timeout=10) as http:
        email = unique_email("wire")
        assert http.post("/users", json={"name": "Wira", "email": email, "password": PASSWORD}).status_code == 201
        token = http.post("/users/login", data={"username": email, "password": PASSWORD}).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        note = {"title": "wire", "content": "압축 " * 3000, "memo_date": "20261201"}
        created = http.post("/notes", json=note, headers=auth)
        path = f"/notes/{created.json()['id']}"

        plain = http.get(path, headers=auth | {"Accept-Encoding": "identity"})
        with http.stream("GET", path, headers=auth | {"Accept-Encoding": "gzip"}) as zipped:
            raw = b"".join(zipped.iter_raw())

    assert raw[:2] == b"\x1f\x8b"  # gzip's magic number, as the server sent it
    assert len(raw) < len(plain.content) // 4
    assert gzip.decompress(raw) == plain.content
    assert zipped.headers["ETag"] == plain.headers["ETag"] == created.headers["ETag"]


def test_on_the_wire_a_refused_host_and_a_preflight_are_one_line_each(proxied_server: LiveServer) -> None:
    refused_id, preflight_id = f"host-{uuid.uuid4().hex}", f"cors-{uuid.uuid4().hex}"
    with httpx.Client(base_url=proxied_server.base_url, timeout=10) as http:
        refused = http.get("/users/me", headers={"Host": "evil.example.test", "X-Request-ID": refused_id})
        health = http.get("/health", headers={"Host": "10.1.2.3:8000"})
        preflight = http.options(
            "/notes",
            headers={
                "Origin": ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
                "X-Request-ID": preflight_id,
            },
        )

    assert (refused.status_code, refused.json()) == (400, {"detail": "Invalid host header"})
    assert refused.headers["X-Request-ID"] == refused_id
    assert health.status_code == 200
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == ORIGIN
    [refused_line] = proxied_server.request_lines(refused_id)
    [preflight_line] = proxied_server.request_lines(preflight_id)
    assert (refused_line["path"], refused_line["status"]) == ("/users/me", 400)
    assert (preflight_line["method"], preflight_line["status"]) == ("OPTIONS", 200)


def _uvicorn_workers(tmp_path: Path, *proxy_flags: str) -> Any:
    """The README's multi-process command (two workers) with ``proxy_flags``, after ``alembic upgrade head``."""
    database_url = f"sqlite:///{tmp_path / 'til.db'}"
    migrate(database_url)
    command = uvicorn_factory(
        "main:create_app", "--workers", "2", "--no-access-log", "--log-config", str(LOG_CONFIG_FILE), *proxy_flags
    )
    env = {**QUIET_RELAY, "DATABASE_URL": database_url, "JWT_SECRET": TEST_JWT_SECRET}
    return live_server(name="uvicorn workers", command=command, workdir=tmp_path, env=env)


def test_uvicorn_workers_believe_only_the_proxy_named_by_forwarded_allow_ips(tmp_path: Path) -> None:
    with _uvicorn_workers(tmp_path, "--forwarded-allow-ips", PROXY_ADDRESS) as server:
        from_proxy = [logged_client(server, source=PROXY_ADDRESS, forwarded_for="203.0.113.9") for _ in range(4)]
        from_client = logged_client(server, source=CLIENT_ADDRESS, forwarded_for="203.0.113.9")

    assert from_proxy == ["203.0.113.9:0"] * 4
    assert from_client.startswith(f"{CLIENT_ADDRESS}:"), from_client


def test_uvicorn_workers_without_a_proxy_believe_nobody(tmp_path: Path) -> None:
    with _uvicorn_workers(tmp_path, "--no-proxy-headers") as server:
        client = logged_client(server, source=CLIENT_ADDRESS, forwarded_for="203.0.113.9")

    assert client.startswith(f"{CLIENT_ADDRESS}:"), client
