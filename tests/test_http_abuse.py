"""Hostile HTTP: path traversal, absurd and repeated query values, unknown parameters,
oversized and malformed requests, every method, and topic names that try to inject markup
into the index page, the feeds' pages and the OPML file. Nothing crashes, leaks or answers 500.

The app is exercised through Flask's test client; what only a real server sees (request
lines and headers past its limits, malformed framing) goes to a real ``feeds serve`` over
a raw socket.
"""

from __future__ import annotations

import gzip
import json
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree
from lxml import html as lxml_html

from feeds.config import Settings
from feeds.web import create_app
from tests.conftest import NOW, item_text, minimal_item
from tests.test_serve_process import Server, serving

BASE = "http://feeds.test/"
SITE_TITLE = "Abuse"
SECRET = "SECRET-FILE-CANARY"
"""In a corpus file that is not published, and in a file beside the corpus."""

INJECTIONS = [
    '<script>alert("topic")</script>',
    '"><img src=x onerror=alert(1)>',
    "' onmouseover='alert(1)' x='",
    "{{ 7*191 }}{% for x in range(3) %}LOOP{% endfor %}",
    "</td></tr></table><script>alert(2)</script>",
    "javascript:alert(3)",
    "]]><!-- <![CDATA[",
    "<style>body{display:none}</style>",
    "<?xml-stylesheet href='x.xsl'?>",
    "\u202eevil\u202c",
    "&amp; &lt; &#x3C; &",
    "All",
    "hot",
    "../../etc/passwd",
    "opml",
]
"""Topic names: markup, template syntax, entities, and names whose slugs are taken."""

METHODS = (
    "GET HEAD POST PUT DELETE PATCH OPTIONS TRACE CONNECT PROPFIND PROPPATCH MKCOL COPY MOVE LOCK UNLOCK "
    "SEARCH PURGE LINK FOO"
).split()

TRAVERSALS = [
    "/feeds/../",
    "/feeds/../../etc/passwd",
    "/feeds/..%2f..%2f..%2fetc%2fpasswd",
    "/feeds/%2e%2e/%2e%2e/etc/passwd",
    "/feeds/%2e%2e%2f%2e%2e%2fcorpus%2fdraft.txt",
    "/feeds/%252e%252e/%252e%252e/etc/passwd",
    "/feeds/%252e%252e%252fcorpus%252fdraft.txt",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/feeds/..\\..\\etc\\passwd",
    "/feeds/%2e%2e%5c%2e%2e%5cetc%5cpasswd",
    "/feeds/....//....//etc/passwd",
    "/feeds/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
    "/feeds/all.rss%00.html",
    "/feeds/all.rss/..",
    "/feeds/hot/../../opml.xml",
    "/feeds/./all.rss",
    "/../corpus/draft.txt",
    "/corpus/draft.txt",
    "/secret.txt",
    "/feeds/../secret.txt",
    "/.feeds-export.json",
    "/feeds/" + "../" * 40 + "etc/passwd",
    "/feeds/%2fetc%2fpasswd",
    "/feeds//etc/passwd",
    "/feeds/all.rss?file=../../etc/passwd",
    "/static/../../etc/passwd",
    "/feeds/draft.txt",
    "/draft.txt",
]

BAD_VALUES = {
    "limit": ["0", "-1", "501", "99999999999999999999", "1e3", "1.0", " 1", "1 ", "+1", "０１", "٣", "0x10",
              "", "NaN", "inf", "1" * 10_000, "\x00", "1\x00", "1;2", "<script>"],
    "min_heat": ["-1", "1000001", "abc", "", "1" * 50, "1.5", "½"],
    "min_quality": ["101", "-0", "50.5", "true"],
    "order": ["HOT", "random", "", "latest\x00", "hot;drop", "Latest", "hot " * 1000],
}  # fmt: skip
UNKNOWN_QUERIES = [
    "x=1", "callback=alert(1)", "format=xml", "__proto__[x]=1", "limit[]=1", "=", "&&&", "a=%ZZ", "a=%",
    "topic=../../etc/passwd", "jsonp=x", "_=" + "x" * 20_000, "&".join(f"p{n}={n}" for n in range(1_000)),
]  # fmt: skip
"""Parameters the server does not know: ignored, so the feed is the same bytes."""


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    root.mkdir()
    for n, name in enumerate(INJECTIONS):
        (root / f"topic-{n:02}.txt").write_text(item_text(minimal_item(n), topics=[name, "Plain"], heat=70))
    draft = minimal_item(90) | {"title": SECRET, "published": False, "secured": SECRET}
    (root / "draft.txt").write_text(item_text(draft), encoding="utf-8")
    (tmp_path / "secret.txt").write_text(SECRET, encoding="utf-8")
    return root


@pytest.fixture
def app(corpus: Path) -> Iterator[Flask]:
    site = create_app(
        Settings(corpus=corpus, base_url=BASE, site_title=SITE_TITLE), clock=lambda: NOW, watch=False
    )
    yield site
    site.extensions["feeds"].close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def assert_harmless(response: Any, where: str) -> None:
    """No 500, no secret, and an error is plain text that no browser sniffs into HTML."""
    assert response.status_code < 500, f"{where}: {response.status_code}"
    body = response.get_data()
    assert SECRET.encode() not in body and b"root:x:0:0" not in body, where
    assert response.headers.get("X-Content-Type-Options") == "nosniff", where
    if response.status_code >= 400:
        assert response.headers["Content-Type"].startswith("text/plain"), where


# -- markup in topic names ------------------------------------------------------------------


def assert_inert(page: Any, links: str) -> None:
    """No element or attribute of ``page`` runs or loads anything, every link matches the
    pattern ``links``, and no template ran."""
    assert [e.tag for e in page.iter("script", "img", "iframe", "object", "embed", "base", "form")] == []
    assert len(list(page.iter("style"))) == 1  # the page's own
    for element in page.iter():
        if isinstance(element.tag, str):
            assert not [name for name in element.attrib if name.lower().startswith("on")], element.tag
            assert element.get("style") is None, element.tag
            for name in ("href", "src"):
                value = element.get(name)
                if element.tag == "link" and element.get("rel") == "icon" and name == "href":
                    assert value == "data:,"  # no icon: the browser asks for none
                else:
                    assert value is None or re.fullmatch(links, value), value
    text = page.text_content()
    assert str(7 * 191) not in text and "LOOPLOOP" not in text  # no template ran


def test_topic_names_cannot_inject_markup_into_the_index_page(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    page = lxml_html.document_fromstring(response.data)
    assert_inert(page, r"(feeds/[a-z0-9/-]+\.(rss|atom|json|html)|opml\.xml)")
    names = [cell.text_content() for cell in page.xpath("//tbody/tr/td[1]")]
    for name in INJECTIONS:
        assert name in names and f"{name} (hot)" in names, name
    titles = {link.get("title") for link in page.iter("link") if link.get("rel") == "alternate"}
    assert f"{SITE_TITLE}: All topics (RSS)" in titles  # one set: every item's feed and the OPML
    assert all(title.startswith(f"{SITE_TITLE}: ") for title in titles)


def test_topic_names_cannot_inject_markup_into_the_feeds_pages(client: FlaskClient) -> None:
    index = lxml_html.document_fromstring(client.get("/").data)
    pages = sorted(index.xpath("//tbody/tr/td[1]/a/@href"))
    assert len(pages) == 2 * (2 + len(INJECTIONS))
    for href in pages:
        response = client.get("/" + href)
        assert response.status_code == 200, href
        page = lxml_html.document_fromstring(response.data)
        # stories, the page's feeds, other topics' pages, the index page
        assert_inert(page, r"https://news\.example/\d+|[a-z0-9-]+\.(rss|atom|json)|(\.\./)*([a-z0-9-]+\.html)?")
        topics = [a.text_content() for a in page.xpath("//p[@class='topics']/a")]
        heading = page.findtext(".//h1")
        for name in INJECTIONS:
            if heading in (f"{SITE_TITLE}: {name}", f"{SITE_TITLE}: {name} (hot)"):
                assert topics == [name, "Plain"], href


def test_topic_names_cannot_inject_markup_into_the_opml_file(client: FlaskClient) -> None:
    response = client.get("/opml.xml")
    assert response.status_code == 200
    root = etree.fromstring(response.data)
    assert [node for node in root.iter() if not isinstance(node.tag, str)] == []  # no PI, no comment
    (body,) = root.findall("body")
    outlines = list(body)
    assert all(o.tag == "outline" and len(o) == 0 for o in outlines)
    texts = {o.get("text") for o in outlines}
    for name in INJECTIONS:
        assert f"{SITE_TITLE}: {name}" in texts and f"{SITE_TITLE}: {name} (hot)" in texts
    for outline in outlines:
        url = outline.get("xmlUrl")
        assert re.fullmatch(re.escape(BASE) + r"feeds/[a-z0-9/-]+\.rss", url), url
        assert outline.get("htmlUrl") == url.removesuffix(".rss") + ".html"


def test_every_linked_feed_of_hostile_topics_is_served_and_parses(client: FlaskClient) -> None:
    page = lxml_html.document_fromstring(client.get("/").data)
    hrefs = sorted({a.get("href") for a in page.iter("a") if a.get("href", "").startswith("feeds/")})
    assert len(hrefs) == 4 * 2 * (2 + len(INJECTIONS))  # formats and page, plain and hot, all, Plain, each
    for href in hrefs:
        response = client.get("/" + href)
        assert response.status_code == 200, href
        if href.endswith(".json"):
            json.loads(response.data)
        elif href.endswith(".html"):
            assert lxml_html.document_fromstring(response.data).findtext(".//h1")
        else:
            etree.fromstring(response.data)


# -- paths, queries, headers, methods ---------------------------------------------------------


@pytest.mark.parametrize("path", TRAVERSALS)
def test_path_traversal_reaches_nothing_but_feeds(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert_harmless(response, path)
    if response.status_code == 200:
        # only a published document can answer: the same bytes as its own address gives
        clean = urlsplit(path).path
        assert clean in {"/feeds/all.rss"}, path
        assert response.data == client.get("/feeds/all.rss").data


@pytest.mark.parametrize("name", list(BAD_VALUES))
def test_absurd_query_values_are_400_with_a_plain_message(client: FlaskClient, name: str) -> None:
    for value in BAD_VALUES[name]:
        response = client.get("/feeds/all.rss", query_string={name: value})
        assert_harmless(response, f"{name}={value[:20]!r}")
        assert response.status_code == 400, (name, value[:20])
        message = response.get_data(as_text=True)
        assert message.startswith(name) and message.count("\n") == 1, message
        assert len(value) < 4 or value not in message  # the value is not echoed back


def test_repeated_query_parameters_are_400(client: FlaskClient) -> None:
    for query in (
        "limit=1&limit=2",
        "order=hot&order=hot",
        "min_heat=1&min_heat=1",
        "min_quality=1&min_quality=2",
    ):
        response = client.get(f"/feeds/all.json?{query}")
        assert_harmless(response, query)
        assert response.status_code == 400 and b"once" in response.data


def test_unknown_query_parameters_change_nothing(client: FlaskClient) -> None:
    plain = client.get("/feeds/all.json")
    for query in UNKNOWN_QUERIES:
        response = client.get(f"/feeds/all.json?{query}")
        assert_harmless(response, query[:40])
        assert response.status_code == 200 and response.data == plain.data, query[:40]
        assert response.headers["ETag"] == plain.headers["ETag"]
        assert response.headers["Content-Type"] == plain.headers["Content-Type"]  # no JSONP
    for path in ("/", "/opml.xml"):
        assert client.get(f"{path}?limit=abc&order=nope").data == client.get(path).data


def test_absurd_request_headers_are_harmless(client: FlaskClient) -> None:
    plain = client.get("/feeds/all.atom")
    headers: list[dict[str, str]] = [
        {"Accept-Encoding": value}
        for value in ("gzip;q=nan", "gzip;q=1e999", "*;q=-1", "gzip;q=", ";;;,,,", ", ".join(["x"] * 5_000))
    ]
    headers += [
        {"If-None-Match": value} for value in ('"', "W/", 'W/"', '"a", W/"b", *', ", ".join(['"x"'] * 5_000))
    ]
    headers += [
        {"If-Modified-Since": value}
        for value in ("yesterday", "Mon, 99 Foo 99999 99:99:99 GMT", "Thu, 01 Jan 1970 00:00:00 GMT",
                      "Fri, 31 Dec 9999 23:59:59 GMT", "Sun, 06 Nov 1994 08:49:37 GMT" * 100, "-1")
    ]  # fmt: skip
    headers += [{"Host": "evil.example"}, {"Range": "bytes=0-10"}, {"Accept": "application/json;q=2"},
                {"X-Forwarded-Host": "evil.example"}, {"Cookie": "a=" + "b" * 10_000}]  # fmt: skip
    for header in headers:
        response = client.get("/feeds/all.atom", headers=header)
        shown = {k: v[:40] for k, v in header.items()}
        assert_harmless(response, str(shown))
        assert response.status_code in {200, 304}, shown
        if response.status_code == 200:
            body = response.data
            if response.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            assert body == plain.data, shown
        assert b"evil.example" not in b"".join(f"{v}".encode() for v in response.headers.values())


def test_every_method_on_every_kind_of_path(client: FlaskClient) -> None:
    for path in ("/", "/opml.xml", "/feeds/all.rss", "/feeds/hot/all.json", "/feeds/nope.rss", "/nope"):
        for method in METHODS:
            response = client.open(path, method=method, data=b"x" * 100_000 if method == "POST" else None)
            assert_harmless(response, f"{method} {path}")
            if method in {"GET", "HEAD"}:
                assert response.status_code == (404 if "nope" in path else 200), (method, path)
                if method == "HEAD":
                    assert response.data == b""
            elif path != "/nope" and "nope" not in path:
                assert response.status_code == 405 and response.headers["Allow"] == "GET, HEAD", (
                    method,
                    path,
                )
            else:
                assert response.status_code in {404, 405}, (method, path)


# -- a real server --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("served")
    root = folder / "corpus"
    root.mkdir()
    for n, name in enumerate(INJECTIONS[:4]):
        (root / f"{n}.txt").write_text(item_text(minimal_item(n), topics=[name]), encoding="utf-8")
    draft = minimal_item(9) | {"title": SECRET, "published": False}
    (root / "draft.txt").write_text(item_text(draft), encoding="utf-8")
    (folder / "secret.txt").write_text(SECRET, encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(folder / "cache"))
        with serving([str(root), "--watch-interval", "60"], cwd=folder) as running:
            yield running


def raw(port: int, data: bytes, timeout: float = 10.0) -> bytes:
    """Send ``data`` as it is and read until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        try:
            connection.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before reading it all
        chunks = []
        while True:
            try:
                chunk = connection.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def status_of(response: bytes) -> int:
    found = re.match(rb"HTTP/1\.[01] (\d{3}) ", response)
    assert found, response[:200]
    return int(found[1])


RAW_REQUESTS = {
    "long request line": b"GET /feeds/all.rss?x=" + b"a" * 8_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "100 kB query": b"GET /?" + b"a=b&" * 25_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "16 kB header": b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 16_000 + b"\r\n\r\n",
    "1 MB header": b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 1_000_000 + b"\r\n\r\n",
    "200 headers": b"GET / HTTP/1.1\r\nHost: x\r\n"
    + b"".join(b"X-%d: y\r\n" % n for n in range(200))
    + b"\r\n",
    "NUL in header": b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n",
    "folded header": b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n",
    "bad method": b"G<E>T / HTTP/1.1\r\nHost: x\r\n\r\n",
    "HTTP/0.9": b"GET /\r\n\r\n",
    "HTTP/2 preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "HTTP/3.0": b"GET / HTTP/3.0\r\nHost: x\r\n\r\n",
    "CONNECT": b"CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n",
    "TRACE": b"TRACE / HTTP/1.1\r\nHost: x\r\nCookie: secret\r\n\r\n",
    "OPTIONS *": b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
    "absolute form": b"GET http://evil.example/feeds/../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n",
    "raw traversal": b"GET /feeds/../../../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n",
    "encoded traversal": b"GET /feeds/%2e%2e/%2e%2e/secret.txt HTTP/1.1\r\nHost: x\r\n\r\n",
    "double encoded": b"GET /feeds/%252e%252e/%252e%252e/secret.txt HTTP/1.1\r\nHost: x\r\n\r\n",
    "backslashes": b"GET /feeds\\..\\..\\secret.txt HTTP/1.1\r\nHost: x\r\n\r\n",
    "raw bytes in path": b"GET /feeds/\xff\xfe\x00.rss HTTP/1.1\r\nHost: x\r\n\r\n",
    "CL and TE": b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",  # noqa: E501
    "two CL": b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
    "negative CL": b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
    "huge CL": b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\nx",
    "bad chunk": b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nx\r\n0\r\n\r\n",
    "no host": b"GET /feeds/all.rss HTTP/1.1\r\n\r\n",
    "garbage": bytes(range(256)) + b"\r\n\r\n",
}


@pytest.mark.parametrize("name", list(RAW_REQUESTS))
def test_a_real_server_answers_malformed_and_oversized_requests_without_a_5xx(
    server: Server, name: str
) -> None:
    response = raw(server.port, RAW_REQUESTS[name])
    status = status_of(response)
    assert status < 500, (name, response[:300])
    assert SECRET.encode() not in response and b"root:x:0:0" not in response, name
    if name in {"long request line", "100 kB query", "16 kB header", "1 MB header", "200 headers"}:
        assert status in {400, 414, 431}, (name, status)  # the server's own limits
    assert server.fetch("/")[0] == 200  # and it still serves


def test_a_real_server_takes_every_method_and_logs_no_error(server: Server) -> None:
    for path in ("/", "/feeds/all.rss", "/nope"):
        for method in METHODS:
            response = raw(
                server.port, f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
            )
            assert status_of(response) < 500, (method, path)
    quoted = quote("/feeds/" + "\u202e" * 100 + ".rss")
    assert status_of(raw(server.port, f"GET {quoted} HTTP/1.1\r\nHost: x\r\n\r\n".encode())) == 404
    time.sleep(0.2)  # let the log lines of the last requests arrive
    log = server.log()
    assert "Traceback" not in log and "[ERROR]" not in log and " 500 " not in log, log[-3000:]
    assert len(server.workers()) == 2  # no worker died


def test_idle_connections_do_not_stop_a_real_server_from_answering(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    root.mkdir()
    (root / "a.txt").write_text(item_text(), encoding="utf-8")
    with serving([str(root)], cwd=tmp_path, workers=2) as running:
        idle = [socket.create_connection(("127.0.0.1", running.port)) for _ in range(2)]
        try:
            time.sleep(0.5)  # each worker has accepted one and waits for its request line
            with socket.create_connection(("127.0.0.1", running.port), timeout=5) as connection:
                connection.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                try:
                    first = connection.recv(64)
                except TimeoutError:
                    pytest.fail("no answer within 5 s while two connections sat idle")
            assert first.startswith(b"HTTP/1.1 200")
        finally:
            for connection in idle:
                connection.close()
