"""The three builders: what each field of an item becomes in each format, the text and HTML
they write, their dates, their determinism, and the golden files of the seeds."""

from __future__ import annotations

import html
import json
import locale
import os
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import feedparser
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from feeds.builders import FEED_FORMATS, Format, build
from feeds.builders.html import render_body
from feeds.builders.jsonfeed import dump
from feeds.builders.uri import as_uri, host_url
from feeds.builders.xml import GENERATOR, character_references, rfc822
from feeds.corpus import item_id, parse_item
from feeds.model import UNSCORED, Channel, Image, Item, Link, Provider, Related
from tests.conftest import NOW, ROOT, CorpusWriter, item_text, minimal_item
from tests.rebuild_goldens import COMMAND, GOLDEN, documents, on_disk
from tests.test_feed_validity import (
    ATOM,
    BASE_URL,
    NS,
    assert_safe_html,
    check_document,
    publication,
)

A = f"{{{ATOM}}}"
WHEN = datetime(2024, 3, 9, 8, 7, 6, tzinfo=UTC)


def channel_for(fmt: Format, *, icon: str | None = None, logo: str | None = None) -> Channel:
    url = f"{BASE_URL}feeds/test.{fmt.value}"
    return Channel(
        id=url,
        title="Test feed",
        description="Stories for tests.",
        home_url=BASE_URL,
        self_link=Link(url, fmt.media_type),
        updated=WHEN,
        language="pt-BR",
        alternates=tuple(
            Link(f"{BASE_URL}feeds/test.{other.value}", other.media_type)
            for other in FEED_FORMATS
            if other is not fmt
        ),
        icon=icon,
        logo=logo,
    )


def make_item(n: int = 1, **changes: Any) -> Item:
    url = f"https://news.example/story/{n}"
    fields: dict[str, Any] = {
        "id": item_id(url),
        "source": f"{n}.txt",
        "title": f"Story {n}",
        "url": url,
        "published_at": WHEN - timedelta(hours=n),
        "published": True,
    }
    return Item(**(fields | changes))


PROVIDER = Provider(
    name="News & Views",
    domain="news.example",
    images=(Image("https://news.example/logo.png", 64, 64), Image("https://news.example/logo2.png")),
)
RELATED = Related(
    id=item_id("https://other.example/r?a=1&b=2"),
    title="Related <story> & more",
    url="https://other.example/r?a=1&b=2",
    excerpt="What the related story says.",
    published_at=WHEN - timedelta(days=2),
    type="article",
    provider=Provider("Other", "other.example", (Image("https://other.example/logo.gif"),)),
    quality=61,
    images=(Image("https://other.example/r.png", 100, 50),),
)
RICH = make_item(
    excerpt='The excerpt: 1 < 2 & "quotes" ]]> 😀',
    category="news",
    type="article",
    web_url="https://news.example/story/1",
    amp_url="https://news.example/story/1/amp",
    cdn_amp_url="https://news-example.cdn.ampproject.org/c/s/news.example/story/1/amp",
    heat=77,
    quality=66,
    provider=PROVIDER,
    topics=("AI", "Ethics & Law"),
    images=(Image("https://news.example/a.jpg", 800, 450), Image("https://news.example/b", 0, 0)),
    related=(RELATED,),
    body="A *body* with [a link](https://x.example/).",
)


def rss_item(body: bytes) -> Any:
    return etree.fromstring(body).find("channel/item")


def atom_entry(body: bytes) -> Any:
    return etree.fromstring(body).find(f"{A}entry")


def json_item(body: bytes) -> dict[str, Any]:
    item: dict[str, Any] = json.loads(body)["items"][0]
    return item


# -- mapping -------------------------------------------------------------------------------


def test_rss_mapping() -> None:
    body = build(Format.RSS, channel_for(Format.RSS), [RICH])
    check_document(Format.RSS, body, f"{BASE_URL}feeds/test.rss", [RICH])
    item = rss_item(body)
    guid = item.find("guid")
    assert (guid.text, guid.get("isPermaLink")) == (RICH.id, "false")
    assert item.findtext("title") == RICH.title
    assert item.findtext("link") == RICH.url
    assert item.findtext("description") == html.escape(RICH.excerpt, quote=False)
    encoded = item.findtext("content:encoded", namespaces=NS)
    assert encoded.startswith(render_body(RICH.body or ""))
    assert f'<a href="{html.escape(RELATED.url)}">{html.escape(RELATED.title)}</a> (Other)' in encoded
    assert item.findtext("pubDate") == "Sat, 09 Mar 2024 07:07:06 +0000"
    assert [c.text for c in item.findall("category")] == list(RICH.topics)
    assert item.findtext("dc:creator", namespaces=NS) == PROVIDER.name
    media = [dict(m.attrib) for m in item.findall("media:content", NS)]
    assert media == [
        {
            "url": "https://news.example/a.jpg",
            "type": "image/jpeg",
            "medium": "image",
            "height": "450",
            "width": "800",
        },
        {"url": "https://news.example/b", "medium": "image"},
    ]
    assert item.find("enclosure") is None and item.find("author") is None


def test_atom_mapping() -> None:
    body = build(Format.ATOM, channel_for(Format.ATOM), [RICH])
    check_document(Format.ATOM, body, f"{BASE_URL}feeds/test.atom", [RICH])
    entry = atom_entry(body)
    assert entry.findtext(f"{A}id") == RICH.id
    assert entry.findtext(f"{A}title") == RICH.title
    assert entry.find(f"{A}summary").get("type") == "text"
    assert entry.findtext(f"{A}summary") == RICH.excerpt
    content = entry.find(f"{A}content")
    assert (content.get("type"), content.text) == ("html", render_body(RICH.body or ""))
    assert entry.findtext(f"{A}published") == entry.findtext(f"{A}updated") == "2024-03-09T07:07:06+00:00"
    assert entry.findtext(f"{A}author/{A}name") == PROVIDER.name
    assert entry.findtext(f"{A}author/{A}uri") == "https://news.example/"
    assert [c.get("term") for c in entry.findall(f"{A}category")] == list(RICH.topics)
    links = [dict(link.attrib) for link in entry.findall(f"{A}link")]
    assert links == [
        {"href": RICH.url},
        {"href": RELATED.url, "rel": "related", "title": RELATED.title},
        {"href": "https://news.example/a.jpg", "rel": "enclosure", "type": "image/jpeg"},
        {"href": "https://news.example/b", "rel": "enclosure"},
    ]


def test_json_mapping() -> None:
    body = build(Format.JSON, channel_for(Format.JSON), [RICH])
    check_document(Format.JSON, body, f"{BASE_URL}feeds/test.json", [RICH])
    assert json_item(body) == {
        "id": RICH.id,
        "url": RICH.url,
        "title": RICH.title,
        "summary": RICH.excerpt,
        "content_html": render_body(RICH.body or ""),
        "image": "https://news.example/a.jpg",
        "date_published": "2024-03-09T07:07:06Z",
        "date_modified": "2024-03-09T07:07:06Z",
        "authors": [
            {"name": PROVIDER.name, "url": "https://news.example/", "avatar": "https://news.example/logo.png"}
        ],
        "tags": list(RICH.topics),
        "_feeds": {
            "heat": 77,
            "quality": 66,
            "category": "news",
            "type": "article",
            "images": [
                {"url": "https://news.example/a.jpg", "width": 800, "height": 450},
                {"url": "https://news.example/b"},
            ],
            "related": [
                {
                    "id": RELATED.id,
                    "url": RELATED.url,
                    "title": RELATED.title,
                    "summary": RELATED.excerpt,
                    "date_published": "2024-03-07T08:07:06Z",
                    "authors": [
                        {
                            "name": "Other",
                            "url": "https://other.example/",
                            "avatar": "https://other.example/logo.gif",
                        }
                    ],
                    "image": "https://other.example/r.png",
                    "quality": 61,
                    "type": "article",
                }
            ],
        },
    }


def test_a_bare_item_in_every_format() -> None:
    """No excerpt, body, provider, topics, images, related or scores: still valid, with the
    title as the text an Atom entry and a JSON item must have."""
    bare = make_item(heat=UNSCORED)
    for fmt in FEED_FORMATS:
        body = build(fmt, channel_for(fmt), [bare])
        check_document(fmt, body, f"{BASE_URL}feeds/test.{fmt.value}", [bare])
    rss = rss_item(build(Format.RSS, channel_for(Format.RSS), [bare]))
    assert [child.tag for child in rss] == ["title", "link", "guid", "pubDate"]
    atom = atom_entry(build(Format.ATOM, channel_for(Format.ATOM), [bare]))
    assert atom.findtext(f"{A}summary") == bare.title and atom.find(f"{A}content") is None
    assert atom.find(f"{A}author") is None  # the feed's author covers it
    assert json_item(build(Format.JSON, channel_for(Format.JSON), [bare])) == {
        "id": bare.id,
        "url": bare.url,
        "title": bare.title,
        "content_text": bare.title,
        "date_published": "2024-03-09T07:07:06Z",
        "date_modified": "2024-03-09T07:07:06Z",
    }


def test_rss_body_without_excerpt_is_the_description() -> None:
    """The RSS Profile wants no content:encoded without a description before it."""
    item = make_item(body="Only a body.")
    element = rss_item(build(Format.RSS, channel_for(Format.RSS), [item]))
    assert element.findtext("description") == render_body("Only a body.")
    assert element.find("content:encoded", NS) is None


@pytest.mark.parametrize("fmt", list(FEED_FORMATS))
def test_channel_mapping(fmt: Format) -> None:
    channel = channel_for(fmt, icon="https://feeds.test/icon.png", logo="https://feeds.test/logo.png")
    body = build(fmt, channel, [RICH])
    url = channel.self_link.href
    others = {link.media_type: link.href for link in channel.alternates}
    if fmt is Format.RSS:
        element = etree.fromstring(body).find("channel")
        assert element.findtext("title") == channel.title
        assert element.findtext("description") == channel.description
        assert element.findtext("link") == BASE_URL
        assert element.findtext("language") == "pt-BR"
        assert element.findtext("lastBuildDate") == rfc822(WHEN)
        atom_links = {
            link.get("rel") + " " + link.get("type"): link.get("href")
            for link in element.findall("atom:link", NS)
        }
        assert atom_links == {"self application/rss+xml": url} | {
            f"alternate {t}": h for t, h in others.items()
        }
        assert [element.findtext(f"image/{name}") for name in ("url", "title", "link")] == [
            channel.logo,
            channel.title,
            BASE_URL,
        ]
    elif fmt is Format.ATOM:
        root = etree.fromstring(body)
        assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == "pt-BR"
        assert root.findtext(f"{A}id") == channel.id
        assert root.findtext(f"{A}title") == channel.title
        assert root.findtext(f"{A}subtitle") == channel.description
        assert root.findtext(f"{A}updated") == "2024-03-09T08:07:06+00:00"
        assert root.findtext(f"{A}author/{A}name") == channel.title
        links = {(link.get("rel"), link.get("type")): link.get("href") for link in root.findall(f"{A}link")}
        assert links == {("self", fmt.media_type): url, ("alternate", "text/html"): BASE_URL} | {
            ("alternate", t): h for t, h in others.items()
        }
        assert (root.findtext(f"{A}icon"), root.findtext(f"{A}logo")) == (channel.icon, channel.logo)
    else:
        feed = json.loads(body)
        assert {k: v for k, v in feed.items() if k != "items"} == {
            "version": "https://jsonfeed.org/version/1.1",
            "title": channel.title,
            "home_page_url": BASE_URL,
            "feed_url": url,
            "description": channel.description,
            "language": "pt-BR",
            "authors": [{"name": channel.title, "url": BASE_URL}],
            "favicon": channel.icon,
            "icon": channel.logo,
        }


@pytest.mark.parametrize("fmt", list(FEED_FORMATS))
def test_no_icon_or_logo_unless_configured(fmt: Format) -> None:
    body = build(fmt, channel_for(fmt), [RICH])
    for marker in (b"<image>", b"<icon>", b"<logo>", b'"favicon"', b'"icon"'):
        assert marker not in body


# -- AMP, related stories, provider ------------------------------------------------------------


def test_amp_urls_are_never_the_link_or_the_id(write_corpus: CorpusWriter) -> None:
    amp = "https://news.example/1/amp"
    cdn = "https://news-example.cdn.ampproject.org/c/s/news.example/1/amp"
    corpus = write_corpus(
        {
            "web-only.txt": item_text(minimal_item(1), ampWebUrl=amp, cdnAmpWebUrl=cdn),
            "original.txt": item_text(
                minimal_item(2),
                originalUrl="https://orig.example/2",
                ampWebUrl=amp + "2",
                cdnAmpWebUrl=cdn + "2",
            ),
        }
    )
    pub = publication(corpus)
    items = pub.selection.items
    assert {item.url for item in items} == {"https://news.example/1", "https://orig.example/2"}
    assert {item.id for item in items} == {
        item_id("https://news.example/1"),
        item_id("https://orig.example/2"),
    }
    for fmt in FEED_FORMATS:
        body = pub.render(f"/feeds/all.{fmt.value}").body  # type: ignore[union-attr]
        assert b"/amp" not in body and b"ampproject" not in body, f"an AMP URL in the {fmt.label} feed"


def test_provider_without_a_usable_domain_has_no_url() -> None:
    for domain in (None, "not a host", "-bad-.example"):
        item = make_item(provider=Provider("Somebody", domain))
        atom = atom_entry(build(Format.ATOM, channel_for(Format.ATOM), [item]))
        assert atom.findtext(f"{A}author/{A}name") == "Somebody" and atom.find(f"{A}author/{A}uri") is None
        assert json_item(build(Format.JSON, channel_for(Format.JSON), [item]))["authors"] == [
            {"name": "Somebody"}
        ]


def test_unscored_heat_is_left_out_of_json() -> None:
    assert "_feeds" not in json_item(build(Format.JSON, channel_for(Format.JSON), [make_item(heat=UNSCORED)]))
    scored = json_item(build(Format.JSON, channel_for(Format.JSON), [make_item(heat=0, quality=0)]))
    assert scored["_feeds"] == {"heat": 0, "quality": 0}


# -- text and HTML ---------------------------------------------------------------------------

NASTY = [
    "1 < 2 & 3 > 2",
    "He said \"hi\" & she said 'bye'",
    "CDATA end ]]> inside",
    "<b>not bold</b> <script>alert(1)</script> <!-- not a comment -->",
    "&amp; &lt; &#x41; &copy; are not entities here",
    "emoji 😀👍🏽 and flags 🇵🇹",
    "\u200fשלום\u200e mixed \u202bRTL\u202c marks \u2066isolates\u2069",
    "tabs\tand\nnew lines",
    "non-breaking\u00a0space and zero\u200bwidth",
]


@pytest.mark.parametrize("text", NASTY)
def test_plain_text_reaches_readers_exactly(text: str) -> None:
    """Titles, excerpts, topics and provider names are plain text in every format: never
    markup, never lost. In RSS the description is HTML by convention, so the excerpt comes
    back as the HTML for that text."""
    item = make_item(title=text, excerpt=text, topics=(text,), provider=Provider(text))
    rss = feedparser.parse(build(Format.RSS, channel_for(Format.RSS), [item]))
    atom = feedparser.parse(build(Format.ATOM, channel_for(Format.ATOM), [item]))
    assert rss.bozo == 0 and atom.bozo == 0
    for parsed in (rss, atom):
        (entry,) = parsed.entries
        assert entry.title == text
        assert [tag.term for tag in entry.tags] == [text]
        assert entry.author == text
    assert atom.entries[0].summary == text
    assert rss.entries[0].summary_detail.type == "text/html"
    assert html.unescape(rss.entries[0].summary) == text
    element = rss_item(build(Format.RSS, channel_for(Format.RSS), [item]))
    assert element.findtext("description") == html.escape(text, quote=False)
    entry = json_item(build(Format.JSON, channel_for(Format.JSON), [item]))
    assert (entry["title"], entry["summary"], entry["tags"], entry["authors"][0]["name"]) == (
        text,
        text,
        [text],
        text,
    )


def test_markup_characters_are_written_as_character_references() -> None:
    item = make_item(title="AT&T <3 >_<", excerpt="a & b")
    body = build(Format.RSS, channel_for(Format.RSS), [item])
    assert b"<title>AT&#x26;T &#x3C;3 &#x3E;_&#x3C;</title>" in body
    assert b"<description>a &#x26;amp; b</description>" in body
    assert b"&amp;" not in body and b"&lt;" not in body and b"&gt;" not in body
    assert (
        character_references(b'<a t="&amp;&quot;">&lt;&amp;lt;&gt;</a>')
        == b'<a t="&#x26;&quot;">&#x3C;&#x26;lt;&#x3E;</a>'
    )


XSS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "<a href=\"javascript:alert(1)\" onclick='alert(2)'>x</a>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![img](javascript:alert(1))",
    '[x](https://ok.example/ "t\\" onmouseover=\\"alert(1)")',
    "<javascript:alert(1)>",
    "[relative](/not/absolute) ![rel](img.png)",
    "<iframe src=https://evil.example></iframe><style>*{}</style><object></object>",
    '<svg onload="alert(1)"></svg><math><mi xlink:href="javascript:alert(1)">x</mi></math>',
]


@pytest.mark.parametrize("payload", XSS)
def test_body_html_is_sanitised(payload: str) -> None:
    item = make_item(body=f"Before.\n\n{payload}\n\nAfter.")
    rendered = render_body(item.body or "")
    assert_safe_html(rendered, payload)
    for fmt in FEED_FORMATS:
        body = build(fmt, channel_for(fmt), [item])
        check_document(fmt, body, f"{BASE_URL}feeds/test.{fmt.value}", [item])


def test_body_keeps_safe_links_and_shows_raw_html_as_text() -> None:
    rendered = render_body("See [it](https://x.example/a?b=1&c=2) and <b>this</b>.")
    assert rendered == (
        '<p>See <a href="https://x.example/a?b=1&amp;c=2">it</a> and &lt;b&gt;this&lt;/b&gt;.</p>\n'
    )


# -- URLs ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "uri"),
    [
        ("https://news.example/a?b=1&c=%20d#e", "https://news.example/a?b=1&c=%20d#e"),
        ("https://news.example/ü/ä?q=ö", "https://news.example/%C3%BC/%C3%A4?q=%C3%B6"),
        ("https://пример.example:8443/путь", "https://xn--e1afmkfd.example:8443/%D0%BF%D1%83%D1%82%D1%8C"),
        ("https://news.example/a|b[1]^{2}`\\", "https://news.example/a%7Cb%5B1%5D%5E%7B2%7D%60%5C"),
        ("http://user:pässword@news.example/", "http://user:p%C3%A4ssword@news.example/"),
        ("http://[::1]:8080/x y", "http://[::1]:8080/x%20y"),
    ],
)
def test_urls_are_written_as_ascii_uris(url: str, uri: str) -> None:
    assert as_uri(url) == uri
    assert as_uri(uri) == uri


def test_host_url() -> None:
    assert host_url("news.example") == "https://news.example/"
    assert host_url("пример.example") == "https://xn--e1afmkfd.example/"
    assert host_url("not a host") is None
    assert host_url("") is None


def test_non_ascii_urls_reach_every_format_as_uris() -> None:
    item = make_item(url="https://пример.example/ü", images=(Image("https://news.example/ü.png"),))
    for fmt in FEED_FORMATS:
        body = build(fmt, channel_for(fmt), [item])
        check_document(fmt, body, f"{BASE_URL}feeds/test.{fmt.value}", [item])
        assert "пример".encode() not in body and "ü".encode() not in body


# -- dates ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2023, 2, 3, 12, 51, tzinfo=UTC),
        datetime(1000, 1, 1, tzinfo=UTC),
        datetime(1899, 12, 31, 23, 59, 59, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
        datetime(2024, 2, 29, 1, 2, 3, tzinfo=timezone(timedelta(hours=-11, minutes=-30))),
    ],
)
def test_rfc822_dates(moment: datetime) -> None:
    """Four-digit years, the right day of the week, UTC."""
    assert rfc822(moment) == format_datetime(moment.astimezone(UTC))
    assert rfc822(moment).endswith(" +0000")


def test_rss_dates_leave_the_process_locale_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """feedgen formats RSS dates by switching the whole process's locale and back, which a
    threaded server cannot afford; our builders never call setlocale."""

    def refuse(*args: object) -> str:
        raise AssertionError(f"setlocale{args} called while building a feed")

    monkeypatch.setattr(locale, "setlocale", refuse)
    for fmt in FEED_FORMATS:
        assert build(fmt, channel_for(fmt), [RICH, make_item(2)])


@pytest.mark.parametrize("fmt", list(FEED_FORMATS))
def test_feed_date_is_the_newest_items_not_the_clock(fmt: Format, write_corpus: CorpusWriter) -> None:
    corpus = write_corpus({f"{n}.txt": item_text(minimal_item(n)) for n in range(3)})
    now = publication(corpus, NOW).render(f"/feeds/all.{fmt.value}")
    later = publication(corpus, NOW + timedelta(days=400)).render(f"/feeds/all.{fmt.value}")
    assert now is not None and later is not None
    assert now.body == later.body
    newest = datetime(2024, 1, 3, 12, tzinfo=UTC)
    assert {
        Format.RSS: b"<lastBuildDate>Wed, 03 Jan 2024 12:00:00 +0000</lastBuildDate>",
        Format.ATOM: b"<updated>2024-01-03T12:00:00+00:00</updated>\n  <author>",
        Format.JSON: b'"date_published": "2024-01-03T12:00:00Z"',
    }[fmt] in now.body
    assert now.last_modified == newest


@pytest.mark.parametrize("fmt", list(FEED_FORMATS))
def test_items_keep_the_order_given(fmt: Format) -> None:
    """feedgen prepends entries unless told otherwise; the selection's order must survive."""
    items = [make_item(2), make_item(5), make_item(1)]
    for order in (items, items[::-1]):
        body = build(fmt, channel_for(fmt), order)
        ids = (
            [e["id"] for e in json.loads(body)["items"]]
            if fmt is Format.JSON
            else [e.id for e in feedparser.parse(body).entries]
        )
        assert ids == [item.id for item in order]


@pytest.mark.parametrize("fmt", list(FEED_FORMATS))
def test_generator_has_no_version(fmt: Format) -> None:
    body = build(fmt, channel_for(fmt), [RICH])
    assert b"feedgen" not in body and b"1.0.0" not in body
    if fmt is Format.RSS:
        assert etree.fromstring(body).findtext("channel/generator") == GENERATOR
    elif fmt is Format.ATOM:
        generator = etree.fromstring(body).find(f"{A}generator")
        assert (generator.text, generator.attrib) == (GENERATOR, {})
    else:
        assert "generator" not in body.decode()  # JSON Feed has no such field


# -- empty feeds -------------------------------------------------------------------------------


def test_empty_feeds() -> None:
    rss = etree.fromstring(build(Format.RSS, channel_for(Format.RSS), [])).find("channel")
    assert rss.find("item") is None
    # An empty feed has no date of its own; RSS lets us say nothing.
    assert rss.find("lastBuildDate") is None
    atom = etree.fromstring(build(Format.ATOM, channel_for(Format.ATOM), []))
    assert atom.find(f"{A}entry") is None and atom.findtext(f"{A}updated") == "2024-03-09T08:07:06+00:00"
    assert json.loads(build(Format.JSON, channel_for(Format.JSON), []))["items"] == []


# -- the seeds: golden files and determinism ---------------------------------------------------


def test_golden_files_are_current() -> None:
    """Every document of the seeds, byte for byte. If a change is intended, rebuild them with
    the command below and review the diff."""
    expected = documents()
    assert on_disk(GOLDEN) == set(expected), f"golden files are missing or stale: run `{COMMAND}`"
    different = [name for name, body in expected.items() if (GOLDEN / name).read_bytes() != body]
    assert not different, (
        f"{different} differ from their golden files: if intended, run `{COMMAND}` and review the diff"
    )


def test_goldens_cover_every_topic_in_every_format() -> None:
    topics = {path.split("/")[-1].rsplit(".", 1)[0] for path in on_disk(GOLDEN) if path.startswith("feeds/")}
    pub = publication(ROOT / "seeds")
    assert topics == {"all"} | {topic.slug for topic in pub.selection.topics}
    for slug in topics:
        for fmt in FEED_FORMATS:
            assert (GOLDEN / f"feeds/{slug}.{fmt.value}").is_file()


def _rebuild_in_a_new_process(folder: Path, env: dict[str, str]) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("FEEDS_", "LC_", "LANG"))} | env
    result = subprocess.run(
        [sys.executable, "-m", "tests.rebuild_goldens", str(folder)],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_two_processes_write_identical_bytes(tmp_path: Path) -> None:
    """Different hash seeds, time zones and locales; the same bytes, equal to the goldens."""
    first, second = tmp_path / "first", tmp_path / "second"
    _rebuild_in_a_new_process(first, {"PYTHONHASHSEED": "1", "TZ": "UTC", "LC_ALL": "C"})
    _rebuild_in_a_new_process(second, {"PYTHONHASHSEED": "2", "TZ": "Pacific/Chatham", "LC_ALL": "C.UTF-8"})
    names = on_disk(first)
    assert names == on_disk(second) == on_disk(GOLDEN)
    assert len(names) == len(documents())
    for name in sorted(names):
        assert (first / name).read_bytes() == (second / name).read_bytes() == (GOLDEN / name).read_bytes(), (
            name
        )


def test_seed_item_round_trips_through_the_corpus_reader() -> None:
    """The golden feeds carry the seed's fields as the corpus reader read them."""
    seed = sorted((ROOT / "seeds").glob("000_*.txt"))[0]
    item = parse_item(seed.read_bytes(), seed)
    entry = json.loads((GOLDEN / "feeds/all.json").read_bytes())["items"][0]
    assert (entry["id"], entry["url"], entry["title"]) == (item.id, item.url, item.title)
    assert entry["_feeds"]["heat"] == item.heat and entry["_feeds"]["quality"] == item.quality
    assert entry["authors"] == [{"name": "in.mashable", "url": "https://mashable.com/"}]


def _ids(items: Sequence[Item]) -> list[str]:
    return [item.id for item in items]


_json_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]))
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**12), 10**12) | _json_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_json_text, inner, max_size=3),
    max_leaves=12,
)


@settings(max_examples=2000, deadline=None)
@given(st.dictionaries(_json_text, _json_values, max_size=4))
def test_json_feeds_are_written_as_the_standard_library_writes_them(document: dict[str, Any]) -> None:
    assert dump(document) == (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode()
