"""Each feed's HTML page, through the Flask app: what it shows, in the feed's order and
selection, how it links, its Content-Security-Policy, and that the feeds point at it.

What a browser makes of the pages (console, axe-core, the policy at work) is in
``test_browser.py``; the browser's navigation to a feed URL in ``test_negotiation.py``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import html

from feeds.builders import FEED_FORMATS
from feeds.config import Settings
from feeds.export import export_site
from feeds.pages import HEADER_POLICY, POLICY, shown_time
from feeds.web import create_app
from tests.conftest import NOW, CorpusWriter, item_text, minimal_item
from tests.test_export import assert_same_as_server
from tests.test_feed_validity import page_link
from tests.test_web import MEDIA_TYPES

BASE = "http://feeds.test/"
SEC_FETCH_DOCUMENT = {"Sec-Fetch-Dest": "document"}

FULL = minimal_item(1) | {
    "title": "Full story <b>& more</b>",
    "excerpt": "Its excerpt, with <i>markup</i> as text.",
    "publishedDateTime": "2024-03-05T09:30:00+02:00",  # shown in UTC: 07:30
    "originalUrl": "https://news.example/full",
    "heat": 75,
    "provider": {
        "name": "Wire Service",
        "domain": "wire.example",
        "images": [{"url": "https://wire.example/logo.png", "width": 32, "height": 32}],
    },
    "topics": ["AI", "Space"],
    "images": [
        {"url": "https://img.example/first.jpg", "width": 800, "height": 450},
        {"url": "https://img.example/second.jpg", "width": 10, "height": 10},
    ],
    "related": [
        {"title": "Related one", "webUrl": "https://other.example/1", "provider": {"name": "Other Paper"}},
        {"title": "Related two", "webUrl": "https://other.example/2"},
    ],
}
"""An item with every field a page shows."""
BARE = minimal_item(2) | {
    "title": "Bare story",
    "excerpt": None,
    "publishedDateTime": "2024-03-04T23:59:59Z",
    "webUrl": "https://news.example/bare",
    "heat": -1,
    "topics": ["ai"],  # another spelling of AI
}
"""An item with nothing but what a page needs: no excerpt, provider, image or heat."""
SPACE = minimal_item(3) | {"topics": ["Space"], "heat": 55, "webUrl": "https://news.example/space"}


@pytest.fixture
def site(write_corpus: CorpusWriter) -> Settings:
    corpus = write_corpus(
        {"full.txt": item_text(FULL), "bare.txt": item_text(BARE), "space.txt": item_text(SPACE)}
    )
    return Settings(corpus=corpus, base_url=BASE)


@pytest.fixture
def app(site: Settings) -> Iterator[Flask]:
    application = create_app(site, clock=lambda: NOW, watch=False)
    yield application
    application.extensions["feeds"].close()


@pytest.fixture
def http(app: Flask) -> FlaskClient:
    return app.test_client()


def page_of(http: FlaskClient, path: str) -> Any:
    response = http.get(path)
    assert response.status_code == 200, path
    assert response.content_type == "text/html; charset=utf-8"
    return html.fromstring(response.data)


def page_paths(http: FlaskClient) -> list[str]:
    index = html.fromstring(http.get("/").data)
    return ["/" + href for href in index.xpath("//tbody/tr/td[1]/a/@href")]


def items_of(page: Any) -> list[Any]:
    return list(page.xpath("//ol[@class='items']/li/article"))


def test_every_feed_of_the_catalogue_has_a_page_beside_its_formats(app: Flask, http: FlaskClient) -> None:
    publication = app.extensions["feeds"].version.publication
    paths = set(publication.paths())
    for spec in publication.catalogue:
        for fmt in FEED_FORMATS:
            assert spec.path(fmt).removesuffix(f".{fmt.value}") + ".html" in paths
    assert sorted(page_paths(http)) == sorted(path for path in paths if path.endswith(".html"))
    assert {"/feeds/all.html", "/feeds/ai.html", "/feeds/space.html", "/feeds/hot/ai.html"} <= paths


def test_a_page_holds_its_feeds_items_in_order_with_any_parameters(http: FlaskClient) -> None:
    queries = ["", "?order=hot", "?limit=1", "?min_heat=60", "?min_quality=100", "?order=hot&limit=2"]
    for path in page_paths(http):
        for query in queries:
            document = json.loads(http.get(path.removesuffix(".html") + ".json" + query).data)
            page = page_of(http, path + query)
            links = [(a.get("href"), a.text_content()) for a in page.xpath("//article/h3/a")]
            assert links == [(item["url"], item["title"]) for item in document["items"]], path + query
            # The same channel as the feed's.
            assert page.findtext(".//h1") == page.findtext(".//title") == document["title"]
            assert page.xpath("//header/p/text()") == [document["description"]]


def test_a_page_shows_every_part_of_an_item(http: FlaskClient) -> None:
    page = page_of(http, "/feeds/ai.html")
    full, bare = items_of(page)

    (title,) = full.xpath("h3/a")
    assert (title.get("href"), title.text_content()) == ("https://news.example/full", FULL["title"])
    (meta,) = full.xpath("p[@class='meta']")
    assert meta.text_content() == "Wire Service · 5 Mar 2024, 07:30 UTC · heat 75"
    (logo,) = meta.xpath("img")
    assert logo.attrib == {
        "class": "logo", "src": "https://wire.example/logo.png", "width": "32", "height": "32",
        "loading": "lazy", "alt": "",  # beside the provider's name, which says it all
    }  # fmt: skip
    (time,) = meta.xpath("time")
    assert time.get("datetime") == "2024-03-05T07:30:00Z"
    (picture,) = full.xpath("img[@class='picture']")  # the first image only
    assert picture.attrib == {
        "class": "picture", "src": "https://img.example/first.jpg", "width": "800", "height": "450",
        "loading": "lazy", "alt": FULL["title"],
    }  # fmt: skip
    assert full.findtext("p[@class='excerpt']") == FULL["excerpt"]
    topics = full.xpath("p[@class='topics']/a")
    assert [(a.text_content(), a.get("href")) for a in topics] == [("AI", "ai.html"), ("Space", "space.html")]
    related = full.xpath("div[@class='related']/ul/li")
    assert [(li.find("a").get("href"), li.text_content()) for li in related] == [
        ("https://other.example/1", "Related one (Other Paper)"),
        ("https://other.example/2", "Related two"),
    ]

    # Nothing is shown that the item does not have.
    assert bare.xpath("p[@class='meta']")[0].text_content() == "4 Mar 2024, 23:59 UTC"
    assert bare.xpath(".//img | p[@class='excerpt'] | div[@class='related']") == []
    assert [(a.text_content(), a.get("href")) for a in bare.xpath("p[@class='topics']/a")] == [
        ("ai", "ai.html")
    ]


def test_topic_links_lead_to_the_pages_of_those_topics(http: FlaskClient) -> None:
    for path in page_paths(http):
        page = page_of(http, path)
        for link in page.xpath("//p[@class='topics']/a"):
            target = urlsplit(urljoin(BASE + path.lstrip("/"), link.get("href"))).path
            assert re.fullmatch(r"/feeds/[a-z0-9-]+\.html", target), target  # the topic's own page
            assert page_of(http, target).findtext(".//h1").lower() == f"feeds: {link.text_content()}".lower()
        (home,) = page.xpath("//nav/a/@href")
        assert urljoin(BASE + path.lstrip("/"), home) == BASE  # the index page


def test_a_page_says_how_to_subscribe_and_every_address_is_its_feeds(http: FlaskClient) -> None:
    for path in ("/feeds/all.html", "/feeds/hot/ai.html", "/feeds/ai.html?order=hot&limit=1"):
        page = page_of(http, path)
        address = BASE + path.lstrip("/")
        stem, _, query = address.partition(".html")
        expected = [(f"{stem}.{fmt}{query}", MEDIA_TYPES[fmt]) for fmt in MEDIA_TYPES]
        note = page.xpath("//h2[@id='subscribe']/following-sibling::p[1]")[0].text_content()
        assert "feed reader" in note and "Copy" in note
        rows = page.xpath("//ul[@class='subscribe']/li")
        assert [row.findtext("code") for row in rows] == [url for url, _ in expected]
        assert [row.find("a").text_content() for row in rows] == ["RSS", "Atom", "JSON Feed"]
        links = [(urljoin(address, row.find("a").get("href")), row.find("a").get("type")) for row in rows]
        assert links == expected
        alternates = page.xpath("//head/link[@rel='alternate']")
        assert [(urljoin(address, link.get("href")), link.get("type")) for link in alternates] == expected
        title = page.findtext(".//h1")
        assert [link.get("title") for link in alternates] == [
            f"{title} (RSS)",
            f"{title} (Atom)",
            f"{title} (JSON Feed)",
        ]
        for url, media_type in expected:
            response = http.get(url.removeprefix(BASE.rstrip("/")))
            assert response.status_code == 200 and response.mimetype == media_type, url


def test_a_page_says_what_it_holds_and_when_it_holds_nothing(http: FlaskClient) -> None:
    assert page_of(http, "/feeds/ai.html").findtext(".//p[@class='note'][2]") == "2 stories, newest first."
    hot = page_of(http, "/feeds/hot/all.html")
    assert hot.findtext(".//p[@class='note'][2]") == "2 stories, newest first; heat 50 or more."
    single = page_of(http, "/feeds/all.html?order=hot&limit=1&min_quality=1")
    assert single.findtext(".//p[@class='note'][2]") == "1 story, hottest first; quality 1 or more."
    empty = page_of(http, "/feeds/all.html?min_quality=100")
    assert empty.findtext(".//p[@class='note'][2]") == "No stories yet; quality 100 or more."
    assert empty.xpath("//ol") == []


def test_feeds_point_at_their_page_which_is_served(app: Flask, http: FlaskClient) -> None:
    publication = app.extensions["feeds"].version.publication
    for spec in publication.catalogue:
        for fmt in FEED_FORMATS:
            for query in ("", "?limit=1"):
                body = http.get(spec.path(fmt) + query).data
                link = page_link(fmt, body)
                assert link == BASE + spec.path(fmt).lstrip("/").rpartition(".")[0] + ".html" + query
                assert page_of(http, link.removeprefix(BASE.rstrip("/"))).findtext(
                    ".//h1"
                ) == publication.title(spec)


def test_pages_and_the_index_carry_the_policy_that_allows_their_stylesheet_only(http: FlaskClient) -> None:
    for path in ["/", *page_paths(http)]:
        response = http.get(path)
        assert response.headers["Content-Security-Policy"] == HEADER_POLICY, path
        page = html.fromstring(response.data)
        (meta,) = page.xpath("//head/meta[@http-equiv='Content-Security-Policy']")
        assert meta.get("content") == POLICY
        assert page.xpath("//head/*[1]/@charset") == ["utf-8"]  # the policy comes before anything it governs
        assert page.xpath("//head/*[2]") == [meta]
        (style,) = page.xpath("//style")
        digest = base64.b64encode(hashlib.sha256(style.text.encode()).digest()).decode()
        assert f"style-src 'sha256-{digest}';" in POLICY
        assert "script" not in POLICY.replace("default-src 'none'", "")  # no script at all
        assert page.xpath("//script | //*[@style]") == []
        assert page.xpath("//head/link[@rel='icon']/@href") == ["data:,"]
    for path in ("/opml.xml", "/feeds/all.rss", "/feeds/ai.json"):
        assert "Content-Security-Policy" not in http.get(path).headers


def test_the_policy_denies_everything_the_pages_do_not_use() -> None:
    directives = dict(part.strip().split(" ", 1) for part in HEADER_POLICY.split(";"))
    assert directives == {
        "default-src": "'none'",
        "img-src": "http: https: data:",
        "style-src": directives["style-src"],
        "base-uri": "'none'",
        "form-action": "'none'",
        "frame-ancestors": "'none'",
    }
    assert re.fullmatch(r"'sha256-[A-Za-z0-9+/]{43}='", directives["style-src"])
    assert "frame-ancestors" not in POLICY  # a <meta> policy may not carry it


def test_the_site_icon_replaces_the_empty_one(write_corpus: CorpusWriter) -> None:
    settings = Settings(
        corpus=write_corpus({"a.txt": item_text(FULL)}), base_url=BASE, icon="https://cdn.example/icon.png"
    )
    client = create_app(settings, clock=lambda: NOW, watch=False).test_client()
    for path in ("/", "/feeds/ai.html"):
        assert html.fromstring(client.get(path).data).xpath("//link[@rel='icon']/@href") == [
            "https://cdn.example/icon.png"
        ]


def test_times_are_shown_in_utc_whatever_their_offset() -> None:
    assert shown_time(datetime(2024, 12, 31, 23, 5, 59, tzinfo=UTC)) == "31 Dec 2024, 23:05 UTC"
    assert shown_time(datetime.fromisoformat("2025-01-01T01:05:00+02:00")) == "31 Dec 2024, 23:05 UTC"


def test_a_page_is_rendered_once_for_its_url_and_every_feed_url_a_browser_opens(
    http: FlaskClient, renders: list[str]
) -> None:
    page = http.get("/feeds/ai.html")
    for fmt in MEDIA_TYPES:
        for query in ("", "?unknown=1"):  # through the fast path and through Flask
            shown = http.get(f"/feeds/ai.{fmt}{query}", headers=SEC_FETCH_DOCUMENT)
            assert shown.data == page.data and shown.headers["ETag"] == page.headers["ETag"]
    assert renders == ["page"]
    http.get("/feeds/ai.rss")
    http.get("/feeds/ai.rss", headers=SEC_FETCH_DOCUMENT)
    assert renders == ["page", "feed"]


@pytest.mark.parametrize("value", ["document", "Document", " document ", "DOCUMENT"])
def test_sec_fetch_dest_document_is_matched_as_a_token(http: FlaskClient, value: str) -> None:
    response = http.get("/feeds/all.atom", headers={"Sec-Fetch-Dest": value})
    assert response.content_type == "text/html; charset=utf-8"


@pytest.mark.parametrize("value", ["empty", "iframe", "documents", "", "image", "document, empty"])
def test_other_destinations_get_the_feed(http: FlaskClient, value: str) -> None:
    response = http.get("/feeds/all.atom", headers={"Sec-Fetch-Dest": value})
    assert response.content_type == "application/atom+xml; charset=utf-8"


def test_navigation_elsewhere_is_answered_as_always(http: FlaskClient) -> None:
    for path in ("/", "/opml.xml", "/feeds/ai.html"):
        plain, navigated = http.get(path), http.get(path, headers=SEC_FETCH_DOCUMENT)
        assert (
            navigated.data == plain.data
            and navigated.headers["Vary"] == plain.headers["Vary"] == "Accept-Encoding"
        )
    missing = http.get("/feeds/nowhere.rss", headers=SEC_FETCH_DOCUMENT)  # a page for a person
    assert missing.status_code == 404 and missing.content_type == "text/html; charset=utf-8"
    assert http.get("/feeds/nowhere.rss").content_type == "text/plain; charset=utf-8"
    bad = http.get("/feeds/all.rss?limit=x", headers=SEC_FETCH_DOCUMENT)
    assert bad.status_code == 400 and bad.content_type == "text/plain; charset=utf-8"


# -- export ------------------------------------------------------------------------------


def test_the_export_writes_every_page_with_the_servers_bytes(site: Settings, tmp_path: Path) -> None:
    out = tmp_path / "out"
    export_site(site, out, now=NOW, gzip_too=True)
    paths = assert_same_as_server(out, site, gz=True)
    assert {path for path in paths if path.endswith(".html")} == {
        f"/feeds/{stem}.html" for stem in ("all", "ai", "space", "hot/all", "hot/ai", "hot/space")
    }


def test_a_page_is_written_again_when_a_topic_it_links_to_changes_its_address(
    write_corpus: CorpusWriter, tmp_path: Path
) -> None:
    """``C++`` has the slug ``c`` until ``C#``, first in sort order, comes to take it: then
    the page of Plain, whose items do not change, links C++ to its new page."""
    older = minimal_item(1) | {"topics": ["Plain", "C++"]}
    corpus = write_corpus({"a.txt": item_text(older)})
    settings = Settings(corpus=corpus, base_url=BASE)
    out = tmp_path / "out"
    export_site(settings, out, now=NOW)
    assert b'href="c.html"' in (out / "feeds/plain.html").read_bytes()

    write_corpus({"b.txt": item_text(minimal_item(2) | {"topics": ["C#"]})}, root=corpus)
    report = export_site(settings, out, now=NOW)
    assert "feeds/plain.html" in report.written
    assert "feeds/plain.rss" in report.unchanged  # the feed holds the same items, no slugs
    plain = html.fromstring((out / "feeds/plain.html").read_bytes())
    (link,) = plain.xpath("//p[@class='topics']/a[.='C++']/@href")
    assert link.startswith("c-") and (out / "feeds" / link).is_file()
    assert_same_as_server(out, settings)
