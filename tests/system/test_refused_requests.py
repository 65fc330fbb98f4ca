"""What the HTTP parser refuses, against ``python main.py`` (issue 11, findings 8 and 10).

A request head is bounded (431), and every request the parser refuses gets a
JSON 400 and its one ``event: "request"`` line, found here by the client's
port. Before, httptools served a 4 MiB header, buffered a 100 MiB unfinished
one, and the refused requests left no line at all.
"""

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from middlewares.http_protocol import MAX_HEAD_BYTES, MAX_HEADER_COUNT
from tests.support.app import TEST_JWT_SECRET
from tests.support.live_server import LiveServer, is_request_line, live_server, main_py

REFUSED = {
    "two-content-lengths": (b"POST /users HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcd"),
    "bad-chunk-size": (
        b"POST /users HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Type: application/json\r\n\r\nZZ\r\nabc\r\n0\r\n\r\n"
    ),
    "raw-8-bit-path": "GET /café HTTP/1.1\r\nHost: x\r\n\r\n".encode(),
    "not-http-at-all": b"\x16\x03\x01\x00\xa5garbage\r\n\r\n",
    "space-in-header-name": b"GET /health HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n",
    # Request smuggling's classic: both framings at once.
    "content-length-and-chunked": (
        b"POST /users HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Type: application/json\r\n\r\n0\r\n\r\n"
    ),
    "unknown-method": b"BREW /health HTTP/1.1\r\nHost: x\r\n\r\n",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    workdir = tmp_path_factory.mktemp("refused")
    env = {"JWT_SECRET": TEST_JWT_SECRET, "LOG_LEVEL": "INFO"}
    with live_server(name="refused", command=main_py(), workdir=Path(workdir), env=env) as running:
        yield running


def exchange(server: LiveServer, *chunks: bytes, pause: float = 0.0) -> tuple[bytes, int]:
    """Send ``chunks`` on a fresh connection; the answer until the server closes, and our port."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        port = sock.getsockname()[1]
        try:
            for chunk in chunks:
                sock.sendall(chunk)
                time.sleep(pause)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before we were done: what a limit does
        answer = b""
        while data := sock.recv(65536):
            answer += data
    return answer, port


def lines_of(server: LiveServer, port: int) -> list[dict]:
    client = f"127.0.0.1:{port}"
    found = server.wait_for(lambda records: any(r.get("client") == client for r in records), seconds=5)
    return [record for record in found if is_request_line(record) and record.get("client") == client]


def status_and_body(answer: bytes) -> tuple[int, dict]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), json.loads(body)


@pytest.mark.parametrize("request_bytes", REFUSED.values(), ids=REFUSED.keys())
def test_a_refused_request_gets_a_json_400_and_one_log_line(server: LiveServer, request_bytes: bytes) -> None:
    answer, port = exchange(server, request_bytes)

    assert status_and_body(answer) == (400, {"detail": "Invalid HTTP request"})
    (line,) = lines_of(server, port)
    assert line["status"] == 400
    assert line["user_id"] is None
    assert line["request_id"]


def test_a_refused_request_line_names_the_method_and_path_it_could_read(server: LiveServer) -> None:
    _, port = exchange(server, REFUSED["raw-8-bit-path"])

    (line,) = lines_of(server, port)
    assert (line["method"], line["path"], line["status"]) == ("GET", "/café", 400)


def test_a_head_over_the_limit_sent_at_once_is_431(server: LiveServer) -> None:
    big = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (MAX_HEAD_BYTES + 1) + b"\r\n\r\n"

    answer, port = exchange(server, big)

    assert status_and_body(answer)[0] == 431
    assert [line["status"] for line in lines_of(server, port)] == [431]


def test_an_unfinished_head_that_keeps_growing_is_cut_at_the_limit(server: LiveServer) -> None:
    """The 100 MiB attack, bounded: the server answers and closes long before 4 MiB have gone."""
    start = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: "
    chunks = [start] + [b"a" * 65536] * 64  # 4 MiB, never finished

    answer, port = exchange(server, *chunks, pause=0.001)

    assert status_and_body(answer)[0] in (400, 431)
    assert len(lines_of(server, port)) == 1


def test_more_headers_than_the_limit_are_431(server: LiveServer) -> None:
    headers = b"".join(b"X-H%d: 1\r\n" % index for index in range(MAX_HEADER_COUNT + 1))

    answer, port = exchange(server, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + headers + b"\r\n")

    assert status_and_body(answer) == (431, {"detail": "Too many request headers"})
    assert [line["status"] for line in lines_of(server, port)] == [431]


def test_a_head_within_the_limits_is_served(server: LiveServer) -> None:
    headers = b"".join(b"X-H%d: %s\r\n" % (index, b"v" * 200) for index in range(MAX_HEADER_COUNT - 5))

    answer, port = exchange(server, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + headers + b"\r\n")

    assert status_and_body(answer)[0] == 200
    assert [line["status"] for line in lines_of(server, port)] == [200]
