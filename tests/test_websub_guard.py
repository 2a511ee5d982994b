"""Outgoing HTTP for strangers' URLs: only public addresses, checked when resolved and
pinned for the connection (DNS rebinding cannot slip a private address in), the right
``Host`` and SNI, no redirect followed, a deadline for the whole exchange, and a bounded
read of the answer. Every request goes to a real server on loopback."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from feeds.websub import net
from tests.websub_peers import Peer, Seen

TLS = Path(__file__).resolve().parent / "data" / "tls"

NOT_PUBLIC = {
    "127.0.0.1": "loopback",
    "127.255.0.9": "loopback",
    "10.1.2.3": "private",
    "172.16.0.1": "private",
    "192.168.1.1": "private",
    "100.64.0.1": "private",  # shared address space (carrier-grade NAT)
    "169.254.169.254": "link-local",  # cloud metadata services
    "224.0.0.1": "multicast",
    "239.255.255.250": "multicast",
    "0.0.0.0": "unspecified",
    "240.0.0.1": "reserved",
    "198.18.0.1": "private",  # benchmarking
    "2001::1": "private",  # Teredo, whatever it carries
    "255.255.255.255": "reserved",
    "192.0.2.1": "private",  # documentation
    "::1": "loopback",
    "::": "unspecified",
    "fe80::1": "link-local",
    "fe80::1%eth0": "link-local",
    "fc00::1": "private",
    "fd12:3456::1": "private",
    "ff02::1": "multicast",
    "2001:db8::1": "private",  # documentation
    "::ffff:127.0.0.1": "loopback",  # IPv4-mapped
    "::ffff:10.0.0.1": "private",
    "::ffff:169.254.169.254": "link-local",
    "2002:7f00:1::1": "loopback",  # 6to4 of 127.0.0.1
    "2002:a00:1::1": "private",  # 6to4 of 10.0.0.1
    "64:ff9b::7f00:1": "loopback",  # NAT64 of 127.0.0.1
    "64:ff9b::a9fe:a9fe": "link-local",  # NAT64 of 169.254.169.254
    "not an address": "malformed",
}
PUBLIC = [
    "93.184.216.34",
    "8.8.8.8",
    "1.1.1.1",
    "2606:4700:4700::1111",
    "::ffff:93.184.216.34",
    "64:ff9b::808:808",
]


@pytest.mark.parametrize(("address", "kind"), NOT_PUBLIC.items())
def test_addresses_that_are_not_public_are_refused(address: str, kind: str) -> None:
    assert net.refusal(address) == kind
    with pytest.raises(net.Refused, match=f"a {kind} address"):
        net.addresses("callback.test", 80, guard=True, resolver=lambda *_: [address])


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert net.refusal(address) is None
    assert net.addresses("callback.test", 80, guard=True, resolver=lambda *_: [address]) == [address]


def test_one_private_address_among_public_ones_refuses_the_name() -> None:
    with pytest.raises(net.Refused, match="resolves to 10.0.0.1, which is a private address"):
        net.addresses("mixed.test", 80, guard=True, resolver=lambda *_: ["93.184.216.34", "10.0.0.1"])
    assert net.addresses("mixed.test", 80, guard=False, resolver=lambda *_: ["93.184.216.34", "10.0.0.1"])


def test_a_name_that_does_not_resolve_is_refused() -> None:
    def nowhere(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with pytest.raises(net.Refused, match="does not resolve"):
        net.addresses("nowhere.test", 80, guard=True, resolver=nowhere)
    with pytest.raises(net.Refused, match="does not resolve"):
        net.addresses("empty.test", 80, guard=True, resolver=lambda *_: [])


@pytest.mark.parametrize(
    "url", ["ftp://x.test/", "javascript:alert(1)", "/relative", "http:///nohost", "http://x.test:99999/"]
)
def test_only_absolute_http_urls(url: str) -> None:
    with pytest.raises(net.Refused):
        net.request("GET", url, guard=False)


@pytest.fixture
def peer() -> Iterator[Peer]:
    with Peer() as running:
        yield running


def test_a_guarded_request_to_loopback_never_connects(peer: Peer) -> None:
    for url in (peer.url, f"http://[::ffff:127.0.0.1]:{peer.port}/", f"http://sneaky.test:{peer.port}/"):
        with pytest.raises(net.Refused):
            net.request("GET", url, resolver=lambda *_: ["127.0.0.1"])
    assert peer.connections == 0


def test_the_connection_is_pinned_to_the_address_checked(peer: Peer) -> None:
    """Resolved once: the connection goes to the address that was checked, and the request
    still names the host."""
    calls: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        calls.append(host)
        return ["127.0.0.1"] if len(calls) == 1 else ["192.0.2.1"]

    answer = net.request("GET", f"http://sub.test:{peer.port}/path?q=1", guard=False, resolver=resolver)
    assert answer.status == 204 and calls == ["sub.test"]
    (seen,) = peer.seen
    assert seen.headers["Host"] == f"sub.test:{peer.port}"
    assert (seen.path, seen.query) == ("/path", {"q": "1"})
    assert seen.headers["User-Agent"].startswith("feeds/")


def test_https_is_pinned_with_the_host_name_in_sni_and_the_certificate_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(TLS / "sub.test.pem"))  # trust the test's certificate
    seen: dict[str, str] = {}
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(TLS / "sub.test.pem", TLS / "sub.test.key")

    def sni(sock: ssl.SSLObject, name: str | None, _: ssl.SSLContext) -> None:
        seen["sni"] = name or ""

    context.sni_callback = sni  # type: ignore[assignment]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen["host"] = self.headers["Host"]
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    try:
        answer = net.request(
            "GET", f"https://sub.test:{port}/", guard=False, resolver=lambda *_: ["127.0.0.1"]
        )
        assert (answer.status, answer.body) == (200, b"ok")
        assert seen == {"sni": "sub.test", "host": f"sub.test:{port}"}
        with pytest.raises(ssl.SSLCertVerificationError, match="other.test"):
            net.request("GET", f"https://other.test:{port}/", guard=False, resolver=lambda *_: ["127.0.0.1"])
    finally:
        server.shutdown()
        server.server_close()


class Redirects(Peer):
    def __init__(self, to: str) -> None:
        super().__init__()
        self.to = to

    def answer(self, seen: Seen) -> tuple[int, list[tuple[str, str]], bytes]:
        return 302, [("Location", self.to)], b""


def test_a_redirect_is_never_followed(peer: Peer) -> None:
    with Redirects(peer.url) as redirecting:
        answer = net.request("GET", redirecting.url, guard=False)
        assert answer.status == 302
        assert len(redirecting.seen) == 1 and peer.seen == []


class Big(Peer):
    def answer(self, seen: Seen) -> tuple[int, list[tuple[str, str]], bytes]:
        return 200, [], b"x" * 5_000_000


def test_an_answer_is_read_only_so_far() -> None:
    with Big() as big:
        assert net.request("GET", big.url, guard=False, max_body=100).body == b"x" * 100
        assert net.request("GET", big.url, guard=False, max_body=0).body == b""


@pytest.fixture
def silent() -> Iterator[tuple[int, list[socket.socket]]]:
    """A port that accepts connections and then says nothing."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield listener.getsockname()[1], held
    listener.close()
    for sock in held:
        sock.close()


def test_a_peer_that_never_answers_is_given_up_on(silent: tuple[int, list[socket.socket]]) -> None:
    port, _ = silent
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        net.request("GET", f"http://127.0.0.1:{port}/", guard=False, total_timeout=0.5)
    assert time.monotonic() - started < 5


def test_a_peer_that_trickles_is_cut_off_at_the_deadline() -> None:
    """One byte every 0.1 s never trips a per-read timeout; the deadline still holds."""
    listener = socket.create_server(("127.0.0.1", 0))

    def trickle() -> None:
        connection, _ = listener.accept()
        connection.recv(65536)
        try:
            connection.sendall(b"HTTP/1.1 200 OK\r\n")
            while True:
                connection.sendall(b"X")
                time.sleep(0.1)
        except OSError:
            connection.close()

    threading.Thread(target=trickle, daemon=True).start()
    started = time.monotonic()
    try:
        with pytest.raises(TimeoutError, match="within 1 s"):
            net.request(
                "GET", f"http://127.0.0.1:{listener.getsockname()[1]}/", guard=False, total_timeout=1.0
            )
        assert time.monotonic() - started < 5
    finally:
        listener.close()


def test_a_closed_port_is_an_error_not_a_hang() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ConnectionRefusedError) as refused:
        net.request("GET", f"http://127.0.0.1:{port}/", guard=False)
    assert "refused" in net.describe(refused.value).lower()
