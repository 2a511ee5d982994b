"""WebSub discovery (§4): every feed names each hub and its own topic, in the document (RSS
``<atom:link rel="hub">``, Atom ``<link rel="hub">``, JSON Feed ``hubs``) and in its
``Link`` header, byte for byte the same; the documents stay valid, and a site with no
hub writes the documents it wrote before."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import feedparser
import pytest
from flask.testing import FlaskClient
from lxml import etree

from feeds.builders import FEED_FORMATS, Format
from feeds.config import Settings
from feeds.corpus import load_corpus
from feeds.publication import Params, Publication
from feeds.web import create_app
from tests.conftest import NOW, SEEDS
from tests.test_feed_validity import ATOM, NS, check_document, check_publication
from tests.test_web import link_header

BASE = "http://feeds.test/"
HUBS = ("https://hub.example/", "https://other.example/publish?key=a&b=c")
ANNOUNCED = (*HUBS, f"{BASE}websub")
"""The hubs a feed names: ``hubs`` in order, then the built-in one."""


def hub_settings() -> Settings:
    return Settings(corpus=SEEDS, base_url=BASE, hubs=HUBS, hub=True)


def publication(settings: Settings) -> Publication:
    return Publication(load_corpus(settings.corpus).items, settings, NOW)


def document_links(fmt: Format, body: bytes) -> tuple[str, list[str]]:
    """The self link and the hubs a document names, as a subscriber reads them."""
    if fmt is Format.JSON:
        feed = json.loads(body)
        assert all(hub["type"] == "WebSub" for hub in feed.get("hubs", []))
        return feed["feed_url"], [hub["url"] for hub in feed.get("hubs", [])]
    if fmt is Format.RSS:
        channel = etree.fromstring(body).find("channel")
        links = channel.findall("atom:link", NS)
    else:
        links = etree.fromstring(body).findall(f"{{{ATOM}}}link")
    (self_link,) = [link.get("href") for link in links if link.get("rel") == "self"]
    return self_link, [link.get("href") for link in links if link.get("rel") == "hub"]


@pytest.mark.parametrize("fmt", FEED_FORMATS)
def test_every_feed_names_every_hub_and_stays_valid(fmt: Format) -> None:
    pub = publication(hub_settings())
    assert check_publication(pub) == 3 * len(list(pub.catalogue))  # RELAX NG, RSS Profile, JSON schema
    for spec in pub.catalogue:
        url = pub.url(spec.path(fmt))
        body = pub.feed(spec, fmt).body
        assert document_links(fmt, body) == (url, list(ANNOUNCED))
        if fmt is not Format.JSON:  # what a reader makes of it
            parsed = feedparser.parse(body)
            assert [link.href for link in parsed.feed.links if link.rel == "hub"] == list(ANNOUNCED)


def test_rss_names_the_hubs_beside_its_self_link() -> None:
    body = publication(hub_settings()).render("/feeds/all.rss")
    assert body is not None
    channel = etree.fromstring(body.body).find("channel")
    rels = [link.get("rel") for link in channel.findall("atom:link", NS)]
    assert rels[: 1 + len(ANNOUNCED)] == ["self", *["hub"] * len(ANNOUNCED)]
    assert b'href="https://other.example/publish?key=a&#x26;b=c" rel="hub"' in body.body


@pytest.mark.parametrize("fmt", FEED_FORMATS)
def test_hubs_are_the_only_difference(fmt: Format) -> None:
    """Documents with hubs are the ones without, plus the hub links and nothing else."""
    plain = publication(Settings(corpus=SEEDS, base_url=BASE))
    with_hubs = publication(hub_settings())
    for path in plain.catalogue.feed_paths():
        if not path.endswith(fmt.value):
            continue
        before, after = plain.render(path), with_hubs.render(path)
        assert before is not None and after is not None
        if fmt is Format.JSON:
            document = json.loads(after.body)
            assert document.pop("hubs") == [{"type": "WebSub", "url": hub} for hub in ANNOUNCED]
            assert document == json.loads(before.body)
            assert list(document) == list(json.loads(before.body))
        else:
            lines = [line for line in after.body.split(b"\n") if b'rel="hub"' not in line]
            assert b"\n".join(lines) == before.body
            assert after.body.count(b'rel="hub"') == len(ANNOUNCED)


def test_no_hub_no_hub_links() -> None:
    pub = publication(Settings(corpus=SEEDS, base_url=BASE))
    for path in pub.catalogue.feed_paths():
        document = pub.render(path)
        assert document is not None and b"hub" not in document.body.replace(b"github", b"")


def test_a_feed_asked_for_with_a_query_names_no_hub() -> None:
    """Hubs are told of the feeds as published; a query's selection is no topic."""
    pub = publication(hub_settings())
    for fmt in FEED_FORMATS:
        spec = next(iter(pub.catalogue))
        document = pub.feed(spec, fmt, Params(limit=1))
        url = pub.url(spec.path(fmt)) + "?limit=1"
        check_document(fmt, document.body, url, pub.items(spec, Params(limit=1)))
        assert document_links(fmt, document.body) == (url, [])


def test_the_built_in_hub_is_announced_under_the_base_url() -> None:
    pub = publication(Settings(corpus=SEEDS, base_url="https://news.example/site/", hub=True))
    document = pub.render("/feeds/all.json")
    assert document is not None
    assert document_links(Format.JSON, document.body)[1] == ["https://news.example/site/websub"]


# -- HTTP ------------------------------------------------------------------------------------


@pytest.fixture
def http(tmp_path: Path) -> FlaskClient:
    settings = replace(hub_settings(), hub_store=str(tmp_path / "hub.sqlite3"))
    return create_app(settings, clock=lambda: NOW, watch=False).test_client()


def header_links(value: str) -> tuple[str, list[str]]:
    links = link_header(value)
    (self_link,) = [target for target, params in links if params["rel"] == "self"]
    return self_link, [target for target, params in links if params["rel"] == "hub"]


@pytest.mark.parametrize("fmt", FEED_FORMATS)
def test_link_header_names_the_hubs_and_the_topic_of_the_document(http: FlaskClient, fmt: Format) -> None:
    path = f"/feeds/ai.{fmt.value}"
    first = http.get(path)  # rendered by the app
    again = http.get(path)  # answered from the cache, without Flask
    head = http.head(path)
    revalidated = http.get(path, headers={"If-None-Match": first.headers["ETag"]})
    statuses = [response.status_code for response in (first, again, head, revalidated)]
    assert statuses == [200, 200, 200, 304]
    for response in (again, head, revalidated):
        assert response.headers["Link"] == first.headers["Link"]
    topic, hubs = header_links(first.headers["Link"])
    assert (topic, hubs) == (f"{BASE}feeds/ai.{fmt.value}", list(ANNOUNCED))
    assert document_links(fmt, first.data) == (topic, hubs)  # byte for byte the same
    with_query = http.get(f"{path}?limit=1")
    assert header_links(with_query.headers["Link"]) == (f"{BASE}feeds/ai.{fmt.value}?limit=1", [])


def test_no_hub_no_hub_in_the_link_header() -> None:
    client = create_app(Settings(corpus=SEEDS, base_url=BASE), clock=lambda: NOW, watch=False).test_client()
    assert 'rel="hub"' not in client.get("/feeds/all.atom").headers["Link"]


def test_under_another_wsgi_server_the_built_in_hub_is_off(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Its work runs in the watcher process of ``feeds serve``: elsewhere no feed names it."""
    import runpy

    from tests.conftest import ROOT

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FEEDS_CORPUS", str(SEEDS))
    monkeypatch.setenv("FEEDS_BASE_URL", BASE)
    monkeypatch.setenv("FEEDS_HUB", "1")
    monkeypatch.setenv("FEEDS_HUBS", HUBS[0])
    app = runpy.run_path(str(ROOT / "wsgi.py"))["app"]
    try:
        client = app.test_client()
        assert client.post("/websub", data="hub.mode=subscribe").status_code == 404
        assert document_links(Format.JSON, client.get("/feeds/all.json").data)[1] == [HUBS[0]]
        assert "the built-in WebSub hub runs only under `feeds serve`" in caplog.text
        assert "only `feeds serve` pings them" in caplog.text
    finally:
        app.extensions["feeds"].close()
