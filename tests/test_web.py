"""The Flask app through its test client: URLs, selection by query, and HTTP for pollers.

Helpers here (``story``, ``feed_urls``, ``http_date_of``) are shared by the other serve tests.
"""

from __future__ import annotations

import gzip
import json
import re
import runpy
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import feedparser
import jsonschema
import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree, html
from referencing import Registry
from referencing.jsonschema import DRAFT4
from werkzeug.http import http_date

from feeds.config import Settings
from feeds.http import accepts_gzip
from feeds.web import create_app
from tests.conftest import NOW, ROOT, SCHEMAS, CorpusWriter, item_text, minimal_item

MEDIA_TYPES = {
    "rss": "application/rss+xml",
    "atom": "application/atom+xml",
    "json": "application/feed+json",
}
FORMATS = tuple(MEDIA_TYPES)
BASE = "http://feeds.test/"
METHODS_NOT_ALLOWED = ("POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PURGE")


# --- shared helpers ---------------------------------------------------------------------


def story(
    n: int,
    *,
    topics: list[str],
    heat: int = -1,
    quality: int | None = 50,
    when: datetime | None = None,
    published: bool = True,
    title: str | None = None,
) -> str:
    """An item file with URL ``https://news.example/<n>``."""
    return item_text(
        minimal_item(n),
        topics=topics,
        heat=heat,
        quality=quality,
        publishedDateTime=when or datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=n),
        published=published,
        title=title or f"Story {n}",
    )


def url_of(n: int) -> str:
    return f"https://news.example/{n}"


@cache
def _atom_grammar() -> etree.RelaxNG:
    return etree.RelaxNG(etree.parse(str(SCHEMAS / "atom.rng")))


@cache
def _json_validator() -> Any:
    feed1 = json.loads((SCHEMAS / "jsonfeed-1.schema.json").read_text(encoding="utf-8"))
    feed11 = json.loads((SCHEMAS / "jsonfeed-1.1.schema.json").read_text(encoding="utf-8"))
    resource = DRAFT4.create_resource(feed1)
    registry: Registry[Any] = Registry().with_resources(
        [
            ("https://json.schemastore.org/feed-1", resource),
            ("https://json.schemastore.org/feed-1.json", resource),
        ]
    )
    return jsonschema.Draft4Validator(feed11, registry=registry)


def feed_urls(fmt: str, body: bytes) -> list[str]:
    """The item URLs of a feed document, in order, after checking the document is valid."""
    if fmt == "json":
        document = json.loads(body)
        _json_validator().validate(document)
        return [item["url"] for item in document["items"]]
    if fmt == "atom":
        grammar = _atom_grammar()
        assert grammar.validate(etree.fromstring(body)), grammar.error_log
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == ("atom10" if fmt == "atom" else "rss20")
    return [entry.link for entry in parsed.entries]


def http_date_of(when: datetime) -> str:
    return http_date(when)


def link_header(value: str) -> list[tuple[str, dict[str, str]]]:
    """``<url>; a="b", <url>; ...`` as (url, params) pairs (our values hold no commas)."""
    links = []
    for part in value.split(", <"):
        target, _, rest = part.lstrip("<").partition(">")
        params = dict(re.findall(r';\s*([a-z]+)="([^"]*)"', rest))
        links.append((target, params))
    return links


# --- the corpus of these tests ------------------------------------------------------------

# n: topics, heat, quality, date
STORIES: dict[int, tuple[list[str], int, int | None, datetime]] = {
    0: (["AI"], 90, 80, datetime(2024, 3, 1, 8, 0, tzinfo=UTC)),
    1: (["AI"], 30, 40, datetime(2024, 3, 5, 8, 0, tzinfo=UTC)),
    2: (["AI", "Space"], 60, 95, datetime(2024, 3, 3, 8, 0, tzinfo=UTC)),
    3: (["Space"], -1, None, datetime(2024, 3, 10, 12, 0, 30, 250000, tzinfo=UTC)),
    4: (["Space"], 85, 60, datetime(2024, 2, 1, 8, 0, tzinfo=UTC)),
}
UNPUBLISHED = 5
SCHEDULED = 6
SCHEDULED_AT = NOW + timedelta(hours=1)


def expected(topic: str | None = None, min_heat: int | None = None) -> list[str]:
    """URLs of the visible stories of ``topic`` (or all), newest first."""
    chosen = [
        (when, n)
        for n, (topics, heat, _, when) in STORIES.items()
        if (topic is None or topic in topics) and (min_heat is None or heat >= min_heat)
    ]
    return [url_of(n) for _, n in sorted(chosen, reverse=True)]


def newest(topic: str | None = None) -> datetime:
    return max(when for topics, _, _, when in STORIES.values() if topic is None or topic in topics)


@pytest.fixture
def corpus(write_corpus: CorpusWriter) -> Path:
    files = {
        f"{n:03}.txt": story(n, topics=topics, heat=heat, quality=quality, when=when)
        for n, (topics, heat, quality, when) in STORIES.items()
    }
    files["005.txt"] = story(UNPUBLISHED, topics=["AI"], published=False)
    files["006.txt"] = story(SCHEDULED, topics=["AI"], when=SCHEDULED_AT)
    return write_corpus(files)


@pytest.fixture
def site_settings(corpus: Path) -> Settings:
    return Settings(
        corpus=corpus, base_url=BASE, cache_max_age=123, max_limit=40, selections={"hot": 50, "top": 80}
    )


Clock = Callable[[], datetime]


@pytest.fixture
def clock() -> list[datetime]:
    """A clock the test can move: the app reads ``clock[0]``."""
    return [NOW]


@pytest.fixture
def web(site_settings: Settings, clock: list[datetime]) -> Iterator[Flask]:
    app = create_app(site_settings, clock=lambda: clock[0], watch=False)
    app.config["TESTING"] = True
    yield app


@pytest.fixture
def http(web: Flask) -> FlaskClient:
    return web.test_client()


# --- the index page -----------------------------------------------------------------------

FEEDS = {
    # path stem: (row name, expected item URLs)
    "feeds/all": ("All topics", expected()),
    "feeds/ai": ("AI", expected("AI")),
    "feeds/space": ("Space", expected("Space")),
    "feeds/hot/all": ("All topics (hot)", expected(min_heat=50)),
    "feeds/hot/ai": ("AI (hot)", expected("AI", 50)),
    "feeds/hot/space": ("Space (hot)", expected("Space", 50)),
    "feeds/top/all": ("All topics (top)", expected(min_heat=80)),
    "feeds/top/ai": ("AI (top)", expected("AI", 80)),
    "feeds/top/space": ("Space (top)", expected("Space", 80)),
}


def test_index_lists_every_feed_with_its_count_and_subscribe_links(http: FlaskClient) -> None:
    response = http.get("/")
    assert response.status_code == 200
    assert response.content_type == "text/html; charset=utf-8"
    page = html.fromstring(response.data)
    rows = {}
    for row in page.xpath("//tbody/tr"):
        cells = row.xpath("./td")
        hrefs = {a.get("href"): a.get("type") for a in cells[2].xpath(".//a")}
        (page_href,) = cells[0].xpath("./a/@href")
        rows[cells[0].text_content().strip()] = (int(cells[1].text), hrefs, page_href)
    assert set(rows) == {name for name, _ in FEEDS.values()}
    for stem, (name, urls) in FEEDS.items():
        count, hrefs, page_href = rows[name]
        assert count == len(urls), name
        assert hrefs == {f"{stem}.{fmt}": MEDIA_TYPES[fmt] for fmt in FORMATS}, name
        assert page_href == f"{stem}.html", name  # the feed's name links to its page


def test_index_has_one_set_of_autodiscovery_links_every_item_and_the_opml(http: FlaskClient) -> None:
    page = html.fromstring(http.get("/").data)
    alternates = {link.get("href"): link.get("type") for link in page.xpath("//head/link[@rel='alternate']")}
    expected = {f"feeds/all.{fmt}": MEDIA_TYPES[fmt] for fmt in FORMATS} | {"opml.xml": "text/x-opml"}
    assert alternates == expected
    assert len(page.xpath("//head/link[@rel='alternate']")) == len(FORMATS) + 1
    for href, media_type in alternates.items():
        response = http.get("/" + href)  # the page is at /, so relative hrefs resolve under it
        assert response.status_code == 200, href
        assert response.mimetype == media_type


def test_index_links_the_opml_file(http: FlaskClient) -> None:
    page = html.fromstring(http.get("/").data)
    assert "opml.xml" in page.xpath("//a/@href")


# --- feeds ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("stem", list(FEEDS))
def test_every_feed_in_every_format_holds_its_items(http: FlaskClient, stem: str, fmt: str) -> None:
    response = http.get(f"/{stem}.{fmt}")
    assert response.status_code == 200
    assert response.content_type == f"{MEDIA_TYPES[fmt]}; charset=utf-8"
    assert feed_urls(fmt, response.data) == FEEDS[stem][1]


def test_unpublished_and_scheduled_items_stay_out_until_due(http: FlaskClient, clock: list[datetime]) -> None:
    assert url_of(UNPUBLISHED) not in feed_urls("json", http.get("/feeds/ai.json").data)
    assert url_of(SCHEDULED) not in feed_urls("json", http.get("/feeds/ai.json").data)
    clock[0] = SCHEDULED_AT + timedelta(seconds=1)
    urls = feed_urls("json", http.get("/feeds/ai.json").data)
    assert urls[0] == url_of(SCHEDULED)
    assert url_of(UNPUBLISHED) not in urls


@pytest.mark.parametrize(
    "path",
    ["/feeds/nowhere.rss", "/feeds/ai.xml", "/feeds/ai", "/feeds/cold/ai.rss", "/feeds/hot/nowhere.json"],
)
def test_an_unknown_feed_is_404_with_a_short_message(http: FlaskClient, path: str) -> None:
    response = http.get(path)
    assert response.status_code == 404
    assert response.content_type == "text/plain; charset=utf-8"
    text = response.get_data(as_text=True)
    assert path in text and len(text) < 200
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_an_unknown_page_is_404(http: FlaskClient) -> None:
    response = http.get("/nothing/here")
    assert response.status_code == 404
    assert "/nothing/here" in response.get_data(as_text=True)


# --- OPML ----------------------------------------------------------------------------------


def test_opml_lists_every_feed_with_absolute_urls(http: FlaskClient) -> None:
    response = http.get("/opml.xml")
    assert response.status_code == 200
    assert response.mimetype in {"text/x-opml", "application/xml", "text/xml"}
    assert response.mimetype_params == {"charset": "utf-8"}
    opml = etree.fromstring(response.data)
    assert opml.tag == "opml" and opml.get("version") == "2.0"
    assert opml.findtext("head/title")
    outlines = opml.findall("body/outline")
    assert {o.get("xmlUrl") for o in outlines} == {f"{BASE}{stem}.rss" for stem in FEEDS}
    assert len(outlines) == len(FEEDS)
    for outline in outlines:
        assert outline.get("type") == "rss"
        assert outline.get("text")
        assert outline.get("htmlUrl") == outline.get("xmlUrl").removesuffix(".rss") + ".html"  # its page
        feed = http.get("/" + outline.get("xmlUrl").removeprefix(BASE))
        assert feed.status_code == 200
        assert feedparser.parse(feed.data).feed.title == outline.get("title")


# --- query parameters ----------------------------------------------------------------------


def test_min_heat_min_quality_limit_and_order_select_items(http: FlaskClient) -> None:
    def urls(query: str) -> list[str]:
        response = http.get(f"/feeds/all.json?{query}")
        assert response.status_code == 200, response.data
        return feed_urls("json", response.data)

    assert urls("min_heat=60") == expected(min_heat=60)
    assert urls("min_quality=60") == [url_of(n) for n in (2, 0, 4)]  # 3 has no quality
    assert urls("limit=2") == expected()[:2]
    assert urls("order=latest") == expected()
    assert urls("order=hot") == [url_of(n) for n in (0, 4, 2, 1, 3)]  # unscored last
    assert urls("order=hot&limit=2&min_quality=70") == [url_of(n) for n in (0, 2)]
    assert urls("min_heat=0&limit=40") == expected(min_heat=0)
    # a named selection's threshold still holds when a lower one is asked for
    assert feed_urls("json", http.get("/feeds/top/all.json?min_heat=10").data) == expected(min_heat=80)


def test_query_parameters_show_in_self_links(http: FlaskClient) -> None:
    response = http.get("/feeds/ai.json?order=hot&limit=3")
    assert json.loads(response.data)["feed_url"] == f"{BASE}feeds/ai.json?order=hot&limit=3"


@pytest.mark.parametrize(
    ("query", "allowed"),
    [
        ("min_heat=hot", "min_heat must be a whole number from 0 to"),
        ("min_heat=-1", "min_heat must be a whole number from 0 to"),
        ("min_heat=1.5", "min_heat must be a whole number from 0 to"),
        ("min_quality=101", "min_quality must be a whole number from 0 to 100"),
        ("min_quality=", "min_quality must be a whole number from 0 to 100"),
        ("limit=0", "limit must be a whole number from 1 to 40"),
        ("limit=41", "limit must be a whole number from 1 to 40"),
        ("limit=99999999999999999999", "limit must be a whole number from 1 to 40"),
        ("limit=%EF%BC%93", "limit must be a whole number from 1 to 40"),  # a full-width digit
        ("order=newest", "order must be one of: latest, hot"),
        ("order=HOT", "order must be one of: latest, hot"),
        ("limit=3&limit=4", "limit once"),
    ],
)
def test_a_bad_query_parameter_is_400_saying_what_is_allowed(
    http: FlaskClient, query: str, allowed: str
) -> None:
    response = http.get(f"/feeds/all.rss?{query}")
    assert response.status_code == 400
    assert response.content_type == "text/plain; charset=utf-8"
    assert allowed in response.get_data(as_text=True)
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_limit_up_to_the_maximum_is_accepted(http: FlaskClient) -> None:
    assert http.get("/feeds/all.rss?limit=40").status_code == 200
    assert http.get("/feeds/all.rss?limit=1").status_code == 200


def test_unknown_query_parameters_are_ignored(http: FlaskClient) -> None:
    plain = http.get("/feeds/all.atom")
    tagged = http.get("/feeds/all.atom?utm_source=reader")
    assert tagged.status_code == 200
    assert tagged.headers["ETag"] == plain.headers["ETag"]


# --- HTTP for pollers ----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_feed_headers(http: FlaskClient, fmt: str) -> None:
    response = http.get(f"/feeds/space.{fmt}")
    headers = response.headers
    assert headers["Content-Type"] == f"{MEDIA_TYPES[fmt]}; charset=utf-8"
    etag = headers["ETag"]
    assert re.fullmatch(r'"[^"\s]+"', etag), "a strong, quoted ETag"
    assert headers["Last-Modified"] == http_date(newest("Space"))
    assert headers["Cache-Control"] == "public, max-age=123"
    assert headers["Vary"] == "Accept-Encoding, Sec-Fetch-Dest"  # a browser's navigation gets the page
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert int(headers["Content-Length"]) == len(response.data)


def test_last_modified_is_the_newest_item_of_that_feed(http: FlaskClient) -> None:
    assert http.get("/feeds/ai.rss").headers["Last-Modified"] == http_date(newest("AI"))
    assert http.get("/feeds/all.rss").headers["Last-Modified"] == http_date(newest())
    assert http.get("/").headers["Last-Modified"] == http_date(newest())
    # the hot AI feed holds 0 and 2: its newest is 2's date, not the topic's newest
    assert http.get("/feeds/hot/ai.rss").headers["Last-Modified"] == http_date(STORIES[2][3])


def test_the_same_corpus_gives_the_same_etag(site_settings: Settings) -> None:
    first = create_app(site_settings, clock=lambda: NOW, watch=False).test_client().get("/feeds/all.rss")
    second = create_app(site_settings, clock=lambda: NOW, watch=False).test_client().get("/feeds/all.rss")
    assert first.data == second.data
    assert first.headers["ETag"] == second.headers["ETag"]


@pytest.mark.parametrize(
    "path", ["/feeds/all.rss", "/feeds/ai.atom", "/feeds/hot/space.json", "/", "/opml.xml"]
)
def test_if_none_match_round_trip_is_304(http: FlaskClient, path: str) -> None:
    first = http.get(path)
    again = http.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == first.headers["ETag"]
    # RFC 9110 §15.4.5: what a 200 would carry to update a cache (Last-Modified is optional)
    for name in ("Cache-Control", "Vary", "X-Content-Type-Options"):
        assert again.headers[name] == first.headers[name], name
    if path.startswith("/feeds/"):
        assert again.headers["Access-Control-Allow-Origin"] == "*"
        assert again.headers["Link"] == first.headers["Link"]


def test_if_none_match_compares_weakly_and_takes_lists_and_star(http: FlaskClient) -> None:
    etag = http.get("/feeds/all.rss").headers["ETag"]
    for value in (f"W/{etag}", f'"other", {etag}', "*"):
        assert http.get("/feeds/all.rss", headers={"If-None-Match": value}).status_code == 304, value
    for value in ('"other"', etag[:-2] + '"', f"{etag[:-1]}x{etag[-1]}"):
        assert http.get("/feeds/all.rss", headers={"If-None-Match": value}).status_code == 200, value


def test_an_etag_of_another_feed_or_query_does_not_match(http: FlaskClient) -> None:
    etag = http.get("/feeds/all.rss").headers["ETag"]
    assert http.get("/feeds/ai.rss", headers={"If-None-Match": etag}).status_code == 200
    assert http.get("/feeds/all.rss?limit=1", headers={"If-None-Match": etag}).status_code == 200


def test_if_modified_since_round_trip_is_304(http: FlaskClient) -> None:
    first = http.get(
        "/feeds/space.rss"
    )  # its newest item is dated 12:00:30.25; HTTP dates have whole seconds
    last_modified = first.headers["Last-Modified"]
    assert http.get("/feeds/space.rss", headers={"If-Modified-Since": last_modified}).status_code == 304
    later = http_date(newest("Space") + timedelta(days=1))
    assert http.get("/feeds/space.rss", headers={"If-Modified-Since": later}).status_code == 304
    earlier = http_date(newest("Space") - timedelta(seconds=1))
    response = http.get("/feeds/space.rss", headers={"If-Modified-Since": earlier})
    assert response.status_code == 200 and response.data == first.data
    garbage = http.get("/feeds/space.rss", headers={"If-Modified-Since": "yesterday"})
    assert garbage.status_code == 200


def test_if_none_match_wins_over_if_modified_since(http: FlaskClient) -> None:
    first = http.get("/feeds/all.json")
    old = http_date(datetime(2000, 1, 1, tzinfo=UTC))
    new = http_date(NOW)
    matching = http.get(
        "/feeds/all.json", headers={"If-None-Match": first.headers["ETag"], "If-Modified-Since": old}
    )
    assert matching.status_code == 304
    other = http.get("/feeds/all.json", headers={"If-None-Match": '"not-it"', "If-Modified-Since": new})
    assert other.status_code == 200
    assert other.data == first.data


@pytest.mark.parametrize("encoding", ["", "gzip"])
@pytest.mark.parametrize("path", ["/feeds/all.rss", "/feeds/ai.json", "/", "/opml.xml"])
def test_head_is_get_without_a_body(http: FlaskClient, path: str, encoding: str) -> None:
    headers = {"Accept-Encoding": encoding} if encoding else {}
    get = http.get(path, headers=headers)
    head = http.head(path, headers=headers)
    assert head.status_code == 200
    assert head.data == b""
    assert dict(head.headers) == dict(get.headers)
    assert int(head.headers["Content-Length"]) == len(get.data)
    conditional = http.head(path, headers={**headers, "If-None-Match": get.headers["ETag"]})
    assert conditional.status_code == 304


def test_cache_max_age_comes_from_settings(corpus: Path) -> None:
    app = create_app(Settings(corpus=corpus, cache_max_age=0), clock=lambda: NOW, watch=False)
    assert app.test_client().get("/feeds/all.rss").headers["Cache-Control"] == "public, max-age=0"
    app = create_app(Settings(corpus=corpus), clock=lambda: NOW, watch=False)
    assert app.test_client().get("/").headers["Cache-Control"] == "public, max-age=300"


# --- gzip ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "gzipped"),
    [
        (None, False),
        ("", False),
        ("identity", False),
        ("deflate, br", False),
        ("gzip", True),
        ("GZIP", True),
        ("x-gzip", True),
        ("gzip;q=0.5", True),
        ("deflate, gzip;q=1.0, br", True),
        ("*", True),
        ("*;q=0.1", True),
        ("gzip;q=0", False),
        ("gzip; q=0.000", False),
        ("gzip;q=0, *", False),
        ("*, gzip;q=0", False),
        ("*;q=0", False),
        ("gzip;q=0, x-gzip;q=0.5", True),
    ],
)
def test_gzip_is_used_when_the_client_accepts_it(
    http: FlaskClient, accept: str | None, gzipped: bool
) -> None:
    assert accepts_gzip(accept) is gzipped
    plain = http.get("/feeds/all.atom")
    headers = {"Accept-Encoding": accept} if accept is not None else {}
    response = http.get("/feeds/all.atom", headers=headers)
    assert response.headers["Vary"] == "Accept-Encoding, Sec-Fetch-Dest"
    if gzipped:
        assert response.headers["Content-Encoding"] == "gzip"
        assert gzip.decompress(response.data) == plain.data
        assert response.headers["ETag"] != plain.headers["ETag"]
    else:
        assert "Content-Encoding" not in response.headers
        assert response.data == plain.data
        assert response.headers["ETag"] == plain.headers["ETag"]


def test_each_encoding_has_its_own_etag_and_304_round_trip(http: FlaskClient) -> None:
    plain = http.get("/feeds/all.rss")
    zipped = http.get("/feeds/all.rss", headers={"Accept-Encoding": "gzip"})
    assert re.fullmatch(r'"[^"\s]+"', zipped.headers["ETag"])
    assert zipped.headers["ETag"] != plain.headers["ETag"]
    # the gzipped bytes are stable too: the same request gives the same body and ETag
    assert http.get("/feeds/all.rss", headers={"Accept-Encoding": "gzip"}).data == zipped.data

    again = http.get("/feeds/all.rss", headers={"If-None-Match": plain.headers["ETag"]})
    assert again.status_code == 304 and again.headers["ETag"] == plain.headers["ETag"]
    again = http.get(
        "/feeds/all.rss", headers={"If-None-Match": zipped.headers["ETag"], "Accept-Encoding": "gzip"}
    )
    assert again.status_code == 304 and again.headers["ETag"] == zipped.headers["ETag"]
    assert "Content-Encoding" not in again.headers

    # a validator of one representation does not revalidate the other
    crossed = http.get(
        "/feeds/all.rss", headers={"If-None-Match": plain.headers["ETag"], "Accept-Encoding": "gzip"}
    )
    assert crossed.status_code == 200 and crossed.headers["ETag"] == zipped.headers["ETag"]
    crossed = http.get("/feeds/all.rss", headers={"If-None-Match": zipped.headers["ETag"]})
    assert crossed.status_code == 200 and crossed.data == plain.data


# --- Link, CORS, methods, nosniff --------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_link_header_names_self_and_the_other_formats(http: FlaskClient, fmt: str) -> None:
    links = link_header(http.get(f"/feeds/hot/ai.{fmt}").headers["Link"])
    by_rel = {(params["rel"], target): params["type"] for target, params in links}
    assert by_rel == {
        ("self" if other == fmt else "alternate", f"{BASE}feeds/hot/ai.{other}"): MEDIA_TYPES[other]
        for other in FORMATS
    }
    links = link_header(http.get(f"/feeds/ai.{fmt}?limit=2").headers["Link"])
    assert all(target.endswith(".json?limit=2") or "?limit=2" in target for target, _ in links)
    for target, _ in links:  # every link leads to a feed
        assert http.get(target.removeprefix(BASE.rstrip("/"))).status_code == 200


def test_cors_is_open_on_feeds(http: FlaskClient) -> None:
    for path in ("/feeds/all.rss", "/feeds/top/space.json", "/opml.xml"):
        assert http.get(path).headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize("method", METHODS_NOT_ALLOWED)
@pytest.mark.parametrize("path", ["/", "/opml.xml", "/feeds/all.rss", "/feeds/hot/ai.json"])
def test_methods_other_than_get_and_head_are_405(http: FlaskClient, path: str, method: str) -> None:
    response = http.open(path, method=method)
    assert response.status_code == 405
    assert {m.strip() for m in response.headers["Allow"].split(",")} == {"GET", "HEAD"}
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_nosniff_on_every_response(http: FlaskClient) -> None:
    etag = http.get("/feeds/all.rss").headers["ETag"]
    responses = [
        http.get("/"),
        http.get("/opml.xml"),
        http.get("/feeds/all.rss"),
        http.get("/feeds/all.rss", headers={"If-None-Match": etag}),
        http.get("/feeds/all.rss?limit=x"),
        http.get("/feeds/nowhere.rss"),
        http.get("/nowhere"),
        http.post("/"),
        http.head("/feeds/all.json"),
    ]
    assert {r.status_code for r in responses} == {200, 304, 400, 404, 405}
    for response in responses:
        assert response.headers["X-Content-Type-Options"] == "nosniff", response.status


# --- rendering once -------------------------------------------------------------------------


def test_a_document_is_rendered_once_per_corpus_version(
    http: FlaskClient, web: Flask, renders: list[str], corpus: Path
) -> None:
    first = http.get("/feeds/all.rss")
    assert renders == ["feed"]
    etag = first.headers["ETag"]
    assert http.get("/feeds/all.rss").data == first.data
    assert http.get("/feeds/all.rss", headers={"If-None-Match": etag}).status_code == 304
    assert (
        http.get("/feeds/all.rss", headers={"If-Modified-Since": first.headers["Last-Modified"]}).status_code
        == 304
    )
    assert http.head("/feeds/all.rss").status_code == 200
    assert http.get("/feeds/all.rss", headers={"Accept-Encoding": "gzip"}).status_code == 200
    assert renders == ["feed"]

    http.get("/feeds/all.json")
    http.get("/feeds/all.rss?limit=2")
    http.get("/")
    http.get("/")
    http.get("/opml.xml")
    http.get("/opml.xml", headers={"If-None-Match": http.get("/opml.xml").headers["ETag"]})
    assert sorted(renders) == ["feed", "feed", "feed", "index", "opml"]
    http.get("/feeds/nowhere.rss")
    http.get("/feeds/all.rss?limit=x")
    assert len(renders) == 5

    (corpus / "100.txt").write_text(story(100, topics=["AI"], when=NOW - timedelta(days=1)), encoding="utf-8")
    assert web.extensions["feeds"].refresh()
    changed = http.get("/feeds/all.rss", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert feed_urls("rss", changed.data)[0] == url_of(100)
    assert renders[5:] == ["feed"]
    assert http.get("/feeds/all.rss", headers={"If-None-Match": changed.headers["ETag"]}).status_code == 304
    assert len(renders) == 6


def test_a_rescan_that_finds_nothing_new_keeps_what_was_rendered(
    http: FlaskClient, web: Flask, renders: list[str]
) -> None:
    http.get("/feeds/all.rss")
    assert web.extensions["feeds"].refresh() is False
    http.get("/feeds/all.rss")
    assert renders == ["feed"]


# --- wsgi.py -----------------------------------------------------------------------------------


def test_wsgi_module_serves_the_corpus_from_environment_and_pyproject(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[tool.feeds]\nsite_title = "Wire"\nbase_url = "https://wire.example/news/"\n', encoding="utf-8"
    )
    monkeypatch.chdir(project)
    monkeypatch.setenv("FEEDS_CORPUS", str(corpus))
    monkeypatch.setenv("FEEDS_CACHE_MAX_AGE", "60")
    app = runpy.run_path(str(ROOT / "wsgi.py"))["app"]
    try:
        client = app.test_client()
        index = client.get("/")
        assert index.status_code == 200
        assert html.fromstring(index.data).findtext(".//title") == "Wire"
        response = client.get("/feeds/ai.json")
        assert response.headers["Cache-Control"] == "public, max-age=60"
        document = json.loads(response.data)
        assert document["feed_url"] == "https://wire.example/news/feeds/ai.json"
        urls = [item["url"] for item in document["items"]]  # by the real clock: the scheduled one may be due
        assert [url for url in urls if url != url_of(SCHEDULED)] == expected("AI")
    finally:
        app.extensions["feeds"].close()


def test_create_app_refuses_a_missing_corpus(tmp_path: Path) -> None:
    from feeds.errors import FeedsError

    with pytest.raises(FeedsError, match="corpus folder not found"):
        create_app(replace(Settings(), corpus=tmp_path / "missing"), watch=False)


@pytest.mark.parametrize(
    ("headers", "page"),
    [
        ({"Sec-Fetch-Dest": "document"}, True),
        ({"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}, True),
        ({"Sec-Fetch-Dest": "empty", "Accept": "text/html"}, False),
        ({"Accept": "application/rss+xml, application/atom+xml;q=0.9, */*;q=0.1"}, False),
        ({"Accept": "*/*"}, False),
        ({}, False),
    ],
)
@pytest.mark.parametrize("path", ["/feeds/nothing.rss", "/nowhere", "/feeds/all.rss/x"])
def test_a_missing_address_is_a_page_for_a_browser_and_a_line_for_a_reader(
    client: Any, headers: dict[str, str], page: bool, path: str
) -> None:
    response = client.get(path, headers=headers)
    assert response.status_code == 404
    if page:
        assert response.content_type == "text/html; charset=utf-8"
        assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
        document = html.fromstring(response.data)
        assert document.xpath("//main//a/@href") == ["/"]
        assert path in document.xpath("string(//code)")
    else:
        assert response.content_type == "text/plain; charset=utf-8"
        assert response.data.endswith(b"The list of feeds is at /.\n")


def test_the_404_page_escapes_the_address(client: Any) -> None:
    response = client.get("/<script>alert(1)</script>", headers={"Sec-Fetch-Dest": "document"})
    assert b"<script>" not in response.data and b"&lt;script&gt;" in response.data
