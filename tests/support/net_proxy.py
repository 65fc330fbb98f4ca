"""A TCP proxy on a loopback port, to take a server away from the processes using it.

Tests point a service (MariaDB, RabbitMQ) URL at ``proxy.port`` instead of the
real server's and then switch the proxy, never the server, which other tests
and people share:

- ``up()``: every byte is forwarded both ways (the normal state);
- ``down()``: the port is closed and every connection cut, as when the server
  stops or its host goes away (new connections are refused at once);
- ``hang()``: the port still accepts, but nothing is forwarded any more, in
  either direction, on old or new connections: a server that stopped
  answering (a frozen process, a network blackhole). Only a client-side
  timeout gets a client out of it. ``up()`` afterwards cuts the connections
  that hung and forwards again.
"""

import contextlib
import socket
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

from tests.support.ports import free_port

CONNECT_TIMEOUT_SECONDS = 5


def via_port(url: str, port: int) -> str:
    """``url`` with its host and port replaced by ``127.0.0.1:port`` (to go through a proxy)."""
    parts = urlsplit(url)
    credentials = ""
    if parts.username:
        credentials = f"{parts.username}:{parts.password}@" if parts.password is not None else f"{parts.username}@"
    return urlunsplit(parts._replace(netloc=f"{credentials}127.0.0.1:{port}"))


def target_of(url: str, *, default_port: int) -> tuple[str, int]:
    """The host and port a service URL points at."""
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or default_port


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


class _Link:
    """One proxied connection: the client's socket and the upstream one."""

    def __init__(self, client: socket.socket, upstream: socket.socket | None) -> None:
        self.client = client
        self.upstream = upstream
        self.frozen = upstream is None  # accepted while hanging: never forwarded

    def close(self) -> None:
        _close(self.client)
        if self.upstream is not None:
            _close(self.upstream)


class TcpProxy:
    """A TCP proxy from ``127.0.0.1:port`` (a free port, fixed for its lifetime) to ``target``."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.port = free_port()
        self._target = (target_host, target_port)
        self._listener: socket.socket | None = None
        self._links: set[_Link] = set()
        self._hanging = False
        self._lock = threading.Lock()

    @classmethod
    def for_url(cls, url: str, *, default_port: int) -> "TcpProxy":
        return cls(*target_of(url, default_port=default_port))

    @property
    def state(self) -> str:
        if self._listener is None:
            return "down"
        return "hanging" if self._hanging else "up"

    def url(self, url: str) -> str:
        """``url`` pointed at this proxy."""
        return via_port(url, self.port)

    # -- switching -----------------------------------------------------------
    def up(self) -> None:
        """Forward again. Connections that hung are cut first (their clients gave up on them)."""
        with self._lock:
            self._hanging = False
            frozen = {link for link in self._links if link.frozen}
            self._links -= frozen
        for link in frozen:
            link.close()
        if self._listener is None:
            listener = socket.socket()
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", self.port))
            listener.listen(128)
            self._listener = listener
            threading.Thread(target=self._accept, args=(listener,), daemon=True, name="proxy-accept").start()

    def down(self) -> None:
        """Close the port and cut every connection."""
        with self._lock:
            listener, self._listener = self._listener, None
            self._hanging = False
            links, self._links = self._links, set()
        if listener is not None:
            _close(listener)
        for link in links:
            link.close()

    def hang(self) -> None:
        """Keep accepting, forward nothing: every client waits until its own timeout."""
        if self._listener is None:
            self.up()
        with self._lock:
            self._hanging = True
            for link in self._links:
                link.frozen = True

    # -- forwarding ----------------------------------------------------------
    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = None
            if not self._hanging:
                try:
                    upstream = socket.create_connection(self._target, timeout=CONNECT_TIMEOUT_SECONDS)
                    upstream.settimeout(None)
                except OSError:
                    _close(client)
                    continue
            link = _Link(client, upstream)
            with self._lock:
                if self._listener is not listener:  # taken down meanwhile: cut this one too
                    link.close()
                    return
                link.frozen = link.frozen or self._hanging  # hung meanwhile: never forwarded
                self._links.add(link)
            if upstream is not None:
                for source, target in ((client, upstream), (upstream, client)):
                    threading.Thread(
                        target=self._pipe, args=(link, source, target), daemon=True, name="proxy-pipe"
                    ).start()

    def _pipe(self, link: _Link, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                if link.frozen:
                    continue  # swallowed: a hung server never sees it, its answers never come
                target.sendall(data)
        except OSError:
            pass
        if not link.frozen:
            with self._lock:
                self._links.discard(link)
            link.close()


@contextlib.contextmanager
def tcp_proxy(target_host: str, target_port: int) -> Iterator[TcpProxy]:
    """A proxy that is up inside the block and down (every connection cut) after it, whatever happened."""
    proxy = TcpProxy(target_host, target_port)
    proxy.up()
    try:
        yield proxy
    finally:
        proxy.down()
