"""``/health`` never starves the API (issue 11, finding 7): while the broker hangs,
each ``/health`` held a request thread for the whole 2 s probe, and 16 clients
polling it pushed an authenticated ``GET /users/me`` from 11 ms to 3.9 s.

``python main.py`` on SQLite, its broker behind a TCP proxy that we make hang.
"""

import os
import statistics
import threading
import time
from pathlib import Path

import httpx

from tests.support.app import PASSWORD, TEST_JWT_SECRET, service_missing, unique_email
from tests.support.live_server import live_server, main_py
from tests.support.net_proxy import target_of, tcp_proxy

POLLERS = 16
POLL_SECONDS_AT_MOST = 30.0
# Without the broker, a GET /users/me takes milliseconds; waiting for a request thread took seconds.
MEDIAN_WITHIN_SECONDS = 0.3


def broker_url() -> str:
    url = os.environ.get("TEST_BROKER_URL")
    if not url:
        service_missing("TEST_BROKER_URL is not set: this test proxies a RabbitMQ server")
    assert url is not None
    return url


def poll_health(base_url: str, stop: threading.Event, statuses: list[int]) -> None:
    """Ask for ``/health`` again and again until told to stop (or for at most 30 s)."""
    until = time.monotonic() + POLL_SECONDS_AT_MOST
    with httpx.Client(base_url=base_url, timeout=10) as http:
        while not stop.is_set() and time.monotonic() < until:
            statuses.append(http.get("/health").status_code)


def test_health_polled_while_the_broker_hangs_leaves_other_requests_fast(tmp_path: Path) -> None:
    url = broker_url()
    with tcp_proxy(*target_of(url, default_port=5672)) as broker:
        env = {"CELERY_BROKER_URL": broker.url(url), "JWT_SECRET": TEST_JWT_SECRET, "LOG_LEVEL": "WARNING"}
        with (
            live_server(name="health-hang", command=main_py(), workdir=tmp_path, env=env) as web,
            httpx.Client(base_url=web.base_url, timeout=10) as http,
        ):
            email = unique_email("health")
            assert http.post("/users", json={"name": "Poller", "email": email, "password": PASSWORD}).status_code == 201
            login = http.post("/users/login", data={"username": email, "password": PASSWORD})
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}

            broker.hang()
            stop = threading.Event()
            statuses: list[int] = []
            pollers = [
                threading.Thread(target=poll_health, args=(web.base_url, stop, statuses)) for _ in range(POLLERS)
            ]
            for poller in pollers:
                poller.start()
            time.sleep(0.5)  # every poller is waiting on a /health now
            latencies = []
            for _ in range(10):
                started = time.perf_counter()
                assert http.get("/users/me", headers=headers).status_code == 200
                latencies.append(time.perf_counter() - started)
                time.sleep(0.2)
            stop.set()
            for poller in pollers:
                poller.join(timeout=POLL_SECONDS_AT_MOST)
            broker.up()

    assert set(statuses) == {503}, sorted(set(statuses))
    assert statistics.median(latencies) < MEDIAN_WITHIN_SECONDS, [round(latency, 3) for latency in latencies]
