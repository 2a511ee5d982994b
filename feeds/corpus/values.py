"""The values an item is made of, checked and normalised the same way by both readers:
text, links and their ids, dates, numbers."""

from __future__ import annotations

import functools
import hashlib
import re
import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml

MAX_NUMBER = 1_000_000_000
"""The largest heat, quality, width or height: far beyond any real one, and within what
every store of numbers holds."""

_XML_FORBIDDEN = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_SPACES = re.compile(r"\s+")
_URL_UNSAFE = re.compile(r"[\s\x00-\x1f]")
# http(s), a plain host name (no user, no brackets) and an optional port, then the path:
# what urlsplit accepts with a host, as nearly every URL of a corpus is. In parts: scheme,
# host, port, the rest.
_PLAIN_PARTS = re.compile(r"(?i:(https?))://([A-Za-z0-9._~-]+)(?::([0-9]{1,5}))?((?:[/?#][^\s\x00-\x1f]*)?)\Z")
_DEFAULT_PORTS = {("http", 80), ("https", 443)}
_URL_NAMESPACE = uuid.NAMESPACE_URL.bytes


def clean_text(text: str) -> str:
    """Remove the characters XML 1.0 forbids (controls, lone surrogates, U+FFFE/FFFF)."""
    return _XML_FORBIDDEN.sub("", text)


def unique_topics(names: Iterable[str]) -> tuple[str, ...]:
    """Topic names with each run of space made one and the ends trimmed, empty ones left
    out, each once whatever its case (as first spelt)."""
    kept: dict[str, str] = {}
    for topic in names:
        name = _SPACES.sub(" ", topic).strip()
        if name:
            kept.setdefault(name.casefold(), name)
    return tuple(kept.values())


def item_id(canonical_url: str) -> str:
    """The permanent id of a story: a name-based UUID (version 5) of its canonical URL.

    Computed as :func:`uuid.uuid5` does, without making a UUID object on the way.
    """
    digest = bytearray(hashlib.sha1(_URL_NAMESPACE + canonical_url.encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # the RFC 4122 variant
    hexed = digest.hex()
    return f"urn:uuid:{hexed[:8]}-{hexed[8:12]}-{hexed[12:16]}-{hexed[16:20]}-{hexed[20:]}"


def canonical_url(url: str) -> str:
    """Normalise a URL for identity: case of scheme and host, default port, no fragment."""
    plain = _PLAIN_PARTS.match(url)
    if plain is not None:  # what urlsplit and urlunsplit make of it, the short way
        scheme, host, port, rest = plain.groups()
        scheme, host = scheme.lower(), host.lower()
        if port is not None and (scheme, int(port)) not in _DEFAULT_PORTS:
            host = f"{host}:{int(port)}"
        path, _, query = rest.partition("#")[0].partition("?")
        return f"{scheme}://{host}{path or '/'}{'?' + query if query else ''}"
    return canonical_url_parsed(url)


def canonical_url_parsed(url: str) -> str:
    """:func:`canonical_url` the long way, by urlsplit."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address keeps its brackets
    port = parts.port
    if port is not None and (parts.scheme.lower(), port) not in _DEFAULT_PORTS:
        host = f"{host}:{port}"
    return urlunsplit((parts.scheme.lower(), host, parts.path or "/", parts.query, ""))


def story_keys(url: str, *others: str | None) -> tuple[str, ...]:
    """The ids of a story's links, its own id (that of ``url``) first, each once."""
    return tuple(dict.fromkeys(link_id(link) for link in (url, *others) if link))


@functools.lru_cache(maxsize=1 << 15)
def link_id(url: str) -> str:
    """The id of the story at ``url``; stories linked from many items are worked out once."""
    return item_id(canonical_url(url))


def url_problem(url: str) -> str | None:
    """Why ``url`` is not an absolute http(s) URL we can publish, or ``None``."""
    plain = _PLAIN_PARTS.match(url)
    if plain is not None and (not plain[3] or int(plain[3]) <= 65535):
        return None  # the common case, settled without urlsplit
    return url_problem_parsed(url)


def url_problem_parsed(url: str) -> str | None:
    """:func:`url_problem` the long way, by urlsplit."""
    if _URL_UNSAFE.search(url):
        return "contains spaces or control characters"
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        return "is not a valid URL"
    if parts.scheme.lower() not in {"http", "https"}:
        return "must be an http or https URL"
    if not parts.hostname:
        return "has no host"
    return None


def is_url(url: str) -> bool:
    return url_problem(clean_text(url)) is None


def parse_date(value: Any) -> datetime:
    """Read a front matter date as an aware UTC datetime, to the second.

    Accepts YAML timestamps (aware or not), bare dates (midnight) and ISO 8601 text with
    ``Z`` or a numeric offset, quoted or not. A time without an offset is taken to be UTC:
    a corpus is written by machines far more often than by people in one time zone, and
    UTC is what every machine agrees on.
    """
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time())
    elif isinstance(value, str):
        moment = _parse_date_text(value.strip())
    else:
        raise ValueError(f"must be a date, got {kind(value)} {show(value)}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"is out of range: {show(value)}") from None
    if moment.year < 1000:
        raise ValueError(f"is before the year 1000: {show(value)}")
    return moment.replace(microsecond=0)


def _parse_date_text(text: str) -> datetime:
    """ISO 8601, or what YAML would have read unquoted (``2023-2-3``, ``... 21:59:43 -5``)."""
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    if yaml.constructor.SafeConstructor.timestamp_regexp.fullmatch(text):
        node = yaml.ScalarNode("tag:yaml.org,2002:timestamp", text)
        try:
            moment = _TIMESTAMPS.construct_yaml_timestamp(node)
        except ValueError as err:
            raise ValueError(f"is not a real date: {show(text)} ({err})") from None
        return moment if isinstance(moment, datetime) else datetime.combine(moment, time())
    raise ValueError(f"cannot be read as a date: {show(text)}; use ISO 8601, like 2023-02-03T12:51:00Z")


_TIMESTAMPS = yaml.constructor.SafeConstructor()


def kind(value: Any) -> str:
    """What a value is, for a message: ``a number``, ``text``, ``a mapping``."""
    names = {bool: "a boolean", int: "a number", float: "a number", str: "text", list: "a list"}
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, datetime | date):
        return "a date"
    return names.get(type(value), type(value).__name__)


def show(value: Any, limit: int = 60) -> str:
    """``repr`` of a value for a message: one line, and not a mebibyte of it."""
    shown = repr(value)
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."
