"""Property-based tests: arbitrary text, dates and topic names, written to a real item file,
read by the corpus reader and built into all three formats, always give documents that
parse and carry the text and dates exactly (less the characters XML forbids, which the
corpus reader removes by design)."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any
from urllib.parse import unquote, urlsplit

import feedparser
import yaml
from feedparser.html import _cp1252
from feedparser.mixin import _FeedParserMixin
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from lxml import etree

from feeds.builders import FEED_FORMATS, Format, build
from feeds.builders.html import render_body
from feeds.builders.uri import as_uri
from feeds.builders.xml import rfc822
from feeds.corpus import clean_text, parse_item
from feeds.errors import ItemError
from feeds.model import Channel, Item, Link
from tests.conftest import item_text, minimal_item
from tests.test_feed_validity import (
    ATOM,
    BASE_URL,
    NS,
    assert_safe_html,
    assert_uri,
    bad_characters,
    check_atom,
    check_json,
    check_rss,
    plain_text_warning,
)

A = f"{{{ATOM}}}"
_SURROGATE = re.compile("[\ud800-\udfff]")
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_FRAGMENTS = [
    "<", ">", "&", "]]>", "<![CDATA[", "&amp;", "&lt;", "&#x41;", "&#65;", "&copy;", "<b>", "</p>",
    "<script>alert(1)</script>", '"', "'", "\\", "\u200f", "\u200e", "\u202e", "\u2066", "😀", "👍🏽",
    "\x00", "\x07", "\x1b", "\x7f", "\x85", "\x9f", "\ufffd", "\ufffe", "\uffff", "\ud800", "\udfff",
    "\u2028", "\u00a0", " ", "\t", "\n", "\r\n", "---", "...", "# ", "*", "[x](y)", "&#x26;",
]  # fmt: skip
ANY_CHAR = st.characters(exclude_categories=())
"""Every code point, surrogates and controls included."""
TEXT = st.one_of(
    st.text(ANY_CHAR, max_size=30),
    st.lists(st.one_of(st.sampled_from(_FRAGMENTS), st.text(ANY_CHAR, max_size=3)), max_size=12).map("".join),
)
_MARKDOWN = [
    "[a](javascript:alert(1))", "[a](https://x.example/?a=1&b=2)", "![i](data:image/png;base64,AA)",
    "<a href=x onclick=y>", "<img src=x onerror=alert(1)>", "[a](/relative)", "<https://auto.example>",
    "<javascript:alert(1)>", "[a]: javascript:alert(1)\n\n[a]", '[t](https://x.example "x\\" onload=\\"y")',
    "```\n<script>\n```", "    <script>indented</script>", "\n\n", "> quote", "1. list\n", "<!-- c -->",
]  # fmt: skip
OFFSETS = st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(lambda minutes: timezone(timedelta(minutes=minutes)))
MOMENTS = st.datetimes(
    min_value=datetime(1000, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59), timezones=OFFSETS
)


def as_yaml_reads_it(value: object) -> Any:
    """``value`` after a trip through YAML: YAML itself folds some line breaks (NEL, LS, CR)."""
    return yaml.load(yaml.safe_dump({"v": value}, allow_unicode=True), Loader=_Loader)["v"]


def expected_text(text: str) -> str:
    """What the corpus reader keeps of a text field."""
    return clean_text(as_yaml_reads_it(text)).strip()


def expected_topics(names: list[str]) -> tuple[str, ...]:
    kept: dict[str, str] = {}
    for name in as_yaml_reads_it(names):
        normal = re.sub(r"\s+", " ", clean_text(name)).strip()
        if normal:
            kept.setdefault(normal.casefold(), normal)
    return tuple(kept.values())


looks_like_html = _FeedParserMixin.looks_like_html


def warned_whatever_we_do(text: str) -> bool:
    """Text the W3C validator warns about in any encoding: an HTML end tag, C1 controls."""
    return plain_text_warning(text, "&#x", rss=True) is not None or bad_characters(text)


def as_feedparser_reads_it(text: str) -> str:
    """feedparser's two repairs of text it takes for damaged: all-Latin-1 text that is
    valid UTF-8 when encoded as Latin-1 is decoded again ("Ã©" becomes "é"), and C1 controls
    are read as windows-1252 ("\x80" becomes "€"). The W3C validator warns about both
    (BadCharacters); any other text reaches feedparser's users exactly."""
    try:
        text = text.encode("iso-8859-1").decode("utf-8")
    except UnicodeError:
        pass
    return text.translate(_cp1252)


def read(**fields: Any) -> Item:
    """An item file with ``fields``, read by the real corpus reader."""
    return parse_item(item_text(minimal_item(1), **fields).encode("utf-8"), "generated.txt")


def url(fmt: Format) -> str:
    return f"{BASE_URL}feeds/p.{fmt.value}"


def documents(item: Item, *, strict_text: bool = False) -> dict[Format, bytes]:
    """The three documents of ``item``, each checked for validity.

    Unless ``strict_text``, the W3C validator's warnings that depend on the text alone are
    not checked: arbitrary text may hold C1 controls or an HTML end tag, which it warns
    about whatever we do (see test_feed_validity)."""
    built = {
        fmt: build(
            fmt,
            Channel(
                id=url(fmt),
                title="Properties",
                description="Generated.",
                home_url=BASE_URL,
                self_link=Link(url(fmt), fmt.media_type),
                updated=item.updated_at,
            ),
            [item],
        )
        for fmt in FEED_FORMATS
    }
    check_rss(built[Format.RSS], url(Format.RSS), strict_text=strict_text)
    check_atom(built[Format.ATOM], url(Format.ATOM), strict_text=strict_text)
    check_json(built[Format.JSON], url(Format.JSON))
    return built


@FAST
@given(title=TEXT, excerpt=TEXT, topics=st.lists(TEXT, max_size=4), provider=TEXT)
@example(title="a <b>]]>&amp;</b>", excerpt="\ud800x\x00y\x85", topics=["A", "a", " \t"], provider="P&Q")
@example(title="a\n&amp; b", excerpt="x\n<b", topics=["t\n&#1;"], provider="a\nb&c")
@example(title="Stra\u00dfe\u00bb \x80", excerpt="\u00c3\u00a9", topics=["\x91"], provider="<>&amp;")
def test_text_round_trips_through_reader_and_builders(
    title: str, excerpt: str, topics: list[str], provider: str
) -> None:
    fields: dict[str, object] = {"title": title, "excerpt": excerpt, "topics": topics}
    if _SURROGATE.search("".join([title, excerpt, provider, *topics])):
        fields["provider"] = {"name": provider or "p"}
        # YAML can only escape a lone surrogate (UTF-8 cannot hold one), and libyaml refuses
        # such an escape: the file is rejected with a message, or (pure-Python PyYAML) read
        # and the surrogate removed like any other character XML forbids.
        try:
            item = read(**fields)
        except ItemError as err:
            assert "YAML" in err.message
            return
        assert not _SURROGATE.search(item.title + item.excerpt + "".join(item.topics))
        return
    if expected_text(provider):
        fields["provider"] = {"name": provider}
    if not expected_text(title):
        try:
            read(**fields)
        except ItemError as err:
            assert "title" in err.message
            return
        raise AssertionError("an item with an empty title was accepted")
    item = read(**fields)
    assert item.title == expected_text(title)
    assert item.excerpt == expected_text(excerpt)
    assert item.topics == expected_topics(topics)
    texts = [item.title, item.excerpt, *item.topics, item.provider.name if item.provider else ""]
    built = documents(item, strict_text=not any(map(warned_whatever_we_do, texts)))

    rss = etree.fromstring(built[Format.RSS]).find("channel/item")
    assert rss.findtext("title") == item.title
    assert (rss.findtext("description") or "") == html.escape(item.excerpt, quote=False)
    assert [c.text for c in rss.findall("category")] == list(item.topics)
    atom = etree.fromstring(built[Format.ATOM]).find(f"{A}entry")
    assert atom.findtext(f"{A}title") == item.title
    assert atom.findtext(f"{A}summary") == (item.excerpt or item.title)
    assert [c.get("term") for c in atom.findall(f"{A}category")] == list(item.topics)
    entry = json.loads(built[Format.JSON])["items"][0]
    assert (entry["title"], entry.get("summary", ""), entry.get("tags", [])) == (
        item.title,
        item.excerpt,
        list(item.topics),
    )
    if item.provider:
        assert rss.findtext("dc:creator", namespaces=NS) == item.provider.name
        assert atom.findtext(f"{A}author/{A}name") == item.provider.name
        assert entry["authors"][0]["name"] == item.provider.name

    for fmt in (Format.RSS, Format.ATOM):
        parsed = feedparser.parse(built[fmt])
        assert parsed.bozo == 0, parsed.get("bozo_exception")
        (read_back,) = parsed.entries
        if fmt is Format.RSS and looks_like_html(item.title):
            # RSS cannot say that a title is plain text; feedparser guesses HTML when the
            # text has an HTML end tag or entity reference (Atom says type="text").
            assert read_back.title_detail.type == "text/html"
        else:
            assert read_back.title == as_feedparser_reads_it(item.title)
        # An Atom category term is an attribute, which feedparser leaves alone.
        terms = [as_feedparser_reads_it(t) if fmt is Format.RSS else t for t in item.topics]
        assert [tag.term for tag in read_back.get("tags", [])] == terms
        summary = read_back.get("summary", "")
        if fmt is Format.RSS:
            # feedparser's HTML sanitiser also turns CR LF into LF.
            escaped = as_feedparser_reads_it(html.escape(item.excerpt, quote=False))
            assert html.unescape(summary) == html.unescape(escaped.replace("\r\n", "\n"))
        else:
            assert summary == as_feedparser_reads_it(item.excerpt or item.title)


@FAST
@given(moment=MOMENTS)
@example(moment=datetime(1000, 1, 1, tzinfo=timezone(timedelta(hours=5))))
@example(moment=datetime(9999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5))))
@example(moment=datetime(1000, 1, 1, 0, 0, 0, 1, tzinfo=timezone(timedelta(minutes=-1))))
def test_dates_round_trip_through_reader_and_builders(moment: datetime) -> None:
    try:
        utc = moment.astimezone(UTC).replace(microsecond=0)
    except OverflowError:
        utc = None
    if utc is None or utc.year < 1000:
        try:
            read(publishedDateTime=moment)
        except ItemError as err:
            assert "publishedDateTime" in err.message
            return
        raise AssertionError(f"{moment} was accepted")
    item = read(publishedDateTime=moment)
    assert item.published_at == utc
    built = documents(item)

    rss = etree.fromstring(built[Format.RSS]).find("channel")
    assert rss.findtext("item/pubDate") == rss.findtext("lastBuildDate") == format_datetime(utc)
    atom = etree.fromstring(built[Format.ATOM])
    for path in (f"{A}updated", f"{A}entry/{A}updated", f"{A}entry/{A}published"):
        assert datetime.fromisoformat(atom.findtext(path)) == utc
    entry = json.loads(built[Format.JSON])["items"][0]
    assert (
        datetime.fromisoformat(entry["date_published"])
        == utc
        == datetime.fromisoformat(entry["date_modified"])
    )
    for fmt in (Format.RSS, Format.ATOM):
        (read_back,) = feedparser.parse(built[fmt]).entries
        stamp = read_back.published_parsed if fmt is Format.RSS else read_back.updated_parsed
        assert tuple(stamp[:6]) == utc.timetuple()[:6]


@settings(max_examples=300, deadline=None)
@given(moment=MOMENTS)
def test_rfc822_of_any_moment(moment: datetime) -> None:
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:
        return
    assert rfc822(moment) == format_datetime(utc)


@FAST
@given(body=st.lists(st.one_of(TEXT, st.sampled_from(_FRAGMENTS), st.sampled_from(_MARKDOWN)), max_size=10))
def test_rendered_bodies_are_always_safe_html(body: list[str]) -> None:
    markdown = clean_text("".join(body)).strip("\n")
    assert_safe_html(render_body(markdown), "body")
    if markdown.strip():
        item = Item(
            id="urn:uuid:00000000-0000-5000-8000-000000000000",
            source="b.txt",
            title="Body",
            url="https://news.example/b",
            published_at=datetime(2024, 1, 1, tzinfo=UTC),
            body=markdown,
        )
        documents(item)


URLS = st.builds(
    lambda scheme, host, rest: f"{scheme}://{host}/{rest}",
    st.sampled_from(["http", "https"]),
    st.sampled_from(["news.example", "пример.example", "news.example:8080", "bücher.example"]),
    st.text(st.characters(exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp")), max_size=20),
)


@settings(max_examples=200, deadline=None)
@given(url=URLS)
def test_as_uri_gives_an_equivalent_ascii_uri(url: str) -> None:
    uri = as_uri(url)
    assert uri.isascii()
    assert_uri(uri, url)
    assert as_uri(uri) == uri
    original, encoded = urlsplit(url), urlsplit(uri)
    assert encoded.scheme == original.scheme and encoded.port == original.port
    # Percent-decoding gives back the text after the host (URI-legal characters stay as they were).
    assert unquote(uri.split("/", 3)[3]) == unquote(url.split("/", 3)[3])
