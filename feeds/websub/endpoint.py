"""A subscription request as a web worker takes it (WebSub §5.1): checked, recorded,
answered 202; verifying it is the hub process's work, so the answer never depends on it.

Every refusal is a 4xx with one line that says what is wrong and echoes no value back:
400 for a malformed request, 403 for one this hub will not serve, 413 and 415 for a body
too big or not a form.
"""

from __future__ import annotations

import ipaddress
import sqlite3
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from ..builders.uri import as_uri
from ..config import Settings
from ..errors import FeedsError
from .links import comparable, topic_url
from .net import Refused, Resolver, addresses, system_resolver
from .pool import Pool
from .store import Intent, Mode, Store, store_path

MAX_BODY = 8192
"""Bytes of a request body: a callback, a topic and a secret fit many times over."""
MAX_URL = 2000
MAX_SECRET = 200
"""Bytes of ``hub.secret`` at most (WebSub §5.1)."""
RESOLVE_TIMEOUT = 2.0
"""Seconds a callback's host may take to resolve before the request is refused."""
FORM = "application/x-www-form-urlencoded"
_FIELDS = ("hub.callback", "hub.mode", "hub.topic", "hub.lease_seconds", "hub.secret")

TopicCheck = Callable[[str], str | None]
"""A topic as given to the feed URL it names, as feeds announce it, or ``None``."""


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    message: str


class Refusal(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Endpoint:
    """The hub's address, as each web worker serves it."""

    def __init__(self, settings: Settings, *, resolver: Resolver = system_resolver) -> None:
        self.settings = settings
        self.resolver = resolver
        self._store: Store | None = None
        self._resolving = Pool(4, "feeds-hub-resolve")

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(store_path(self.settings))
        return self._store

    def handle(self, content_type: str | None, body: bytes, topic_of: TopicCheck) -> Reply:
        """The answer to a POST with ``body``; ``topic_of`` tells this site's feeds."""
        try:
            intent = self._intent(content_type, body, topic_of)
        except Refusal as refusal:
            return Reply(refusal.status, str(refusal))
        settings = self.settings
        try:
            refused = self.store.record(
                intent, max_per_topic=settings.hub_max_per_topic, max_per_host=settings.hub_max_per_host
            )
        except (FeedsError, sqlite3.Error):
            return Reply(503, "The hub cannot take requests just now; try again later.")
        if refused:
            return Reply(403, f"Refused: {refused}.")
        return Reply(202, f"Accepted: the hub now asks the callback to confirm this {intent.mode.value}.")

    def _intent(self, content_type: str | None, body: bytes, topic_of: TopicCheck) -> Intent:
        if (content_type or "").partition(";")[0].strip().lower() != FORM:
            raise Refusal(415, f"Send the request as a form: Content-Type: {FORM}.")
        if len(body) > MAX_BODY:
            raise Refusal(413, f"The request body must be at most {MAX_BODY} bytes.")
        try:
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=50)
        except (UnicodeDecodeError, ValueError):
            raise Refusal(400, "The request body must be a UTF-8 form of at most 50 fields.") from None
        form: dict[str, str] = {}
        for name, value in pairs:
            if name in _FIELDS:
                if name in form:
                    raise Refusal(400, f"Give {name} once.")
                form[name] = value
        for name in ("hub.mode", "hub.topic", "hub.callback"):
            if not form.get(name):
                raise Refusal(400, f"{name} is missing.")
        if form["hub.mode"] not in {mode.value for mode in Mode}:
            raise Refusal(400, "hub.mode must be subscribe or unsubscribe (this hub finds changes itself).")
        mode = Mode(form["hub.mode"])
        topic = topic_of(form["hub.topic"])
        if topic is None:
            raise Refusal(400, "hub.topic must be the self URL of one of this site's feeds, with no query.")
        callback, host = self._callback(form["hub.callback"])
        lease = self.settings.hub_lease_default
        if mode is Mode.SUBSCRIBE and "hub.lease_seconds" in form:  # ignored when unsubscribing
            asked = form["hub.lease_seconds"]
            if not (asked.isascii() and asked.isdigit() and len(asked) <= 18 and int(asked) > 0):
                raise Refusal(400, "hub.lease_seconds must be a positive whole number.")
            lease = min(max(int(asked), self.settings.hub_lease_min), self.settings.hub_lease_max)
        secret = form.get("hub.secret")
        if secret is not None:
            if not secret or len(secret.encode()) > MAX_SECRET:
                raise Refusal(400, f"hub.secret must be 1 to {MAX_SECRET} bytes.")
        return Intent(mode, topic, callback, host, lease, None if secret is None else secret.encode())

    def _callback(self, given: str) -> tuple[str, str]:
        """The callback to call, and its host; refused unless it is an http(s) URL whose
        host resolves, and resolves only to public addresses (unless private ones are
        allowed)."""
        try:
            original = urlsplit(given.strip())
            url = comparable(given.strip())
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise Refusal(400, "hub.callback is not a URL (a bad port or address).") from None
        if (
            len(url) > MAX_URL
            or parts.scheme not in {"http", "https"}
            or not parts.hostname
            or not url.isascii()
            or any(char.isspace() or ord(char) < 0x21 or char == "\x7f" for char in url)
        ):
            raise Refusal(
                400, f"hub.callback must be an absolute http(s) URL of ASCII, at most {MAX_URL} long."
            )
        if original.username is not None or original.password is not None or parts.fragment:
            raise Refusal(400, "hub.callback must hold no user name, password or fragment.")
        host = parts.hostname
        port = port or (443 if parts.scheme == "https" else 80)
        guard = not self.settings.hub_private_callbacks
        try:
            if guard and _is_address(host):
                addresses(host, port, guard=True, resolver=lambda *_: [host])
            else:
                job = self._resolving.submit(
                    lambda: addresses(host, port, guard=guard, resolver=self.resolver)
                )
                try:
                    job.result(RESOLVE_TIMEOUT)
                except FutureTimeout:
                    job.cancel()
                    raise Refusal(
                        403, f"hub.callback's host did not resolve within {RESOLVE_TIMEOUT:g} s."
                    ) from None
        except Refused:
            # The same words whatever the reason: what a name inside the network resolves
            # to, or whether it resolves at all, is no stranger's business.
            raise Refusal(
                403, "hub.callback refused: its host must resolve, and only to public addresses."
            ) from None
        return url, host


def topic_checker(settings: Settings, is_feed: Callable[[str], bool]) -> TopicCheck:
    """``topic_of`` for feeds whose URL paths ``is_feed`` knows."""
    base = comparable(as_uri(settings.base_url))

    def topic_of(given: str) -> str | None:
        url = comparable(given.strip())
        if not url.startswith(base) or "?" in url or "#" in url:
            return None
        path = "/" + url[len(base) :]
        return topic_url(settings, path) if is_feed(path) else None

    return topic_of


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
