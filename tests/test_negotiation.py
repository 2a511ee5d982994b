"""A feed's URL answers a browser's navigation with the feed's page and everyone else with the
feed, through a real ``feeds serve``: the matrix of clients, HEAD, gzip and 304s.

:func:`check_matrix` is shared with the nginx test, which runs it over an export.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from email.message import Message

import feedparser
import pytest

from feeds.pages import HEADER_POLICY
from tests.conftest import SEEDS
from tests.test_serve_process import Server, serving
from tests.test_web import MEDIA_TYPES, feed_urls

Fetch = Callable[[str, str, dict[str, str]], tuple[int, Message, bytes]]
"""``fetch(method, path, headers)``: status, headers and body of one request."""

BROWSER = {
    "Sec-Fetch-Dest": "document",
    "Sec-Fetch-Mode": "navigate",
    "Sec-Fetch-Site": "none",
    "Sec-Fetch-User": "?1",
    "Upgrade-Insecure-Requests": "1",
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0",
}
"""What Chromium sends when a person opens a URL."""
FETCH = {
    "Sec-Fetch-Dest": "empty",
    "Sec-Fetch-Mode": "cors",
    "Sec-Fetch-Site": "same-origin",
    "Accept": "*/*",
}
"""What ``fetch()`` in a page sends."""
CURL = {"User-Agent": "curl/8.14.1", "Accept": "*/*"}
FEEDPARSER = {"User-Agent": feedparser.USER_AGENT, "Accept": feedparser.http.ACCEPT_HEADER}
CLIENTS = {"fetch()": FETCH, "curl": CURL, "feedparser": FEEDPARSER, "bare": {}}
"""Everyone who is not a person navigating: they get the feed."""


def tokens(headers: Message, name: str) -> set[str]:
    """The comma-separated values of every ``name`` header, in lower case."""
    return {part.strip().lower() for value in headers.get_all(name, []) for part in value.split(",")}


def check_matrix(fetch: Fetch, path: str, feed: bytes, page: bytes) -> None:
    """Every kind of client against the feed at ``path`` and its page; ``feed`` and ``page``
    are the bytes each must get."""
    stem, _, ext = path.rpartition(".")
    page_path = f"{stem}.html"
    feed_type = f"{MEDIA_TYPES[ext]}; charset=utf-8"
    feed_urls(ext, feed)  # a valid feed

    status, shown, body = fetch("GET", path, BROWSER)
    assert (status, shown["Content-Type"], body) == (200, "text/html; charset=utf-8", page), path
    assert shown["Content-Security-Policy"] == HEADER_POLICY
    assert {"accept-encoding", "sec-fetch-dest"} <= tokens(shown, "Vary")
    page_etag = shown["ETag"]

    for client, headers in CLIENTS.items():
        status, got, body = fetch("GET", path, headers)
        assert (status, got["Content-Type"], body) == (200, feed_type, feed), (path, client)
        assert {"accept-encoding", "sec-fetch-dest"} <= tokens(got, "Vary"), client
        assert "Content-Security-Policy" not in got
    feed_etag = got["ETag"]
    assert feed_etag != page_etag

    # HEAD: the same headers as GET, no body.
    for headers, expected in ((BROWSER, shown), (CURL, got)):
        status, head, body = fetch("HEAD", path, headers)
        assert status == 200 and body == b""
        for name in ("Content-Type", "Content-Length", "ETag", "Vary", "Content-Security-Policy"):
            assert head.get_all(name) == expected.get_all(name), name

    # Each answer revalidates with its own ETag only.
    for headers, etag, other in ((BROWSER, page_etag, feed_etag), (FEEDPARSER, feed_etag, page_etag)):
        status, again, body = fetch("GET", path, {**headers, "If-None-Match": etag})
        assert (status, body) == (304, b""), headers["Accept"]
        assert again["ETag"] == etag and {"accept-encoding", "sec-fetch-dest"} <= tokens(again, "Vary")
        status, _, body = fetch("GET", path, {**headers, "If-None-Match": other})
        assert status == 200 and body == (page if etag == page_etag else feed)

    # gzip, either way.
    status, zipped, body = fetch("GET", path, {**BROWSER, "Accept-Encoding": "gzip, deflate, br"})
    assert status == 200 and zipped["Content-Encoding"] == "gzip" and gzip.decompress(body) == page
    status, zipped, body = fetch("GET", path, {**CURL, "Accept-Encoding": "gzip"})
    assert status == 200 and zipped["Content-Encoding"] == "gzip" and gzip.decompress(body) == feed

    # The page's own URL is the page for everyone, and does not vary by Sec-Fetch-Dest.
    for headers in (BROWSER, *CLIENTS.values()):
        status, own, body = fetch("GET", page_path, headers)
        assert (status, own["Content-Type"], body) == (200, "text/html; charset=utf-8", page)
        assert own["Content-Security-Policy"] == HEADER_POLICY
        assert "sec-fetch-dest" not in tokens(own, "Vary")


@pytest.fixture(scope="module")
def seeds_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving([str(SEEDS)], cwd=tmp_path_factory.mktemp("negotiation")) as running:
        yield running


def served(server: Server) -> Fetch:
    def fetch(method: str, path: str, headers: dict[str, str]) -> tuple[int, Message, bytes]:
        return server.fetch(path, method, headers)

    return fetch


@pytest.mark.parametrize("stem", ["/feeds/all", "/feeds/ai", "/feeds/hot/ai-ethics"])
@pytest.mark.parametrize("ext", ["rss", "atom", "json"])
def test_a_browser_gets_the_page_and_everyone_else_the_feed(
    seeds_server: Server, stem: str, ext: str
) -> None:
    fetch = served(seeds_server)
    _, _, feed = fetch("GET", f"{stem}.{ext}", {})
    _, _, page = fetch("GET", f"{stem}.html", {})
    check_matrix(fetch, f"{stem}.{ext}", feed, page)


def test_query_parameters_reach_the_page_a_browser_gets(seeds_server: Server) -> None:
    fetch = served(seeds_server)
    status, headers, body = fetch("GET", "/feeds/all.atom?limit=1&order=hot", BROWSER)
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert body == fetch("GET", "/feeds/all.html?limit=1&order=hot", {})[2]
    assert b"1 story, hottest first." in body
    assert b'href="all.rss?order=hot&amp;limit=1"' in body


def test_feedparser_reads_the_feed_and_revalidates_it(seeds_server: Server) -> None:
    url = f"{seeds_server.base}feeds/ai.atom"
    parsed = feedparser.parse(url)
    assert parsed.bozo == 0 and parsed.version == "atom10" and parsed.status == 200
    assert parsed.feed.link == f"{seeds_server.base}feeds/ai.html"  # its page
    again = feedparser.parse(url, etag=parsed.etag)
    assert again.status == 304 and again.entries == []


def test_the_page_a_feed_points_at_is_served(seeds_server: Server) -> None:
    for ext in ("rss", "atom"):
        parsed = feedparser.parse(f"{seeds_server.base}feeds/hot/all.{ext}")
        status, headers, body = seeds_server.fetch(parsed.feed.link.removeprefix(seeds_server.base[:-1]))
        assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
        assert b"<h1>feeds: All topics (hot)</h1>" in body
