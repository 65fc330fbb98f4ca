"""No token, password, hash or request body ever reaches a log line (SPEC §4, §7).

``tests/support/log_audit.py`` keeps every line the session logged, in this process
and on the servers ``tests/support/live_server.py`` ran; the helpers in
``tests/support/app.py`` remember every password and token the tests used. The
audit below runs after every other test of the session (``conftest.py``
moves tests marked ``log_audit`` to the end) and scans it all. The first
two tests send secret-heavy traffic of their own, so the audit has something
to find even when this module runs alone, and prove that both sources are
really captured.
"""

import uuid
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.support import log_audit
from tests.support.app import bearer, login, signup, unique_email
from tests.support.live_server import LiveServer, live_server, main_py

SERVER = "secrets-main.py"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(name=SERVER, command=main_py(), workdir=tmp_path_factory.mktemp("secrets")) as running:
        yield running


def secret_heavy_traffic(http: httpx.Client) -> list[str]:
    """Signup, login, a password change, wrong passwords, bad tokens, invalid bodies: the request ids."""
    email = unique_email("secrets")
    password = f"first password {uuid.uuid4().hex}"
    new_password = f"second password {uuid.uuid4().hex} 비밀번호 🔑"
    wrong_password = f"wrong password {uuid.uuid4().hex}"
    body_canary = f"body-canary-{uuid.uuid4().hex}"
    log_audit.remember_secret(wrong_password, what="a wrong password tried at login")
    log_audit.remember_secret(body_canary, what="a request body")

    signup(http, email=email, password=password)
    headers = bearer(login(http, email, password))
    broken_json = f'{{"password": "{body_canary}", "broken json'
    responses = [
        http.get("/users/me", headers=headers),
        http.put("/users", json={"password": new_password, "current_password": password}, headers=headers),
        http.get("/users/me", headers=headers),  # the token died with the password change: 401
        http.post("/users/login", data={"username": email, "password": wrong_password}),
        http.post("/users/login", data={"username": f"nobody-{email}", "password": wrong_password}),
        http.post("/users", json={"name": body_canary, "email": "not an email", "password": wrong_password}),
        http.post("/users", content=broken_json, headers={"content-type": "application/json"}),
        http.get("/users/me", headers=bearer(f"{body_canary}.{body_canary}.{body_canary}")),
    ]
    assert [r.status_code for r in responses] == [200, 200, 401, 401, 401, 422, 422, 401]
    headers = bearer(login(http, email, new_password))
    wrong_current = http.put("/users", json={"password": password, "current_password": wrong_password}, headers=headers)
    assert wrong_current.status_code == 403
    final = http.delete("/users", headers=headers)
    assert final.status_code == 204
    return [r.headers["X-Request-ID"] for r in [*responses, wrong_current, final]]


def test_secret_heavy_traffic_on_a_live_server_is_captured(server: LiveServer) -> None:
    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        request_ids = secret_heavy_traffic(http)
    server.request_lines(request_ids[-1])

    captured = "\n".join(log_audit.lines(f"{SERVER}:stdout"))

    assert all(f'"request_id":"{request_id}"' in captured for request_id in request_ids)


def test_secret_heavy_traffic_in_process_is_captured(client: TestClient) -> None:
    request_ids = secret_heavy_traffic(client)
    log_audit.flush()

    captured = "\n".join(log_audit.lines(log_audit.IN_PROCESS))

    assert all(f'"request_id":"{request_id}"' in captured for request_id in request_ids)
    assert '"event":"user deleted"' in captured


@pytest.mark.log_audit
def test_no_password_token_hash_or_body_reached_any_log_line(request: pytest.FixtureRequest) -> None:
    if len(request.session.items) == 1:
        pytest.skip("nothing else ran in this session, so nothing was logged: run it with the e2e tests")

    findings = log_audit.scan()

    assert log_audit.lines(), "no log line was captured: tests/support/log_audit.py is not hooked up"
    assert log_audit.secret_count() > 0
    report = "\n".join(f"{f.what} in a line from {f.source}: {f.line[:500]}" for f in findings[:20])
    assert not findings, f"{len(findings)} log lines hold secrets:\n{report}"
