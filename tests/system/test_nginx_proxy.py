"""The "behind a proxy" recipe, run: nginx with ``script/nginx/til-notes.conf`` in front of
``uvicorn main:create_app --factory --workers 2`` started as docs/browsers-and-proxies.md says.

The site file is used as shipped; only its two addresses (``listen 80`` and
``server 127.0.0.1:8000``) are replaced by free loopback ports, and the test
fails if either is not found, so the file and the test cannot drift apart.
The client connects from 127.0.0.3; nginx reaches the service from 127.0.0.1,
the one address in ``FORWARDED_ALLOW_IPS``.
"""

import gzip
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from main import PROJECT_ROOT
from observability.log import LOG_CONFIG_FILE
from tests.support.app import PASSWORD, TEST_JWT_SECRET, migrate, service_missing, unique_email
from tests.support.live_server import LiveServer, live_server, uvicorn_factory
from tests.support.ports import free_port

SITE_FILE = PROJECT_ROOT / "script" / "nginx" / "til-notes.conf"
NGINX = "/usr/sbin/nginx"
SERVER_NAME = "notes.example.test"
CLIENT_ADDRESS = "127.0.0.3"
ORIGIN = "https://app.example.test"
START_SECONDS = 15

MAIN_CONFIG = """
user root;
worker_processes 1;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {workdir}/client_body;
    proxy_temp_path {workdir}/proxy;
    fastcgi_temp_path {workdir}/fastcgi;
    uwsgi_temp_path {workdir}/uwsgi;
    scgi_temp_path {workdir}/scgi;
    include {workdir}/til-notes.conf;
}}
"""


def site_config(*, listen_port: int, upstream_port: int) -> str:
    text = SITE_FILE.read_text()
    for shipped, used in (
        ("    listen 80;", f"    listen 127.0.0.1:{listen_port};"),
        ("server 127.0.0.1:8000;", f"server 127.0.0.1:{upstream_port};"),
        (" notes.example.com;", f" {SERVER_NAME};"),
    ):
        assert text.count(shipped) == 1, f"{SITE_FILE} no longer has {shipped!r}"
        text = text.replace(shipped, used)
    return text


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    workdir = tmp_path_factory.mktemp("behind-nginx")
    database_url = f"sqlite:///{workdir / 'til.db'}"
    migrate(database_url)
    command = uvicorn_factory(
        "main:create_app", "--workers", "2", "--no-access-log", "--log-config", str(LOG_CONFIG_FILE),
        "--forwarded-allow-ips", "127.0.0.1",
    )  # fmt: skip
    env = {
        "DATABASE_URL": database_url,
        "JWT_SECRET": TEST_JWT_SECRET,
        "FORWARDED_ALLOW_IPS": "127.0.0.1",
        "TRUSTED_HOSTS": SERVER_NAME,
        "CORS_ORIGINS": ORIGIN,
        "EMAIL_RELAY_INTERVAL_SECONDS": "3600",
    }
    with live_server(name="uvicorn behind nginx", command=command, workdir=workdir, env=env) as running:
        yield running


@pytest.fixture(scope="module")
def nginx(service: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """nginx in the foreground on a free port; its base URL."""
    if shutil.which(NGINX) is None:
        service_missing(f"{NGINX} is missing: apt-get install nginx-light (.ci/run does)")
    workdir = tmp_path_factory.mktemp("nginx")
    port = free_port()
    (workdir / "til-notes.conf").write_text(site_config(listen_port=port, upstream_port=service.port))
    (workdir / "nginx.conf").write_text(MAIN_CONFIG.format(workdir=workdir))
    process = subprocess.Popen(
        [NGINX, "-p", str(workdir), "-c", str(workdir / "nginx.conf"), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(base_url, process)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _wait_for(base_url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            assert process.stderr is not None
            raise AssertionError(f"nginx exited with {process.returncode}: {process.stderr.read().decode()}")
        try:
            if httpx.get(f"{base_url}/health", headers={"Host": SERVER_NAME}, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"nginx did not answer within {START_SECONDS}s")


@pytest.fixture
def http(nginx: str) -> Iterator[httpx.Client]:
    """A browser's connection to nginx, from 127.0.0.3, for ``Host: notes.example.test``."""
    transport = httpx.HTTPTransport(local_address=CLIENT_ADDRESS)
    with httpx.Client(base_url=nginx, transport=transport, headers={"Host": SERVER_NAME}, timeout=10) as client:
        yield client


def test_the_log_names_the_client_nginx_saw_not_what_the_client_claimed(
    http: httpx.Client, service: LiveServer
) -> None:
    request_id = f"nginx-{uuid.uuid4().hex}"

    response = http.get("/health", headers={"X-Forwarded-For": "198.51.100.66", "X-Request-ID": request_id})

    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == request_id  # the client's id went through
    [line] = service.request_lines(request_id)
    assert line["client"] == f"{CLIENT_ADDRESS}:0"


def test_without_an_id_nginx_names_the_request_and_the_log_agrees(http: httpx.Client, service: LiveServer) -> None:
    response = http.get("/health")

    request_id = response.headers["X-Request-ID"]
    assert len(request_id) == 32  # nginx's $request_id
    [line] = service.request_lines(request_id)
    assert line["client"] == f"{CLIENT_ADDRESS}:0"


def test_through_nginx_a_head_over_its_bounds_is_refused_before_it_reaches_the_service(
    http: httpx.Client, service: LiveServer
) -> None:
    """The site file bounds a head as ``python main.py`` bounds its own, for ``uvicorn --workers``, which
    cannot (docs/security-hardening.md): a header line or a request line over 8 KiB stops at nginx."""
    long_header, long_line, after = (f"nginx-{uuid.uuid4().hex}" for _ in range(3))

    header_refused = http.get("/health", headers={"X-Padding": "a" * 9 * 1024, "X-Request-ID": long_header})
    line_refused = http.get("/health", params={"pad": "b" * 9 * 1024}, headers={"X-Request-ID": long_line})
    served = http.get("/health", headers={"X-Padding": "a" * 4 * 1024, "X-Request-ID": after})

    assert (header_refused.status_code, line_refused.status_code, served.status_code) == (400, 414, 200)
    service.request_lines(after)  # the service has logged what came after them...
    logged = {record.get("request_id") for record in service.records()}
    assert not {long_header, long_line} & logged  # ...and never saw either


def test_through_nginx_a_large_note_is_gzip_with_a_strong_etag(http: httpx.Client) -> None:
    email = unique_email("nginx")
    assert http.post("/users", json={"name": "Nina", "email": email, "password": PASSWORD}).status_code == 201
    token = http.post("/users/login", data={"username": email, "password": PASSWORD}).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    created = http.post(
        "/notes", json={"title": "gz", "content": "nginx " * 3000, "memo_date": "20261201"}, headers=auth
    )
    path = f"/notes/{created.json()['id']}"

    plain = http.get(path, headers=auth | {"Accept-Encoding": "identity"})
    with http.stream("GET", path, headers=auth | {"Accept-Encoding": "gzip"}) as zipped:
        raw = b"".join(zipped.iter_raw())

    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(raw) == plain.content
    assert zipped.headers["ETag"] == plain.headers["ETag"] == '"1"'  # not weakened on the way


def test_through_nginx_another_host_is_refused_and_health_still_answers(http: httpx.Client) -> None:
    refused = http.get("/users/me", headers={"Host": "evil.example.test"})
    health = http.get("/health", headers={"Host": "10.0.0.9"})

    assert (refused.status_code, refused.json()) == (400, {"detail": "Invalid host header"})
    assert health.status_code == 200


def test_through_nginx_a_preflight_from_the_listed_origin_is_answered(http: httpx.Client) -> None:
    response = http.options(
        "/notes",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization",
        },
    )

    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_the_shipped_site_file_passes_nginx_own_check(tmp_path: Path) -> None:
    if shutil.which(NGINX) is None:
        service_missing(f"{NGINX} is missing: apt-get install nginx-light (.ci/run does)")
    (tmp_path / "til-notes.conf").write_text(SITE_FILE.read_text())  # as shipped, port 80 and all
    (tmp_path / "nginx.conf").write_text(MAIN_CONFIG.format(workdir=tmp_path))

    result = subprocess.run(
        [NGINX, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr
