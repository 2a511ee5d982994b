"""Fuzzing the corpus reader and, through it, the three builders.

The reader takes arbitrary bytes and arbitrary YAML-ish front matter and gives an Item or
an ItemError, never anything else. Whole items (every field, several per feed, related
stories, images, bodies) generated as front matter, read by the reader and built into RSS,
Atom and JSON Feed give documents that parse (lxml, the Atom RELAX NG grammar, the JSON
Feed schema, feedparser with bozo 0) and carry each item's fields exactly, in order.

``test_properties.py`` covers one item's title, excerpt, topics and provider, dates and
body safety; this file goes beyond: bytes, YAML syntax, many items, all fields.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import feedparser
import yaml
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from lxml import etree
from lxml import html as lxml_html

from feeds.builders import FEED_FORMATS, Format, build
from feeds.builders.uri import as_uri
from feeds.corpus import parse_item
from feeds.errors import ItemError
from feeds.model import UNSCORED, Channel, Item, Link
from tests.hostile import xml_clean
from tests.test_feed_validity import check_atom, check_json, check_rss

BASE_URL = "http://feeds.test/"
A = "{http://www.w3.org/2005/Atom}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"
MEDIA = "{http://search.yahoo.com/mrss/}content"
DC_CREATOR = "{http://purl.org/dc/elements/1.1/}creator"
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_FORBIDDEN = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

READER = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
BUILDERS = settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def read(data: bytes) -> Item | None:
    """The reader's answer, which must be an Item or an ItemError (returned as None)."""
    try:
        item = parse_item(data, "fuzz.txt")
    except ItemError as err:
        assert str(err).startswith("fuzz.txt") and "\n" not in err.message, str(err)
        return None
    assert isinstance(item, Item)
    return item


def assert_sound(item: Item) -> None:
    """What every item the reader makes holds, whatever the input."""
    texts = [item.title, item.excerpt, item.category or "", item.type or "", item.body or "", *item.topics]
    if item.provider:
        texts.append(item.provider.name)
    texts += [text for story in item.related for text in (story.title, story.excerpt)]
    for text in texts:
        assert not _FORBIDDEN.search(text), text
    assert item.title.strip() == item.title and item.title
    assert item.url.lower().startswith(("http://", "https://"))
    assert item.published_at.tzinfo is UTC and item.published_at.year >= 1000
    assert item.heat >= UNSCORED and (item.quality is None or item.quality >= 0)
    keys = [topic.casefold() for topic in item.topics]
    assert len(keys) == len(set(keys)) and all(topic.strip() == topic and topic for topic in item.topics)
    assert item.id.startswith("urn:uuid:")


# -- the reader on arbitrary input ---------------------------------------------------------

_BYTES = st.one_of(
    st.binary(max_size=3000),
    st.builds(
        lambda bom, front, body, crlf: (bom + b"---\n" + front + b"\n---\n" + body).replace(b"\n", crlf),
        st.sampled_from([b"", b"\xef\xbb\xbf", b"\xff\xfe"]),
        st.binary(max_size=600),
        st.binary(max_size=200),
        st.sampled_from([b"\n", b"\r\n", b"\r"]),
    ),
)


@READER
@given(data=_BYTES)
@example(data=b"---\ntitle: t\npublishedDateTime: 2024-01-01\nwebUrl: https://a.example/\n---\n")
@example(data=b"\xef\xbb\xbf---\r\ntitle: \xff\r\n---\r\n")
def test_any_bytes_give_an_item_or_an_item_error(data: bytes) -> None:
    item = read(data)
    if item is not None:
        assert_sound(item)


# A grammar of YAML-ish front matter: the right keys often, plausible values, and every
# construct YAML has (anchors, aliases, tags, flow and block collections, escapes,
# block scalars, directives, comments), nested and mixed at random.
_KNOWN_KEYS = st.sampled_from(
    [
        "title", "excerpt", "publishedDateTime", "originalUrl", "webUrl", "ampWebUrl", "cdnAmpWebUrl",
        "category", "type", "quality", "heat", "published", "provider", "topics", "images", "related",
        "secured", "name", "domain", "url", "width", "height", "isCached",
    ]
)  # fmt: skip
_ODD_KEYS = st.sampled_from(
    ["unknown", "<b>", "k k", "", "? x", "- y", "'q'", '"d"', "1", "true", "null", "~", "&a", "*a", "!!str",
     "#c", "ключ", "\u202e"]
)  # fmt: skip
_KEYS = st.one_of(_KNOWN_KEYS, _KNOWN_KEYS, _KNOWN_KEYS, _ODD_KEYS)
"""Mostly the keys of the format, so that many inputs get as far as validation."""
_SCALARS = st.one_of(
    st.sampled_from(
        [
            "2024-01-01",
            "2024-01-01T12:00:00Z",
            "2024-01-01 12:00:00 -5",
            "2024-02-30",
            "9999-12-31T23:59:59-01:00",
            "0999-01-01",
            "1969-12-31T23:59:59Z",
            "2023-02-03T12:51:00.123456789Z",
            "https://a.example/x",
            "http://[::1]/",
            "javascript:alert(1)",
            "https://a.example:99999/",
            "-1",
            "0",
            "100",
            "0x1F",
            "0o17",
            "1_000",
            "1:30",
            ".inf",
            "-.inf",
            ".nan",
            "1e3",
            "1.5",
            "yes",
            "no",
            "on",
            "off",
            "true",
            "False",
            "~",
            "null",
            "",
            "''",
            '""',
            '"\\ud800"',
            '"\\U00110000"',
            '"\\x00\\x85\\u2028\\e\\N\\_\\L\\P"',
            "'it''s'",
            '"unterminated',
            "|\n  block\n  text",
            ">-\n  folded\n  text",
            "[a, b, [c]]",
            "{a: 1, b: [2]}",
            "*a",
            "&a x",
            "!!str 5",
            "!!float 1",
            "!!null x",
            "!!seq [a]",
            "!!map {a: b}",
            "!!set {a}",
            "!!binary aGk=",
            "!!python/name:os.system",
            "!local x",
            "!<tag:x> y",
            "# comment",
            "a: b: c",
            "- a",
            "? a",
            "%YAML 1.1",
            "---",
            "...",
            "\t",
            "<script>alert(1)</script>",
            "]]>",
            "a\x00b",
            "a\x85b",
            "\u202eevil",
            "\ufeff",
        ]
    ),  # fmt: skip
    st.text(st.characters(exclude_categories=["Cs"]), max_size=12),
    st.integers(-(10**20), 10**20).map(str),
)


_WORDS = st.one_of(
    st.sampled_from(
        ["news", "AI", "Space", "Ünïcode", "<b>x</b>", "]]>", "a&b", "\u202eevil", "https://a.example/"]
    ),
    st.integers(-1, 200).map(str),
)
"""Scalars that are valid almost anywhere, flow collections included."""


def _flow(values: Any) -> Any:
    return st.one_of(
        st.lists(values, max_size=4).map(lambda vs: "[" + ", ".join(vs) + "]"),
        st.lists(st.tuples(_KEYS, values), max_size=4).map(
            lambda kv: "{" + ", ".join(f"{k}: {v}" for k, v in kv) + "}"
        ),
    )


_FLOW = st.recursive(st.one_of(_WORDS, _WORDS, _SCALARS), _flow, max_leaves=10)
_VALUES = st.one_of(
    _SCALARS,
    _FLOW,
    st.lists(_FLOW, min_size=1, max_size=3).map(lambda vs: "".join(f"\n  - {v}" for v in vs)),
    st.lists(st.tuples(_KEYS, _FLOW), min_size=1, max_size=3).map(
        lambda kv: "".join(f"\n  {k}: {v}" for k, v in kv)
    ),
)
"""A value: a scalar, a flow collection, or a block sequence or mapping of them."""
_PAIR = st.tuples(_KEYS, _VALUES).map(lambda kv: f"{kv[0]}: {kv[1]}")
_TAGGED = st.builds(
    lambda key, tag, value: f"{key}: {tag} {value}",
    _KEYS,
    st.sampled_from(["!!str", "!!null", "!!seq", "!!map", "!!python/object:x", "!x"]),
    _SCALARS,
)
_URLS = st.sampled_from(
    ["https://a.example/x", "http://b.example:8080/y?q=1#f", "https://пример.рф/п", "'https://c.example/<b>'"]
)
_DATES = st.sampled_from(
    ["2024-01-01", "1969-07-20 20:17:40 -5", "'2024-02-03T12:51:00+05:30'", "2999-01-01"]
)


def _flow_list(items: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.lists(items, max_size=3).map(lambda values: "[" + ", ".join(values) + "]")


_IMAGE = st.builds("{{url: {}, width: {}}}".format, _URLS, _WORDS)
_RELATED = st.builds("\n  - title: {}\n    webUrl: {}".format, _WORDS, _URLS)
_PLAUSIBLE = st.one_of(
    st.tuples(st.sampled_from(["title", "excerpt", "category", "type"]), st.one_of(_WORDS, _SCALARS)),
    st.tuples(st.sampled_from(["heat", "quality"]), st.integers(-2, 10**6).map(str)),
    st.tuples(st.sampled_from(["webUrl", "originalUrl", "ampWebUrl"]), _URLS),
    st.tuples(st.just("publishedDateTime"), _DATES),
    st.tuples(st.just("topics"), _flow_list(st.one_of(_WORDS, _SCALARS))),
    st.tuples(st.just("provider"), st.builds("{{name: {}, domain: {}}}".format, _WORDS, _WORDS)),
    st.tuples(st.just("images"), _flow_list(_IMAGE)),
    st.tuples(st.just("related"), st.lists(_RELATED, max_size=3).map("".join)),
).map(": ".join)
"""A key of the format with a value of about the right kind."""
_LINES = st.lists(st.one_of(_PLAUSIBLE, _PLAUSIBLE, _PLAUSIBLE, _PAIR, _TAGGED, _SCALARS), max_size=6)
_BASE = [
    "title: Fuzzed",
    "publishedDateTime: 2024-01-01T00:00:00Z",
    "webUrl: https://fuzz.example/item",
    "published: true",
]


@READER
@given(lines=_LINES, keep_base=st.sampled_from([True, True, True, False]), body=st.text(max_size=50))
@example(lines=["topics: [a, A, ' a ', '']", "heat: 1:30", "images: [{url: x}]"], keep_base=True, body="")
@example(lines=["related: [{title: t, webUrl: 'javascript:x'}, 7]"], keep_base=True, body="b")
@example(
    lines=["provider: {name: p, images: [{url: 'https://a.example/i.png', width: -1}]}"],
    keep_base=True,
    body="",
)
def test_yamlish_front_matter_gives_an_item_or_an_item_error(
    lines: list[str], keep_base: bool, body: str
) -> None:
    """And an item, when it comes, builds into three valid documents."""
    front = (_BASE if keep_base else []) + lines
    data = ("---\n" + "\n".join(front) + "\n---\n" + body).encode("utf-8", "surrogatepass")
    item = read(data)
    event("an item" if item is not None else "an error")
    if item is not None:
        assert_sound(item)
        documents([item])


@settings(max_examples=100, deadline=None)
@given(tag=st.sampled_from(["!!int", "!!float", "!!bool", "!!null", "!!str", "!!timestamp"]), value=_SCALARS)
@example(tag="!!timestamp", value="yesterday")
@example(tag="!!bool", value="maybe")
@example(tag="!!int", value="''")
@example(tag="!!float", value="''")
def test_plain_type_tags_on_any_scalar_give_an_item_or_an_item_error(tag: str, value: str) -> None:
    for key in ("heat", "published", "publishedDateTime", "category"):
        lines = [line for line in _BASE if not line.startswith(key)] + [f"{key}: {tag} {value}"]
        read(("---\n" + "\n".join(lines) + "\n---\n").encode("utf-8", "surrogatepass"))


# -- whole items through the reader and the builders ----------------------------------------

_FRAGMENTS = [
    "<", ">", "&", "]]>", "<![CDATA[", "&amp;", "&#x26;", "<script>alert(1)</script>", '"', "'", "\\",
    "\u202e", "\u2066", "\u200f", "😀", "\x00", "\x07", "\x1b", "\x7f", "\x80", "\x9f", "\ufffe", "\ufeff",
    "\u2028", "\u00a0", "\t", "\n", "{{ 7*7 }}", "%s", "${x}", "---", "...", "# ", "- ", ": ",
]  # fmt: skip
TEXT = st.one_of(
    st.text(st.characters(exclude_categories=["Cs"]), max_size=20),
    st.lists(st.one_of(st.sampled_from(_FRAGMENTS), st.text(max_size=3)), max_size=8).map("".join),
).filter(lambda text: not re.search("[\ud800-\udfff]", text))
"""Any text but lone surrogates (which YAML cannot carry; see test_properties)."""
NAME = TEXT.map(lambda text: "N " + text)
"""Text that is never empty once cleaned."""
PLAIN = st.text(
    st.characters(categories=("L", "N"), include_characters=" <>\"'&;/=%$"),
    max_size=60,
)
"""Body text that Markdown leaves as it is, markup characters included (raw HTML is off)."""
PATH = st.text(st.characters(exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp", "Cn", "Co")), max_size=15)
IMAGE_PATH = st.sampled_from(["a.jpg", "b.PNG", "c.gif?x=1", "d", "e.webp#f", "ф.jpeg"])


def _url(host: str) -> st.SearchStrategy[str]:
    return st.builds(
        lambda scheme, path: f"{scheme}://{host}/{path}", st.sampled_from(["http", "https"]), PATH
    )


@st.composite
def fronts(draw: st.DrawFn, n: int) -> tuple[dict[str, Any], str]:
    """The front matter of item ``n`` with every field drawn, and a body."""
    # A host of its own, so that no two items are one story. (Not an IPv6 literal: the
    # reader takes one, but the W3C validator's URI rule, which test_feed_validity follows,
    # predates them.)
    hosts = [
        f"item{n}.example",
        f"item{n}.пример.example",
        f"item{n}.example:8080",
        f"xn--bcher-kva.item{n}.example",
    ]
    host = draw(st.sampled_from(hosts))
    front: dict[str, Any] = {
        "title": draw(NAME),
        "publishedDateTime": draw(
            st.datetimes(datetime(1970, 1, 1), datetime(2100, 1, 1), timezones=st.just(UTC))
        ),
        "webUrl": draw(_url(host)),
        "published": draw(st.booleans()),
    }
    optional: dict[str, st.SearchStrategy[Any]] = {
        "originalUrl": _url(host),
        "excerpt": TEXT,
        "category": TEXT,
        "type": TEXT,
        "heat": st.integers(-1, 10**6),
        "quality": st.integers(0, 10**6),
        "topics": st.lists(TEXT, max_size=4),
        "provider": st.fixed_dictionaries(
            {"name": NAME},
            optional={
                "domain": st.sampled_from(["p.example", "пример.рф", "bad domain", "<b>"]),
                "images": st.lists(st.fixed_dictionaries({"url": _url("logo.example")}), max_size=2),
            },
        ),
        "images": st.lists(
            st.fixed_dictionaries(
                {"url": IMAGE_PATH.map(lambda p: f"https://img.example/{p}")},
                optional={
                    "width": st.integers(0, 5000),
                    "height": st.integers(0, 5000),
                    "isCached": st.booleans(),
                },
            ),
            max_size=3,
        ),
        "related": st.lists(
            st.fixed_dictionaries(
                {"title": NAME, "webUrl": _url(f"related{n}.example")},
                optional={
                    "excerpt": TEXT,
                    "quality": st.integers(0, 100),
                    "type": TEXT,
                    "provider": st.fixed_dictionaries({"name": NAME}),
                },
            ),  # fmt: skip
            max_size=3,
        ),
        "secured": st.text(max_size=20),
    }
    for key, strategy in optional.items():
        if draw(st.booleans()):
            front[key] = draw(strategy)
    body = draw(st.one_of(st.just(""), PLAIN, TEXT))
    return front, body


def dump(front: dict[str, Any], body: str) -> bytes:
    text = yaml.dump(front, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=1 << 30)
    return f"---\n{text}---\n{body}".encode()


def as_yaml_reads_it(value: Any) -> Any:
    """``value`` after a trip through YAML, which folds some line breaks (NEL, LS, CR)."""
    return yaml.load(yaml.dump({"v": value}, Dumper=_Dumper, allow_unicode=True), Loader=_Loader)["v"]


def url_of(fmt: Format) -> str:
    return f"{BASE_URL}feeds/fuzz.{fmt.value}"


def documents(items: list[Item]) -> dict[Format, bytes]:
    """RSS, Atom and JSON Feed of ``items``, each checked valid and read back by feedparser."""
    built = {}
    for fmt in FEED_FORMATS:
        channel = Channel(
            id=url_of(fmt),
            title="Fuzz",
            description="Generated.",
            home_url=BASE_URL,
            self_link=Link(url_of(fmt), fmt.media_type),
            updated=max(item.updated_at for item in items),
            alternates=tuple(
                Link(url_of(other), other.media_type) for other in FEED_FORMATS if other is not fmt
            ),
        )
        built[fmt] = build(fmt, channel, items)
    check_rss(built[Format.RSS], url_of(Format.RSS), strict_text=False)
    check_atom(built[Format.ATOM], url_of(Format.ATOM), strict_text=False)
    check_json(built[Format.JSON], url_of(Format.JSON))
    for fmt in (Format.RSS, Format.ATOM):
        parsed = feedparser.parse(built[fmt])
        assert parsed.bozo == 0, parsed.get("bozo_exception")
        assert [entry.id for entry in parsed.entries] == [item.id for item in items]
        assert [entry.link for entry in parsed.entries] == [as_uri(item.url) for item in items]
    return built


def html_links(markup: str) -> list[tuple[str, str]]:
    """``(href, text)`` of every link in an HTML fragment."""
    if not markup.strip():
        return []
    root = lxml_html.fragment_fromstring(markup, create_parent="div")
    return [(a.get("href"), a.text_content()) for a in root.iter("a")]


def html_text(markup: str) -> str:
    return " ".join(lxml_html.fragment_fromstring(markup, create_parent="div").text_content().split())


@BUILDERS
@given(drawn=st.integers(1, 3).flatmap(lambda k: st.tuples(*(fronts(n) for n in range(k)))))
def test_whole_items_through_the_reader_and_all_three_builders(
    drawn: tuple[tuple[dict[str, Any], str], ...],
) -> None:
    items = []
    for front, body in drawn:
        item = parse_item(dump(front, body), "fuzz.txt")
        assert_sound(item)
        # The reader keeps the text it was given, less what XML forbids.
        assert item.title == xml_clean(as_yaml_reads_it(front["title"])).strip()
        assert item.excerpt == xml_clean(as_yaml_reads_it(front.get("excerpt", ""))).strip()
        assert item.url == front.get("originalUrl", front["webUrl"])
        assert item.published == front["published"]
        assert len(item.related) == len(front.get("related", []))
        assert len(item.images) == len(front.get("images", []))
        if is_plain(body):
            assert item.body == (body.strip("\n") if body.strip() else None)
        items.append(item)
    built = documents(items)

    channel = etree.fromstring(built[Format.RSS]).find("channel")
    rss_items = channel.findall("item")
    atom_entries = etree.fromstring(built[Format.ATOM]).findall(f"{A}entry")
    json_items = json.loads(built[Format.JSON])["items"]
    assert len(rss_items) == len(atom_entries) == len(json_items) == len(items)
    for item, rss, atom, entry in zip(items, rss_items, atom_entries, json_items, strict=True):
        # identity, link and text, in the order given
        assert rss.findtext("guid") == atom.findtext(f"{A}id") == entry["id"] == item.id
        link = as_uri(item.url)
        assert rss.findtext("link") == entry["url"] == link
        assert [
            a.get("href") for a in atom.findall(f"{A}link") if a.get("rel", "alternate") == "alternate"
        ] == [link]
        assert rss.findtext("title") == atom.findtext(f"{A}title") == entry["title"] == item.title
        assert entry.get("summary", "") == item.excerpt
        assert [c.text for c in rss.findall("category")] == [
            c.get("term") for c in atom.findall(f"{A}category")
        ]
        assert [c.text for c in rss.findall("category")] == entry.get("tags", []) == list(item.topics)
        # the extension object holds what JSON Feed has no field for
        extension = entry.get("_feeds", {})
        assert extension.get("heat", UNSCORED) == item.heat
        assert extension.get("quality") == item.quality
        assert extension.get("category") == item.category and extension.get("type") == item.type
        # provider
        name = item.provider.name if item.provider else None
        assert rss.findtext(DC_CREATOR) == atom.findtext(f"{A}author/{A}name") == name
        assert (entry["authors"][0]["name"] if "authors" in entry else None) == name
        # images: all of them in RSS, Atom and the extension; the first as JSON's image
        urls = [as_uri(image.url) for image in item.images]
        assert [m.get("url") for m in rss.findall(MEDIA)] == urls
        assert [a.get("href") for a in atom.findall(f"{A}link") if a.get("rel") == "enclosure"] == urls
        assert [image["url"] for image in extension.get("images", [])] == urls
        assert entry.get("image") == (urls[0] if urls else None)
        # related stories: Atom links, JSON extension, and an HTML list in RSS
        related = [(as_uri(story.url), story.title) for story in item.related]
        atom_related = [
            (a.get("href"), a.get("title")) for a in atom.findall(f"{A}link") if a.get("rel") == "related"
        ]
        assert atom_related == related
        assert [(story["url"], story["title"]) for story in extension.get("related", [])] == related
        rss_html = (rss.findtext("description") or "") + (rss.findtext(CONTENT) or "")
        # The list of related stories ends the HTML; its text is read with line breaks
        # normalised (CR LF and CR become LF), as HTML is.
        shown = [(url, " ".join(title.split())) for url, title in related]
        links = [(url, " ".join(text.split())) for url, text in html_links(rss_html)]
        assert links[len(links) - len(shown) :] == shown
        # the body: rendered once, the same in every format; plain text comes through as it was
        if item.body is None:
            assert "content_html" not in entry and atom.find(f"{A}content") is None
        else:
            assert atom.findtext(f"{A}content") == entry["content_html"]
            assert (rss.findtext(CONTENT) or rss.findtext("description") or "").startswith(
                entry["content_html"]
            )
            if is_plain(item.body):
                assert html_text(entry["content_html"]) == " ".join(item.body.split())


PLAIN_BODY = re.compile(r"[^\w <>\"'&;/=%$]|_|&\w|&#|^\s*>")
"""What a body must not hold for its rendered text to equal it: Markdown syntax (a leading
``>`` quotes) and entities."""


def is_plain(body: str) -> bool:
    return bool(body.strip()) and not PLAIN_BODY.search(body)
