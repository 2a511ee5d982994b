"""Every feed we publish is valid: by its schema, by the rules of its specification that a
schema cannot express, by what the W3C Feed Validation Service is known to warn about, and
as read by feedparser, which must give back each item's title, link, id and date.

The ``check_*`` functions are shared with the other builder tests.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_tz
from functools import cache
from html.entities import name2codepoint
from pathlib import Path
from typing import Any

import feedparser
import jsonschema
import pytest
from lxml import etree, html
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from feeds.builders import FEED_FORMATS, Format, build
from feeds.builders.uri import as_uri
from feeds.catalogue import FeedSpec
from feeds.config import Settings
from feeds.corpus import load_corpus
from feeds.model import Channel, Item, Link
from feeds.publication import Params, Publication
from tests.conftest import NOW, SCHEMAS, SEEDS, CorpusWriter, item_text, minimal_item

ATOM = "http://www.w3.org/2005/Atom"
CONTENT = "http://purl.org/rss/1.0/modules/content/"
DC = "http://purl.org/dc/elements/1.1/"
MEDIA = "http://search.yahoo.com/mrss/"
NS = {"atom": ATOM, "content": CONTENT, "dc": DC, "media": MEDIA}
BASE_URL = "http://feeds.test/"

# -- what the W3C Feed Validation Service checks (src/feedvalidator, w3c/feedvalidator) -----

_URI = re.compile(r"[a-zA-Z][0-9a-zA-Z+\-.]*:(//)?[0-9a-zA-Z;/?:@&=+$.\-_!~*'()%,#]+")
_HTTP = re.compile(r"https?://[^/].*")
_URN_UUID = re.compile(r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_RFC2822 = re.compile(
    r"(?P<dow>Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"\d{4} \d\d:\d\d:\d\d (\+0000|GMT)"
)
_RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")
_MIME = re.compile(r'[^\s()<>,;:\\"/\[\]?=]+/[^\s()<>,;:\\"/\[\]?=]+')
_HTML_END_TAG = re.compile(r"</(\w+)>")
_HTML_ENTITY = re.compile(r"&(#?\w+)")
_HTML_TAGS = frozenset(
    "a abbr acronym address applet area article aside audio b base basefont bdi bdo big "
    "blockquote body br button canvas caption center cite code col colgroup command data "
    "datagrid datalist dd del details dfn dialog dir div dl dt em eventsource fieldset "
    "figcaption figure font footer form frame frameset h1 h2 h3 h4 h5 h6 head header hgroup "
    "hr html i iframe img input ins isindex kbd label legend li link m main map mark menu "
    "meta meter nav noframes noscript object ol optgroup option output p param picture pre "
    "progress q rp rt ruby s samp script section select slot small source span strike strong "
    "style sub summary sup table tbody td template textarea tfoot th thead time title tr track "
    "tt u ul var xmp plaintext embed comment listing video wbr".split()
)
_UNSAFE_TAGS = frozenset({"script", "style", "iframe", "object", "embed", "meta", "link", "base", "form"})
_SAFE_SCHEMES = ("http://", "https://", "mailto:")
# The W3C validator's relations (src/feedvalidator/link.py), RFC 5005's among them.
_ATOM_RELS = frozenset(
    {"alternate", "related", "self", "enclosure", "via", "hub", "current", "prev-archive", "next-archive"}
)
_MEDIUMS = frozenset({"image", "audio", "video", "document", "executable"})


def plain_text_warning(value: str, start_line: str, *, rss: bool) -> str | None:
    """The warning the W3C validator gives for plain text (RSS titles, Atom text
    constructs) that it could take for HTML, or ``None``.

    ``start_line`` is the raw line the element starts on: the validator accepts markup-like
    text there only if it is written with hexadecimal character references (RSS Profile).
    """
    if any(tag.lower() in _HTML_TAGS for tag in _HTML_END_TAG.findall(value)):
        return "ContainsHTML"
    character_data = "&#x" in start_line
    if _HTML_ENTITY.search(value):
        for name in _HTML_ENTITY.findall(value):
            if (name in name2codepoint or name == "apos" or not name.isalpha()) and not character_data:
                return "ContainsHTML"
    elif rss and re.search(r"&#[x0-9]|<[/a-zA-Z]", value) and not character_data:
        return "CharacterData"
    return None


def bad_characters(value: str) -> bool:
    """C1 controls and U+FFFD: the validator's BadCharacters warning (cp1252 damage)."""
    return any(0x80 <= ord(char) <= 0x9F or char == "\ufffd" for char in value)


def assert_uri(value: str | None, where: str) -> None:
    assert value, f"{where}: empty URI"
    assert _URI.fullmatch(value), f"{where}: not an absolute URI of legal characters: {value!r}"
    if value.startswith("urn:uuid:"):
        assert _URN_UUID.fullmatch(value), f"{where}: malformed urn:uuid {value!r}"
    elif value.startswith("http"):
        assert _HTTP.fullmatch(value), f"{where}: malformed http URL {value!r}"


def assert_rfc822(value: str | None, where: str) -> datetime:
    """RFC 822 with a four-digit year and the right day of the week; returns the moment."""
    assert value is not None and (match := _RFC2822.fullmatch(value)), f"{where}: bad date {value!r}"
    parts = parsedate_tz(value)
    assert parts is not None
    moment = datetime(*parts[:6], tzinfo=UTC)
    assert moment.strftime("%a") == match["dow"] or moment.year < 1900, f"{where}: wrong weekday"
    return moment


def assert_rfc3339(value: str | None, where: str) -> datetime:
    assert value is not None and _RFC3339.fullmatch(value), f"{where}: bad date {value!r}"
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def assert_safe_html(markup: str, where: str) -> None:
    """Sanitised HTML: no scripts or other active elements, no event handler attributes,
    and links and images only to absolute http(s) or mailto URLs (no relative references)."""
    if not markup.strip():
        return
    for element in html.fragments_fromstring(f"<div>{markup}</div>")[0].iter():
        if not isinstance(element.tag, str):
            continue
        assert element.tag not in _UNSAFE_TAGS, f"{where}: <{element.tag}> in HTML"
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on"), f"{where}: event handler {name}= in HTML"
            assert name.lower() != "style", f"{where}: style attribute in HTML"
            if name.lower() in {"href", "src"}:
                assert value.strip().lower().startswith(_SAFE_SCHEMES), f"{where}: {name}={value!r}"
                assert_uri(value, f"{where} {name}")


def _start_line(element: Any, lines: Sequence[str]) -> str:
    return str(lines[element.sourceline - 1]) if element.sourceline else ""


def _no_plain_text_warning(
    element: Any, lines: Sequence[str], *, rss: bool, value: str | None = None
) -> None:
    text = element.text or "" if value is None else value
    warning = plain_text_warning(text, _start_line(element, lines), rss=rss)
    assert warning is None, f"{element.tag}: {warning} for {text!r}"


# -- Atom --------------------------------------------------------------------------------


@cache
def _atom_grammar() -> Any:
    return etree.RelaxNG(etree.parse(str(SCHEMAS / "atom.rng")))


def check_atom(body: bytes, url: str, *, strict_text: bool = True) -> Any:
    """Valid Atom 1.0 served at ``url``; returns the parsed root.

    ``strict_text`` also asks for none of the warnings that depend only on the text we were
    given (C1 controls, a title that contains an HTML end tag).
    """
    root = etree.fromstring(body)
    grammar = _atom_grammar()
    assert grammar.validate(root), grammar.error_log.filter_from_errors()
    lines = body.decode().split("\n")
    a = f"{{{ATOM}}}"

    assert root.get("{http://www.w3.org/XML/1998/namespace}lang"), "no xml:lang on the feed"
    assert root.findtext(f"{a}generator") == "feeds"
    assert not root.find(f"{a}generator").attrib, "generator with a version or URI"
    assert_uri(root.findtext(f"{a}id"), "feed id")
    if strict_text:
        for name in ("title", "subtitle"):
            _no_plain_text_warning(root.find(f"{a}{name}"), lines, rss=False)
    assert_rfc3339(root.findtext(f"{a}updated"), "feed updated")
    feed_links = root.findall(f"{a}link")
    selfs = [link.get("href") for link in feed_links if link.get("rel") == "self"]
    assert selfs == [url], f"self link {selfs} is not the document's URL {url}"
    _check_atom_links(feed_links, "feed")

    entries = root.findall(f"{a}entry")
    feed_has_author = root.find(f"{a}author") is not None
    ids = [entry.findtext(f"{a}id") for entry in entries]
    assert len(set(ids)) == len(ids), f"duplicate entry ids: {ids}"
    updated = [entry.findtext(f"{a}updated") for entry in entries]
    for entry, entry_id in zip(entries, ids, strict=True):
        where = f"entry {entry_id}"
        assert_uri(entry_id, f"{where} id")
        assert_rfc3339(entry.findtext(f"{a}updated"), f"{where} updated")
        if entry.find(f"{a}published") is not None:
            assert_rfc3339(entry.findtext(f"{a}published"), f"{where} published")
        links = entry.findall(f"{a}link")
        _check_atom_links(links, where)
        # RFC 4287 4.1.1: the feed has an author, or else every entry has one.
        assert feed_has_author or entry.find(f"{a}author") is not None, f"{where}: no author"
        content = entry.find(f"{a}content")
        summary = entry.find(f"{a}summary")
        # RFC 4287 4.1.2: an entry without content has an alternate link.
        if content is None:
            assert any(link.get("rel", "alternate") == "alternate" for link in links), f"{where}: no link"
        # W3C MissingTextualContent.
        assert content is not None or summary is not None, f"{where}: no summary or content"
        if content is not None:
            # type="html": escaped HTML, text only, never inline elements.
            assert content.get("type") == "html" and len(content) == 0, f"{where}: content not escaped HTML"
            assert_safe_html(content.text or "", f"{where} content")
        for name in ("title", "summary"):
            element = entry.find(f"{a}{name}")
            if element is not None:
                assert element.get("type", "text") == "text", f"{where}: {name} is not plain text"
                if strict_text:
                    assert not bad_characters(element.text or ""), f"{where}: C1 characters in {name}"
                    _no_plain_text_warning(element, lines, rss=False)
        for author in entry.findall(f"{a}author"):
            assert (author.findtext(f"{a}name") or "").strip(), f"{where}: author without a name"
            if author.find(f"{a}uri") is not None:
                assert_uri(author.findtext(f"{a}uri"), f"{where} author uri")
        for category in entry.findall(f"{a}category"):
            assert (category.get("term") or "").strip(), f"{where}: blank category term"
    if strict_text:
        # W3C DuplicateUpdated: two entries updated at the same moment look like one edited twice.
        assert len(set(updated)) == len(updated), f"entries share an updated date: {updated}"
    return root


def _check_atom_links(links: Sequence[Any], where: str) -> None:
    seen: set[tuple[str | None, str | None]] = set()
    for link in links:
        rel = link.get("rel", "alternate")
        assert rel in _ATOM_RELS, f"{where}: link rel {rel!r}"
        assert_uri(link.get("href"), f"{where} link {rel}")
        if link.get("type") is not None:
            assert _MIME.fullmatch(link.get("type")), f"{where}: link type {link.get('type')!r}"
        if link.get("title") is not None:
            assert link.get("title").strip(), f"{where}: blank link title"
        if rel == "alternate":
            # RFC 4287 4.1.1: no two alternate links with the same type and hreflang.
            key = (link.get("type"), link.get("hreflang"))
            assert key not in seen, f"{where}: two alternate links of type {key}"
            seen.add(key)


# -- RSS ---------------------------------------------------------------------------------


def check_rss(body: bytes, url: str, *, strict_text: bool = True) -> Any:
    """Valid RSS 2.0 by the specification and the RSS Best Practices Profile, served at
    ``url``; returns the parsed ``<channel>``."""
    root = etree.fromstring(body)
    lines = body.decode().split("\n")
    assert root.tag == "rss" and root.get("version") == "2.0"
    assert root.nsmap.get("media", MEDIA) == MEDIA and root.nsmap.get("atom", ATOM) == ATOM
    (channel,) = root.findall("channel")
    for name in ("title", "link", "description"):
        assert (channel.findtext(name) or "").strip(), f"channel has no {name}"
    assert_uri(channel.findtext("link"), "channel link")
    assert channel.findtext("language"), "channel has no language"
    assert channel.findtext("generator") == "feeds"
    assert channel.findtext("docs") == "http://www.rssboard.org/rss-specification"
    if channel.find("lastBuildDate") is not None:
        assert_rfc822(channel.findtext("lastBuildDate"), "lastBuildDate")
    assert channel.find("pubDate") is None or channel.find("dc:date", NS) is None
    if strict_text:
        for name in ("title", "description"):
            _no_plain_text_warning(channel.find(name), lines, rss=True)
    # W3C MissingAtomSelfLink and SelfDoesntMatchLocation.
    selfs = channel.findall("atom:link[@rel='self']", NS)
    assert [link.get("href") for link in selfs] == [url], "self link is not the document's URL"
    assert selfs[0].get("type") == "application/rss+xml"
    for link in channel.findall("atom:link", NS):
        assert_uri(link.get("href"), "channel atom:link")
    image = channel.find("image")
    if image is not None:
        # RSS Profile: the image's title and link are the channel's.
        assert image.findtext("title") == channel.findtext("title")
        assert image.findtext("link") == channel.findtext("link")
        assert_uri(image.findtext("url"), "image url")
    # RSS Profile (MisplacedItem): channel elements come before the items.
    children = [child.tag for child in channel]
    if "item" in children:
        assert set(children[children.index("item") :]) == {"item"}, "channel element after an item"

    guids = [item.findtext("guid") for item in channel.findall("item")]
    assert len(set(guids)) == len(guids), f"duplicate guids: {guids}"
    for item in channel.findall("item"):
        _check_rss_item(item, lines, strict_text=strict_text)
    return channel


def _check_rss_item(item: Any, lines: Sequence[str], *, strict_text: bool) -> None:
    guid = item.find("guid")
    where = f"item {guid.text if guid is not None else '?'}"
    assert item.find("title") is not None or item.find("description") is not None, where
    assert guid is not None, f"{where}: no guid"  # W3C MissingGuid
    assert_uri(guid.text, f"{where} guid")
    # A guid is a permalink only if it is the item's URL; ours are urn:uuid ids.
    assert guid.get("isPermaLink") == ("true" if guid.text.startswith("http") else "false"), where
    assert_uri(item.findtext("link"), f"{where} link")
    assert len(item.findall("enclosure")) <= 1, f"{where}: more than one enclosure"
    for enclosure in item.findall("enclosure"):
        assert int(enclosure.get("length")) >= 0 and _MIME.fullmatch(enclosure.get("type"))
        assert_uri(enclosure.get("url"), f"{where} enclosure")
    if item.find("pubDate") is not None:
        assert_rfc822(item.findtext("pubDate"), f"{where} pubDate")
    # W3C DuplicateItemSemantics.
    assert item.find("pubDate") is None or item.find("dc:date", NS) is None, f"{where}: dc:date"
    assert item.find("author") is None or item.find("dc:creator", NS) is None, f"{where}: dc:creator"
    assert item.find("category") is None or item.find("dc:subject", NS) is None, f"{where}: dc:subject"
    # RSS Profile (NeedDescriptionBeforeContent).
    children = [child.tag for child in item]
    encoded = f"{{{CONTENT}}}encoded"
    if encoded in children:
        assert "description" in children[: children.index(encoded)], f"{where}: content before description"
    for name in ("description", encoded):
        for element in item.findall(name):
            assert_safe_html(element.text or "", f"{where} {name}")
    for category in item.findall("category"):
        assert (category.text or "").strip(), f"{where}: blank category"
        if strict_text:
            _no_plain_text_warning(category, lines, rss=True)
    title = item.find("title")
    if title is not None:
        assert (title.text or "").strip(), f"{where}: blank title"
        if strict_text:
            assert not bad_characters(title.text or ""), f"{where}: C1 characters in title"
            _no_plain_text_warning(title, lines, rss=True)
    for content in item.findall("media:content", NS):
        assert_uri(content.get("url"), f"{where} media:content")
        assert content.get("medium") in _MEDIUMS
        assert content.get("type") is None or _MIME.fullmatch(content.get("type"))
        for size in ("width", "height"):
            assert content.get(size) is None or int(content.get(size)) > 0, f"{where}: media {size}"
    assert item.find("media:group", NS) is None, f"{where}: media:group"


# -- JSON Feed ---------------------------------------------------------------------------


@cache
def _json_validator() -> Any:
    schema = json.loads((SCHEMAS / "jsonfeed-1.1.schema.json").read_text())
    one = DRAFT4.create_resource(json.loads((SCHEMAS / "jsonfeed-1.schema.json").read_text()))
    registry: Registry[Any] = Registry().with_resources(
        [("https://json.schemastore.org/feed-1", one), ("https://json.schemastore.org/feed-1.json", one)]
    )
    resource = Resource.from_contents(schema, default_specification=DRAFT4)
    return jsonschema.Draft4Validator(resource.contents, registry=registry)


def check_json(body: bytes, url: str, *, feed_url: str | None = None) -> dict[str, Any]:
    """Valid JSON Feed 1.1 served at ``url`` (an archive of the feed at ``feed_url``);
    returns the parsed document."""
    assert body.endswith(b"\n") and not body.startswith(b"\xef\xbb\xbf")
    feed: dict[str, Any] = json.loads(body)
    _json_validator().validate(feed)
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["feed_url"] == (feed_url or url)
    assert_uri(feed["home_page_url"], "home_page_url")
    ids = [item["id"] for item in feed["items"]]
    assert len(set(ids)) == len(ids), f"duplicate ids: {ids}"
    for item in feed["items"]:
        where = f"item {item['id']}"
        assert_uri(item["url"], f"{where} url")
        assert "content_html" in item or "content_text" in item, f"{where}: no content"
        assert_safe_html(item.get("content_html", ""), f"{where} content_html")
        for name in ("date_published", "date_modified"):
            assert_rfc3339(item[name], f"{where} {name}")
        for author in item.get("authors", []):
            for name in ("url", "avatar"):
                if name in author:
                    assert_uri(author[name], f"{where} author {name}")
        assert all(key.startswith("_") for key in item if key not in _JSON_ITEM_KEYS), where
    return feed


_JSON_ITEM_KEYS = frozenset(
    "id url external_url title content_html content_text summary image banner_image "
    "date_published date_modified authors tags language attachments".split()
)


# -- what readers get: feedparser for RSS and Atom, the JSON itself for JSON Feed ------------


def check_read_back(fmt: Format, body: bytes, items: Sequence[Item]) -> None:
    """Each item's title, link, id and date reach a reader intact and in order.

    feedparser (6.0.x, the latest release) cannot read JSON Feed; its JSON is read as is.
    """
    if fmt is Format.JSON:
        entries = json.loads(body)["items"]
        assert [e["id"] for e in entries] == [item.id for item in items]
        for entry, item in zip(entries, items, strict=True):
            assert entry["title"] == item.title
            assert entry["url"] == as_uri(item.url)
            assert datetime.fromisoformat(entry["date_published"]) == item.published_at
        return
    parsed = feedparser.parse(body)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert [entry.id for entry in parsed.entries] == [item.id for item in items]
    for entry, item in zip(parsed.entries, items, strict=True):
        assert entry.title == item.title
        assert entry.link == as_uri(item.url)
        if fmt is Format.RSS:
            assert not entry.guidislink, "guid taken for a permalink"
        assert tuple(entry.published_parsed[:6]) == item.published_at.timetuple()[:6]
        if fmt is Format.ATOM:  # a story told more than once is updated by its newest telling
            assert tuple(entry.updated_parsed[:6]) == item.updated_at.timetuple()[:6]


def check_document(
    fmt: Format, body: bytes, url: str, items: Sequence[Item], *, strict_text: bool = True
) -> None:
    if fmt is Format.RSS:
        check_rss(body, url, strict_text=strict_text)
    elif fmt is Format.ATOM:
        check_atom(body, url, strict_text=strict_text)
    else:
        check_json(body, url)
    check_read_back(fmt, body, items)


def publication(corpus: Path, now: datetime = NOW) -> Publication:
    return Publication(load_corpus(corpus).items, Settings(corpus=corpus, base_url=BASE_URL), now)


DEFAULT = Params()


def check_publication(pub: Publication, params: Params = DEFAULT) -> int:
    """Check every feed of ``pub`` in every format; returns how many documents."""
    count = 0
    for spec in pub.catalogue:
        for fmt in FEED_FORMATS:
            count += 1
            _check_feed(pub, spec, fmt, params)
    return count


def _check_feed(pub: Publication, spec: FeedSpec, fmt: Format, params: Params = DEFAULT) -> None:
    document = pub.feed(spec, fmt, params)
    url = pub.url(spec.path(fmt)) + params.suffix()
    check_document(fmt, document.body, url, pub.items(spec, params))
    assert page_link(fmt, document.body) == pub.url(spec.path(Format.HTML)) + params.suffix()


def page_link(fmt: Format, body: bytes) -> str:
    """Where a feed says its web page is: the RSS channel's ``<link>``, the Atom
    ``rel="alternate" type="text/html"`` link, JSON Feed's ``home_page_url``."""
    if fmt is Format.JSON:
        return str(json.loads(body)["home_page_url"])
    root = etree.fromstring(body)
    if fmt is Format.RSS:
        return str(root.findtext("channel/link"))
    (href,) = root.xpath("a:link[@rel='alternate'][@type='text/html']/@href", namespaces={"a": ATOM})
    return str(href)


# -- the seeds -----------------------------------------------------------------------------

SEED_FEEDS = sorted(spec.path(fmt) for spec in publication(SEEDS).catalogue for fmt in FEED_FORMATS)


@pytest.mark.parametrize("path", SEED_FEEDS)
def test_seed_feed_is_valid(path: str) -> None:
    pub = publication(SEEDS)
    found = pub.catalogue.find(path)
    assert found is not None
    spec, fmt = found
    _check_feed(pub, spec, fmt)


def test_seed_feeds_cover_every_topic_in_every_format() -> None:
    pub = publication(SEEDS)
    topics = {topic.slug for topic in pub.selection.topics}
    assert topics, "the seeds have no published topic"
    for slug in ["all", *topics]:
        for fmt in FEED_FORMATS:
            assert f"/feeds/{slug}.{fmt.value}" in SEED_FEEDS


def test_seed_dates_are_plausible() -> None:
    """W3C ImplausibleDate: dates before 1990 or in the future are flagged."""
    pub = publication(SEEDS)
    for item in pub.selection.items:
        assert datetime(1990, 1, 1, tzinfo=UTC) <= item.published_at <= NOW


def test_feeds_with_parameters_are_valid() -> None:
    """The self link of a feed asked for with a query string is that URL, query and all."""
    pub = publication(SEEDS)
    assert check_publication(pub, Params(min_quality=10, limit=3)) == 3 * len(list(pub.catalogue))


# -- corpora made for the purpose ----------------------------------------------------------

HARD_TEXT = 'Tom & "Jerry" <b>bold AT&T &amp; &#x41; ]]> 😀 \u200fשלום\u200e <script>alert(1)'
"""Plain text that looks like markup: valid with no warning in every format."""
END_TAG_TEXT = "Why </p> closes a paragraph & <b>bold</b> does not"
"""Plain text with an HTML end tag: the W3C validator warns, whatever the encoding."""


def _rich_corpus(write_corpus: CorpusWriter) -> Path:
    related = {
        "title": "Also <i>this</i> & that",
        "webUrl": "https://other.example/story?a=1&b=2",
        "excerpt": "Related excerpt",
        "publishedDateTime": datetime(2024, 1, 1, tzinfo=UTC),
        "provider": {"name": "Other & Co", "domain": "other.example"},
        "images": [{"url": "https://other.example/pic.png", "width": 10, "height": 10}],
    }
    full = minimal_item(1) | {
        "title": "Full <story> & more",
        "excerpt": "An excerpt with <tags> & ampersands",
        "originalUrl": "https://news.example/full?x=1&y=2",
        "ampWebUrl": "https://news.example/full/amp",
        "cdnAmpWebUrl": "https://news-example.cdn.ampproject.org/c/s/news.example/full/amp",
        "heat": 90,
        "quality": 70,
        "category": "news",
        "type": "article",
        "provider": {
            "name": "News & Views",
            "domain": "news.example",
            "images": [{"url": "https://news.example/logo.svg"}],
        },
        "topics": ["AI", "Ethics & Law", "Россия"],
        "images": [
            {"url": "https://news.example/a.jpg", "width": 800, "height": 450},
            {"url": "https://news.example/b.webp", "width": 0},
            {"url": "https://news.example/no-extension"},
        ],
        "related": [related],
    }
    body = (
        "# Heading\n\nSome *text* with [a link](https://x.example/?a=1&b=2), "
        "[a relative one](/relative), [bad](javascript:alert(1)) and <script>alert(1)</script>.\n\n"
        '<img src=x onerror="alert(1)">\n\n![pic](https://x.example/p.png)\n\n```html\n<b>code</b>\n```\n'
    )
    files = {
        "full.md": item_text(full, body=body),
        "hard.txt": item_text(minimal_item(2), title=HARD_TEXT, excerpt=HARD_TEXT, topics=[HARD_TEXT]),
        "bare.txt": item_text(minimal_item(3), excerpt=None, provider=None, quality=None),
        "unicode.txt": item_text(
            minimal_item(4),
            webUrl="https://пример.example/путь/ü?q=ä|b[1]",
            provider={"name": "Пример", "domain": "пример.example"},
        ),
        "amp.txt": item_text(minimal_item(5), ampWebUrl="https://news.example/5/amp"),
    }
    return write_corpus(files)


def test_rich_corpus_is_valid(write_corpus: CorpusWriter) -> None:
    pub = publication(_rich_corpus(write_corpus))
    assert len(pub.selection.items) == 5
    assert check_publication(pub) == 3 * len(list(pub.catalogue))


def test_a_story_told_three_times_is_valid(write_corpus: CorpusWriter) -> None:
    """Its other tellings in the content of every format, markup and all, and no link twice."""
    two = {"title": "Two <b>tellings</b> & more", "webUrl": "https://news.example/2"}
    files = {
        "hot.md": item_text(
            minimal_item(1),
            title=HARD_TEXT,
            heat=90,
            provider={"name": "One & Co", "domain": "news.example"},
            related=[two, {"title": "Elsewhere & <i>after</i>", "webUrl": "https://other.example/?a=1&b=2"}],
            body="Some *text* & [a link](https://x.example/?a=1&b=2).",
        ),
        "two.txt": item_text(minimal_item(2), title=two["title"], provider={"name": "Two <Co>"}),
        "three.txt": item_text(
            minimal_item(3),
            excerpt=None,
            provider=None,
            related=[{"title": "One", "webUrl": "https://news.example/1"}],
        ),
    }
    pub = publication(write_corpus(files))
    [story] = pub.selection.items
    assert [other.url for other in story.coverage] == ["https://news.example/2", "https://news.example/3"]
    assert [other.url for other in story.related] == ["https://other.example/?a=1&b=2"]
    assert check_publication(pub) == 3 * len(list(pub.catalogue))


def test_text_with_html_end_tags(write_corpus: CorpusWriter) -> None:
    """Valid and read back exactly; only the validator's ContainsHTML warning remains,
    which no encoding avoids (it looks at the decoded text), short of changing the text."""
    corpus = write_corpus({"a.txt": item_text(minimal_item(1), title=END_TAG_TEXT, topics=[END_TAG_TEXT])})
    pub = publication(corpus)
    for spec in pub.catalogue:
        for fmt in FEED_FORMATS:
            body = pub.feed(spec, fmt).body
            check_document(fmt, body, pub.url(spec.path(fmt)), pub.items(spec), strict_text=False)
    rss = etree.fromstring(pub.feed(FeedSpec(), Format.RSS).body)
    title = rss.find("channel/item/title")
    assert plain_text_warning(title.text, "&#x3C;", rss=True) == "ContainsHTML"


def test_empty_corpus_gives_valid_empty_feeds(write_corpus: CorpusWriter) -> None:
    pub = publication(write_corpus({}))
    assert [spec.stem for spec in pub.catalogue] == ["/feeds/all", "/feeds/hot/all"]
    assert check_publication(pub) == 6


def test_empty_selection_gives_valid_empty_feeds() -> None:
    """A selection that matches nothing, in a corpus that has items."""
    pub = publication(SEEDS)
    assert check_publication(pub, Params(min_quality=1000)) == 3 * len(list(pub.catalogue))


@pytest.mark.parametrize("fmt", list(FEED_FORMATS))
def test_empty_feed_from_a_bare_channel(fmt: Format) -> None:
    url = f"{BASE_URL}feeds/empty.{fmt.value}"
    channel = Channel(
        id=url,
        title="Empty",
        description="Nothing yet.",
        home_url=BASE_URL,
        self_link=Link(url, fmt.media_type),
        updated=datetime(1970, 1, 1, tzinfo=UTC),
    )
    check_document(fmt, build(fmt, channel, []), url, [])


def test_item_of_the_distant_past_and_future(write_corpus: CorpusWriter) -> None:
    """Four-digit years at both ends, in every format (the validator would only call them
    implausible)."""
    corpus = write_corpus(
        {
            "old.txt": item_text(minimal_item(1), heat=90, publishedDateTime="1000-01-01T00:00:00Z"),
            "far.txt": item_text(minimal_item(2), heat=90, publishedDateTime="9999-12-31T23:59:59Z"),
        }
    )
    pub = publication(corpus, now=datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC))
    for spec in pub.catalogue:
        for fmt in FEED_FORMATS:
            items = pub.items(spec)
            assert len(items) == 2
            check_document(fmt, pub.feed(spec, fmt).body, pub.url(spec.path(fmt)), items)


def test_checks_catch_what_they_claim_to() -> None:
    """The checks above fail on the faults they look for (a check that cannot fail proves
    nothing)."""
    assert plain_text_warning("AT&amp;T", "<title>AT&amp;amp;T</title>", rss=True) == "ContainsHTML"
    assert plain_text_warning("AT&amp;T", "<title>AT&#x26;amp;T</title>", rss=True) is None
    assert plain_text_warning("a <b", "<title>a &lt;b</title>", rss=True) == "CharacterData"
    assert plain_text_warning("a <b", "<title>a &#x3C;b</title>", rss=True) is None
    assert plain_text_warning("use </p>", "<title>use &#x3C;/p></title>", rss=True) == "ContainsHTML"
    assert plain_text_warning("AT&T", "<title>AT&amp;T</title>", rss=True) is None
    with pytest.raises(AssertionError):
        assert_safe_html('<a href="javascript:alert(1)">x</a>', "test")
    with pytest.raises(AssertionError):
        assert_safe_html('<img src="https://x/y.png" onerror="alert(1)">', "test")
    with pytest.raises(AssertionError):
        assert_safe_html('<a href="/relative">x</a>', "test")
    with pytest.raises(AssertionError):
        assert_safe_html("<script>alert(1)</script>", "test")
    with pytest.raises(AssertionError):
        assert_rfc822("Fri, 03 Feb 23 12:51:00 +0000", "two-digit year")
    with pytest.raises(AssertionError):
        assert_rfc822("Sat, 03 Feb 2023 12:51:00 +0000", "wrong weekday")
    with pytest.raises(AssertionError):
        assert_uri("https://example.com/ü", "IRI")
    body = build(Format.RSS, _channel(Format.RSS), [])
    with pytest.raises(AssertionError, match="self link"):
        check_rss(body, f"{BASE_URL}elsewhere.rss")
    atom = build(Format.ATOM, _channel(Format.ATOM), [])
    with pytest.raises(AssertionError):
        check_atom(atom.replace(b"<id>", b"<ID>").replace(b"</id>", b"</ID>"), f"{BASE_URL}feeds/x.atom")
    with pytest.raises(jsonschema.ValidationError):
        check_json(b'{"version": "https://jsonfeed.org/version/1.1", "title": "x"}\n', "x")
    with pytest.raises(jsonschema.ValidationError):
        check_json(
            b'{"version": "https://jsonfeed.org/version/1.1", "title": "x", "items": [{"id": "1"}]}\n', "x"
        )


def _channel(fmt: Format) -> Channel:
    url = f"{BASE_URL}feeds/x.{fmt.value}"
    return Channel(
        id=url,
        title="X",
        description="X.",
        home_url=BASE_URL,
        self_link=Link(url, fmt.media_type),
        updated=NOW - timedelta(days=1),
    )
