"""Which hubs a feed names, and how the URLs of topics and callbacks are compared."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

from ..archives import parse_archive_path
from ..builders import FEED_FORMATS
from ..builders.uri import as_uri
from ..catalogue import FEEDS_PREFIX
from ..config import Settings

HUB_PATH = "/websub"
"""Where ``feeds serve --hub`` takes subscription requests."""

_UNRESERVED_ESCAPE = re.compile(r"%(2[dDeE]|3[0-9]|[46][1-9a-fA-F]|[57][0-9aA]|5[fF]|7[eE])")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def hub_urls(settings: Settings) -> tuple[str, ...]:
    """The hubs a feed names: those of ``hubs`` in their order, then the built-in one."""
    urls = [*settings.hubs, *([settings.base_url + HUB_PATH.lstrip("/")] if settings.hub else [])]
    return tuple(dict.fromkeys(as_uri(url) for url in urls))


def topic_url(settings: Settings, path: str) -> str:
    """The topic of the feed at ``path`` (a URL path, or a file name of an export): its self
    URL, as the document and its ``Link`` header write it and the hub's store keeps it."""
    return as_uri(settings.base_url + path.lstrip("/"))


def hub_links(hubs: tuple[str, ...]) -> list[str]:
    """``Link`` header values naming ``hubs`` (RFC 8288)."""
    return [f'<{hub}>; rel="hub"' for hub in hubs]


def comparable(url: str) -> str:
    """``url`` as two URLs of the same resource write it alike: percent-encoded unreserved
    characters decoded (WebSub §5.1.1), scheme and host in lower case, no default port."""
    url = _UNRESERVED_ESCAPE.sub(lambda found: chr(int(found[1], 16)), url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url  # no URL: it compares equal to nothing but itself
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS.get(parts.scheme)) else f"{host}:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, parts.fragment))


def written_topics(settings: Settings, names: Iterable[str]) -> list[str]:
    """The topics of the feed files among ``names`` (relative file names of an export): the
    current documents, not their pages or archives."""
    feeds = FEEDS_PREFIX.lstrip("/")
    suffixes = tuple(f".{fmt.value}" for fmt in FEED_FORMATS)  # a page is no topic
    return [
        topic_url(settings, name)
        for name in names
        if name.startswith(feeds) and name.endswith(suffixes) and parse_archive_path(f"/{name}") is None
    ]
