"""Outgoing HTTP, the only outgoing HTTP of ``feeds``: bounded in time and size, never
redirected, and, for URLs that strangers give (a subscriber's callback), only to public
addresses.

A guarded request resolves the host once, refuses it if any of its addresses is not
public, then connects to an address it checked (the connection is pinned to it), still
sending the host's name in ``Host`` and in TLS's SNI. A name that resolves to a public
address when a subscription is requested and to a private one when the hub calls back
(DNS rebinding) is refused at the second look, before any connection is made.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from .. import __version__

Resolver = Callable[[str, int], Sequence[str]]
"""Host name and port to the IP addresses to connect to, as text."""

CONNECT_TIMEOUT = 5.0
"""Seconds to open a connection (each address tried)."""
TOTAL_TIMEOUT = 10.0
"""Seconds a whole request may take, connecting, sending and reading included."""
MAX_ANSWER = 64 * 1024
"""Bytes of an answer's body read at most; the rest is never read."""
USER_AGENT = f"feeds/{__version__} (WebSub)"

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SHARED = ipaddress.ip_network("100.64.0.0/10")


class Refused(Exception):
    """A URL that is not called: not http(s), no host, or not a public address."""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: bytes
    """At most the ``max_body`` bytes asked for."""


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses the system resolver gives for ``host``, each once, in its order."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in found))


def refusal(address: str) -> str | None:
    """Why ``address`` is not public (``"loopback"``, ``"private"``…), or ``None``.

    An IPv4-mapped or NAT64 address is judged by the IPv4 address it leads to, a 6to4
    or Teredo address by that too.
    """
    try:
        ip = ipaddress.ip_address(address.partition("%")[0])
    except ValueError:
        return "malformed"
    candidates: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            candidates = [ip.ipv4_mapped]
        elif ip in _NAT64:
            candidates = [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)]
        else:
            candidates += [v4 for v4 in (ip.sixtofour, *(ip.teredo or ())) if v4 is not None]
    for candidate in candidates:
        for kind, found in (
            ("unspecified", candidate.is_unspecified),
            ("loopback", candidate.is_loopback),
            ("link-local", candidate.is_link_local),
            ("multicast", candidate.is_multicast),
            ("reserved", candidate.is_reserved),
            ("private", candidate.is_private or candidate in _SHARED),
            ("non-public", not candidate.is_global),
        ):
            if found:
                return kind
    return None


def addresses(host: str, port: int, *, guard: bool, resolver: Resolver) -> list[str]:
    """Resolve ``host`` once; with ``guard``, refuse it unless every address is public.
    Raises Refused."""
    try:
        found = list(resolver(host, port))
    except (OSError, UnicodeError) as err:
        raise Refused(f"{host} does not resolve ({err.__class__.__name__})") from None
    if not found:
        raise Refused(f"{host} does not resolve")
    if guard:
        for address in found:
            reason = refusal(address)
            if reason:
                named = host if address == host else f"{host} resolves to {address}, which"
                raise Refused(f"{named} is a {reason} address")
    return found


def split_url(url: str) -> tuple[str, str, int, str]:
    """Scheme, host, port and request target (path and query) of an http(s) URL.
    Raises Refused."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        raise Refused(f"bad port in {url!r}") from None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise Refused(f"not an absolute http(s) URL: {url!r}")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), target


def request(
    method: str,
    url: str,
    *,
    headers: Sequence[tuple[str, str]] = (),
    body: bytes | None = None,
    guard: bool = True,
    resolver: Resolver = system_resolver,
    max_body: int = MAX_ANSWER,
    connect_timeout: float = CONNECT_TIMEOUT,
    total_timeout: float = TOTAL_TIMEOUT,
) -> Answer:
    """Send one request and read at most ``max_body`` bytes of the answer; a redirect is
    an answer like any other, never followed. Raises Refused, or OSError (refused,
    timed out, cut off) and http.client.HTTPException (not HTTP)."""
    scheme, host, port, target = split_url(url)
    found = addresses(host, port, guard=guard, resolver=resolver)
    deadline = time.monotonic() + total_timeout
    connection = _connect(scheme, host, port, found, connect_timeout, deadline)
    # One deadline for the whole exchange: a peer that trickles its answer a byte at a
    # time is cut off when it passes, however short each wait between bytes.
    cut = threading.Event()
    watchdog = threading.Timer(max(deadline - time.monotonic(), 0.0), _cut, (connection, cut))
    watchdog.daemon = True
    watchdog.start()
    try:
        connection.putrequest(method, target, skip_accept_encoding=True)
        for name, value in (("User-Agent", USER_AGENT), ("Connection", "close"), *headers):
            connection.putheader(name, value)
        if body is not None:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        data = response.read(max_body)
        if cut.is_set():  # what was read ends where the deadline cut it, not where the peer did
            raise TimeoutError(f"no complete answer within {total_timeout:g} s")
        return Answer(response.status, data)
    except (OSError, http.client.HTTPException, ValueError) as err:
        if cut.is_set():
            raise TimeoutError(f"no complete answer within {total_timeout:g} s") from None
        if isinstance(err, ValueError):  # http.client on a connection cut under it
            raise OSError(str(err)) from None
        raise
    finally:
        watchdog.cancel()
        connection.close()


def _connect(
    scheme: str, host: str, port: int, found: Sequence[str], timeout: float, deadline: float
) -> http.client.HTTPConnection:
    """A connection to the first of ``found`` that answers before ``deadline``, for ``host``."""
    error: OSError = OSError(f"cannot connect to {host}")
    for address in found:
        left = min(timeout, deadline - time.monotonic())
        if left <= 0:
            raise TimeoutError(f"no connection to {host} in time")
        try:
            sock = socket.create_connection((address, port), left)
        except OSError as err:
            error = err
            continue
        try:
            return _Pinned(scheme, host, port, sock, timeout)
        except OSError as err:  # TLS handshake
            sock.close()
            error = err
    raise error


class _Pinned(http.client.HTTPConnection):
    """An HTTP(S) connection over a socket already connected to a checked address;
    ``Host`` (and, for https, SNI and the certificate check) name ``host``."""

    def __init__(self, scheme: str, host: str, port: int, sock: socket.socket, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        if scheme == "https":
            context = ssl.create_default_context()
            sock = context.wrap_socket(sock, server_hostname=host)
        self.sock = sock

    def connect(self) -> None:
        raise OSError("the connection is closed")  # never reopened: it would not be pinned


def _cut(connection: http.client.HTTPConnection, cut: threading.Event) -> None:
    cut.set()
    sock = connection.sock
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def describe(err: BaseException) -> str:
    """A failed request in one line."""
    text = " ".join(str(err).split())
    return text or err.__class__.__name__
