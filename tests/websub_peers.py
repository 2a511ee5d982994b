"""The other side of WebSub, for the tests: a subscriber and a stand-in hub, each a real
HTTP server on a loopback port, in a thread, recording every request it gets."""

from __future__ import annotations

import hashlib
import hmac
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest

WAIT = 20.0
"""Seconds a test waits for a request that should come."""


@dataclass(frozen=True)
class Seen:
    """One request a peer got."""

    method: str
    target: str
    """The path and query, as sent."""
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    form: list[tuple[str, str]] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The first segment of the path: which callback of the subscriber was called."""
        return self.path.strip("/").split("/")[0]

    def signed_with(self, secret: bytes) -> bool:
        """Whether ``X-Hub-Signature`` is the SHA-256 HMAC of the body with ``secret``."""
        method, _, signature = self.headers.get("X-Hub-Signature", "").partition("=")
        expected = hmac.new(secret, self.body, hashlib.sha256).hexdigest()
        return method == "sha256" and hmac.compare_digest(signature, expected)


class Peer:
    """An HTTP server that records requests and answers them with :meth:`answer`."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.connections = 0
        self._changed = threading.Condition()
        peer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                with peer._changed:
                    peer.connections += 1
                super().setup()

            def do_GET(self) -> None:
                self._record()

            def do_POST(self) -> None:
                self._record()

            def _record(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                form = parse_qsl(body.decode(errors="replace"), keep_blank_values=True)
                if not self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
                    form = []
                query = dict(parse_qsl(parts.query))
                seen = Seen(self.command, self.path, parts.path, query, dict(self.headers), body, form)
                status, headers, answer = peer.answer(seen)
                with peer._changed:
                    peer.seen.append(seen)
                    peer._changed.notify_all()
                headers = [*headers, ("Content-Length", str(len(answer))), ("Connection", "close")]
                try:
                    self.send_response(status)
                    for name, value in headers:
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:
                    pass  # the other side gave up waiting (a slow hub's answer), as it may

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port: int = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> Peer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def answer(self, seen: Seen) -> tuple[int, list[tuple[str, str]], bytes]:
        return 204, [], b""

    def wait_for(self, done: Callable[[list[Seen]], bool], timeout: float = WAIT) -> list[Seen]:
        """Wait until ``done(seen)``; fails after ``timeout`` seconds."""
        with self._changed:
            if not self._changed.wait_for(lambda: done(self.seen), timeout):
                seen = [(s.method, s.path) for s in self.seen]
                raise AssertionError(f"not seen within {timeout} s; seen: {seen}")
            return list(self.seen)


class Subscriber(Peer):
    """A WebSub subscriber: each callback ``/NAME/…`` confirms a verification by echoing
    ``hub.challenge``, unless ``verify_answers[NAME]`` says what to answer instead, and
    answers a delivery with ``statuses[NAME]`` (202 by default)."""

    def __init__(self) -> None:
        super().__init__()
        self.verify_answers: dict[str, tuple[int, list[tuple[str, str]], bytes]] = {}
        self.statuses: dict[str, int] = {}

    def callback(self, name: str, query: str = "") -> str:
        return f"{self.url}{name}/cb" + (f"?{query}" if query else "")

    def answer(self, seen: Seen) -> tuple[int, list[tuple[str, str]], bytes]:
        if seen.method == "GET":
            if seen.name in self.verify_answers:
                return self.verify_answers[seen.name]
            return 200, [("Content-Type", "text/plain")], seen.query.get("hub.challenge", "").encode()
        return self.statuses.get(seen.name, 202), [], b""

    def verifications(self, name: str) -> list[Seen]:
        return [s for s in self.seen if s.method == "GET" and s.name == name]

    def deliveries(self, name: str) -> list[Seen]:
        return [s for s in self.seen if s.method == "POST" and s.name == name]

    def wait_verified(self, name: str, mode: str = "subscribe", count: int = 1) -> Seen:
        def done(_: list[Seen]) -> bool:
            return len([s for s in self.verifications(name) if s.query.get("hub.mode") == mode]) >= count

        self.wait_for(done)
        return self.verifications(name)[-1]

    def wait_deliveries(self, name: str, count: int = 1, timeout: float = WAIT) -> list[Seen]:
        self.wait_for(lambda _: len(self.deliveries(name)) >= count, timeout)
        return self.deliveries(name)


class StandInHub(Peer):
    """An external hub: records publish pings, answers ``status`` after ``delay`` seconds."""

    def __init__(self, *, status: int = 204, delay: float = 0.0) -> None:
        super().__init__()
        self.status = status
        self.delay = delay

    def answer(self, seen: Seen) -> tuple[int, list[tuple[str, str]], bytes]:
        if self.delay:
            time.sleep(self.delay)
        return self.status, [], b""

    def topics(self) -> list[str]:
        """Every ``hub.url`` of every ``hub.mode=publish`` ping, in the order received."""
        return [
            value
            for seen in self.seen
            if ("hub.mode", "publish") in seen.form
            for name, value in seen.form
            if name == "hub.url"
        ]


def closed_port() -> int:
    """A loopback port nothing listens on (a hub that is down)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@contextmanager
def peers(*made: Peer) -> Iterator[tuple[Peer, ...]]:
    for peer in made:
        peer.__enter__()
    try:
        yield made
    finally:
        for peer in made:
            peer.__exit__()


@pytest.fixture
def subscriber() -> Iterator[Subscriber]:
    """A running :class:`Subscriber`, for ``subscriber = websub_peers.subscriber`` in a test module."""
    with Subscriber() as running:
        yield running
