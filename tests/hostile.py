"""The hostile corpus: item files that careless or malicious tools could write, generated.

``cases()`` returns every case: a file name, a category, the bytes (or a symlink, a FIFO,
a folder, a sparse file) and what the reader should make of it. ``write(root)`` writes
them under ``root``, and the files their symlinks point to beside it, in
``<root>-outside/`` (a corpus cannot hold what lies outside it). From a shell::

    python -m tests.hostile OUT

Nothing is random: the same cases and the same bytes every time. The wrong-type cases are
generated from the fields of :func:`base_front`, a full item, so a field added there gets
its wrong types too.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml

MAX_FILE_BYTES = 1 << 20
"""The corpus reader's bound on a file (feeds.corpus.MAX_FILE_BYTES), restated: the
cases are built around it, not from it."""

Expect = Literal["item", "error", "either", "duplicate", "absent"]
"""What loading a case gives: an item; an error naming the file and no item; one of those;
no item and a warning that names the copy used instead; or nothing at all (not an item file)."""

Node = Literal["file", "symlink", "fifo"]

OUTSIDE_SECRET = "OUTSIDE-CANARY-7c1d"
"""The title of the valid item outside the corpus that symlinks point to."""
PWNED = ("hostile-pwned-mkdir", "hostile-pwned-exec", "hostile-pwned-verbatim", "hostile-pwned-new")
"""What an object-constructing tag would create in the reader's working folder."""

MARKUP = (
    '<script>alert("x")</script><img src=x onerror=alert(1)>"\'><b>b</b>&amp;&lt;&#x26;&#0;'
    "{{ 7*191 }}{% if 1 %}jinja{% endif %}<!--c--><?php echo 1 ?>"
    '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>&e;</title></channel></rss>"}],"x":{"'
)
CDATA = "a]]>b<![CDATA[c]]>d]]]]><![CDATA[>e]]>"
BIDI = "\u202eevil\u202c \u2066iso\u2069 \u2067rtl\u2069 \u200fmark \u061calm \u202dlro\u202c"
CONTROLS = "".join(chr(c) for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F]) + "".join(
    chr(c) for c in range(0x80, 0xA0) if c != 0x85
)
"""C0 controls (not tab, LF, CR), DEL and C1 controls but NEL (a YAML line break)."""
NONCHARACTERS = "\ufffe\uffff"

TEXT_FIELDS = (
    "title", "excerpt", "category", "type", "provider.name", "provider.domain", "topics[0]",
    "related[0].title", "related[0].excerpt", "related[0].type", "related[0].provider.name", "body",
)  # fmt: skip
"""Every text field of an item file, as a path into its front matter (``body`` is the body)."""

URL_FIELDS = (
    "webUrl", "ampWebUrl", "cdnAmpWebUrl", "images[0].url", "provider.images[0].url",
    "related[0].webUrl", "related[0].images[0].url", "related[0].provider.images[0].url",
)  # fmt: skip

HOSTILE_URLS = (
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,<script>alert(1)</script>",
    "file:///etc/passwd", 'https://x.example/"><script>alert(1)</script>', "https://x.example/]]><![CDATA[",
    "https://x.example/\u202egnp.exe", "https://user:p%40ss@x.example/", "https://x.example:99999/",
    "https://[::1/", "http:///nohost", "//x.example/rel", "/relative", "https://x.example/a b",
    "https://x.example/\x00nul", "https://пример.испытание/путь?q=ü#ф", "https://x.example/{{7*191}}",
    "https://x.example/%ZZ", "https://x.example/" + "a" * 10_000,
)  # fmt: skip

_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's: megabytes of text in no time

_XML_CHAR = re.compile("[\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_clean(text: str) -> str:
    """``text`` without the characters XML 1.0 forbids (what the reader removes)."""
    return "".join(ch for ch in text if _XML_CHAR.fullmatch(ch))


@dataclass(frozen=True)
class Case:
    name: str
    """Path of the file relative to the corpus root; may hold any character but ``/`` parts."""
    category: str
    data: bytes = b""
    node: Node = "file"
    target: str | None = None
    """For a symlink: where it points. ``{outside}`` is the outside folder, ``{up}`` the
    ``../`` steps from the link's folder to the folder holding the corpus."""
    size: int | None = None
    """Extend the file (sparsely) to this many bytes."""
    expect: Expect = "either"
    mention: str | None = None
    """A word the error message must hold (the field at fault), if the file is rejected."""
    fields: dict[str, Any] = field(default_factory=dict)
    """Expected values of the item's attributes, by path (``related[0].provider.name``)."""


# -- building item files ----------------------------------------------------------------


def story_url(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return f"https://hostile.example/{slug}"


def base_front(name: str, category: str) -> dict[str, Any]:
    """A valid item using every field of the format, published, with its own URL."""
    url = story_url(name)
    return {
        "category": "news",
        "title": f"Hostile {name}",
        "excerpt": f"Excerpt of {name}.",
        "publishedDateTime": "2024-05-01T12:00:00Z",
        "originalUrl": url,
        "webUrl": url,
        "ampWebUrl": url + "?amp=1",
        "cdnAmpWebUrl": "https://hostile-example.cdn.ampproject.org/c/s/hostile.example/amp",
        "type": "article",
        "quality": 50,
        "heat": 10,
        "published": True,
        "provider": {
            "name": "Provider",
            "domain": "provider.example",
            "images": [{"url": "https://provider.example/logo.png", "width": 50, "height": 50}],
        },
        "topics": [f"Hostile {category}"],
        "images": [{"url": "https://img.example/a.jpg", "width": 640, "height": 480, "isCached": True}],
        "related": [
            {
                "title": "Related story",
                "excerpt": "Related excerpt.",
                "publishedDateTime": "2024-04-30T00:00:00Z",
                "webUrl": "https://related.example/1",
                "type": "article",
                "provider": {
                    "name": "Related provider",
                    "domain": "related.example",
                    "images": [{"url": "https://related.example/logo.png", "width": 10, "height": 10}],
                },
                "quality": 40,
                "images": [
                    {"url": "https://related.example/i.png", "width": 1, "height": 1, "isCached": False}
                ],
            }
        ],
        "secured": "SECURED-HOSTILE-BLOB",
    }


def dump(front: dict[str, Any], body: str = "") -> str:
    text = yaml.dump(front, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=1 << 30)
    return f"---\n{text}---\n{body}"


def item_bytes(front: dict[str, Any], body: str = "") -> bytes:
    return dump(front, body).encode("utf-8")


def raw_item(name: str, category: str, *lines: str, body: str = "", url: str | None = None) -> str:
    """An item file with hand-written front matter ``lines`` after a minimal valid head."""
    head = [
        "publishedDateTime: 2024-05-01T12:00:00Z",
        f"webUrl: {url or story_url(name)}",
        "published: true",
        f"topics: [Hostile {category}]",
    ]
    keys = {line.split(":", 1)[0] for line in lines}
    kept = [line for line in head if line.split(":", 1)[0] not in keys]
    if not any(line.startswith("title:") for line in lines):
        kept.insert(0, f"title: Hostile {name}")
    return "---\n" + "".join(f"{line}\n" for line in (*kept, *lines)) + "---\n" + body


def field_paths(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every field of a front matter (containers too), as ``(path, value)``."""
    if isinstance(value, dict):
        for key, inner in value.items():
            path = f"{prefix}.{key}" if prefix else key
            yield path, inner
            yield from field_paths(inner, path)
    elif isinstance(value, list) and value:
        path = f"{prefix}[0]"
        yield path, value[0]
        yield from field_paths(value[0], path)


_STEP = re.compile(r"(\w+)|\[(\d+)\]")


def set_path(front: dict[str, Any], path: str, value: Any, *, delete: bool = False) -> None:
    steps = [name or int(index) for name, index in _STEP.findall(path)]
    node: Any = front
    for step in steps[:-1]:
        node = node[step]
    if delete:
        del node[steps[-1]]
    else:
        node[steps[-1]] = value


def get_path(obj: Any, path: str) -> Any:
    """Follow ``a.b[0].c`` through attributes (or keys) of ``obj``."""
    for name, index in _STEP.findall(path):
        if name:
            obj = obj[name] if isinstance(obj, dict) else getattr(obj, name)
        else:
            obj = obj[int(index)]
    return obj


MODEL_PATHS = {"webUrl": "web_url", "ampWebUrl": "amp_url", "cdnAmpWebUrl": "cdn_amp_url"}
"""Front matter paths whose attribute in the model has another name (else the same path)."""


def model_path(path: str) -> str:
    path = MODEL_PATHS.get(path, path)
    return path.replace("related[0].webUrl", "related[0].url")


WRONG: dict[str, Any] = {
    "number": 7,
    "float": 2.5,
    "boolean": True,
    "null": None,
    "text": "text",
    "list": ["x"],
    "mapping": {"k": "v"},
    "date": date(2024, 1, 1),
    "empty-text": "",
    "empty-list": [],
    "empty-mapping": {},
    "huge": 10**40,
    "negative": -7,
}
_EDGE = {"empty-text": str, "empty-list": list, "empty-mapping": dict, "huge": int, "negative": int}
"""Wrong values of the field's own type: kept only for fields of that type."""


def _with_text(path: str, value: str, category: str, name: str) -> Case:
    """A case with ``value`` in the text field ``path`` (``body`` is the body)."""
    front = base_front(name, category)
    body = ""
    if path == "body":
        body = value
    else:
        set_path(front, path, value)
    return Case(name, category, item_bytes(front, body))


# -- the categories -----------------------------------------------------------------------


def _text_payloads() -> Iterator[Case]:
    """Markup, ``]]>``, right-to-left overrides and controls in every text field."""
    for category, payload in (("markup", MARKUP), ("cdata", CDATA), ("bidi", BIDI)):
        for path in TEXT_FIELDS:
            name = f"{category}/{path}.txt"
            text = f"{category} {payload} end"
            case = _with_text(path, text, category, name)
            yield Case(case.name, category, case.data, expect="item", fields={model_path(path): text})
    for path in TEXT_FIELDS:
        # Escaped by the YAML dumper (in double quotes): \0, \x1b, \x80, \ufffe, ...
        text = f"controls a{CONTROLS}{NONCHARACTERS}\u2028b end"
        name = f"controls/escaped-{path}.txt"
        case = _with_text(path, text, "controls", name)
        expected = xml_clean(text)
        if path.startswith("topics"):
            expected = re.sub(r"\s+", " ", expected)
        yield Case(name, "controls", case.data, expect="item", fields={model_path(path): expected})
    for path in ("title", "excerpt", "body"):
        # Raw in the file: those XML forbids go silently; DEL and C1 with a warning.
        raw = f"raw a{CONTROLS}{NONCHARACTERS}b end"
        name = f"controls/raw-{path}.txt"
        if path == "body":
            text = raw_item(name, "controls", body=raw)
            expected = xml_clean(raw)
        else:
            text = raw_item(name, "controls", f'{path}: "{raw}"')
            expected = "raw ab end"
        yield Case(name, "controls", text.encode(), expect="item", fields={path: expected})
    yield Case(
        "controls/nul-bytes.txt",
        "controls",
        raw_item(
            "controls/nul-bytes.txt", "controls", "title: nul\x00title", body="body\x00\x00end"
        ).encode(),
        expect="item",
        fields={"title": "nultitle", "body": "bodyend"},
    )


def _surrogates() -> Iterator[Case]:
    """Lone surrogates can only be written as YAML escapes; UTF-8 cannot hold them."""
    escapes = {"d800": "\\ud800", "dfff": "\\udfff", "dc80": "\\udc80", "pair": "\\ud83d\\ude00",
               "big-u": "\\U0000d800", "beyond": "\\U00110000"}  # fmt: skip
    for label, escape in escapes.items():
        for key in ("title", "excerpt", "category"):
            name = f"surrogates/{label}-{key}.txt"
            yield Case(name, "surrogates", raw_item(name, "surrogates", f'{key}: "a{escape}b"').encode())
        name = f"surrogates/{label}-topic.txt"
        yield Case(name, "surrogates", raw_item(name, "surrogates", f'topics: ["a{escape}b"]').encode())
        name = f"surrogates/{label}-key.txt"
        yield Case(name, "surrogates", raw_item(name, "surrogates", f'"k{escape}": x').encode())
    # The UTF-8 form of a surrogate (as some encoders write it) is not UTF-8.
    name = "surrogates/encoded-bytes.txt"
    data = raw_item(name, "surrogates", "title: aXXXb").encode().replace(b"XXX", b"\xed\xa0\x80")
    yield Case(name, "surrogates", data, expect="error", mention="UTF-8")


def _big() -> Iterator[Case]:
    """Big excerpts, bodies, titles and URLs: just under the size bound, at it and over it.
    The accepted ones have no topic, so that only the feeds of all topics carry them."""

    def padded(name: str, key: str, filler: str, total: int) -> bytes:
        """An item file of about ``total`` bytes (never more), ``key`` filled with ``filler``."""
        front = base_front(name, "big")
        front["topics"] = []
        room = total - len(item_bytes(front)) - 2  # YAML may quote the value
        text = filler * (room // len(filler.encode()))
        if key == "body":
            return item_bytes(front, text)
        front[key] = text
        return item_bytes(front)

    excerpt = padded("big/excerpt-under.txt", "excerpt", "Big <b>excerpt</b> &amp; ]]> ", MAX_FILE_BYTES - 64)
    yield Case("big/excerpt-under.txt", "big", excerpt, expect="item")
    at_bound = padded("big/body-at-bound.txt", "body", "Big body <i>text</i> & ]]> line.\n", MAX_FILE_BYTES)
    at_bound += b"x" * (MAX_FILE_BYTES - len(at_bound))
    yield Case("big/body-at-bound.txt", "big", at_bound, expect="item")
    yield Case("big/over-by-one.txt", "big", at_bound + b"x", expect="error", mention="limit")
    emoji = padded("big/emoji-excerpt.txt", "excerpt", "😀", 200_000)
    yield Case("big/emoji-excerpt.txt", "big", emoji, expect="item")
    over = {
        "excerpt-3mib": ("excerpt", "Big excerpt. ", 3 << 20),
        "body-5mib": ("body", "Big body.\n", 5 << 20),
        "title-2mib": ("title", "Big title ", 2 << 20),
    }
    for label, (key, filler, size) in over.items():
        name = f"big/{label}.txt"
        yield Case(name, "big", padded(name, key, filler, size), expect="error", mention="limit")
    # Sparse, and past 2**31 bytes: a size that overflows a 32-bit length.
    head = padded("big/sparse-2gib.txt", "excerpt", "x", 1000)
    yield Case("big/sparse-2gib.txt", "big", head, size=(2 << 30) + 1, expect="error", mention="limit")
    front = base_front("big/long-title.txt", "big")
    front["topics"] = []
    front["title"] = long_title = "Long title <b>" + "t" * 50_000
    yield Case("big/long-title.txt", "big", item_bytes(front), expect="item", fields={"title": long_title})
    front = base_front("big/long-topic.txt", "big")
    front["topics"] = [topic := "Long topic " + "t" * 5_000]
    yield Case("big/long-topic.txt", "big", item_bytes(front), expect="item", fields={"topics": (topic,)})
    front = base_front("big/long-url.txt", "big")
    front["topics"] = []
    front["webUrl"] = front["originalUrl"] = "https://hostile.example/long/" + "u" * 100_000
    yield Case("big/long-url.txt", "big", item_bytes(front), expect="item")
    name = "big/long-spaces.txt"
    data = raw_item(name, "big", "category:" + " " * 900_000 + "spaced").encode()
    yield Case(name, "big", data, expect="item", fields={"category": "spaced"})


def _nesting() -> Iterator[Case]:
    deep = {
        "flow-17": "x: " + "[" * 16 + "]" * 16,  # the front matter itself is the first level
        "flow-million": "x: " + "[" * 1_000_000,
        "flow-closed": "x: " + "[" * 400_000 + "]" * 400_000,
        "flow-mappings": "x: " + "{a: " * 200_000,
        "block-sequences": "x:\n" + "- " * 400_000 + "y",
        "block-mappings": "x:\n" + "? " * 400_000 + "y",
        "indented": "x:\n" + "".join(" " * level + "a:\n" for level in range(1, 1_400)),
        "related": "related:\n  - title: t\n    webUrl: https://r.example/\n    provider: "
        + "[" * 40
        + "]" * 40,
        "topics": "topics: " + "[" * 30 + "]" * 30,
    }
    for label, front in deep.items():
        name = f"nesting/{label}.txt"
        yield Case(
            name, "nesting", raw_item(name, "nesting", front).encode(), expect="error", mention="nested"
        )
    name = "nesting/flow-16.txt"
    ok = "x: " + "[" * 15 + "]" * 15
    yield Case(name, "nesting", raw_item(name, "nesting", ok).encode(), expect="item")


def _aliases() -> Iterator[Case]:
    laughs = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, 9):
        prev, this = chr(ord("a") + level - 1), chr(ord("a") + level)
        laughs.append(f"{this}: &{this} [{','.join(['*' + prev] * 9)}]")
    laughs.append("excerpt: *i")
    variants = {
        "billion-laughs": laughs,
        "single-alias": ["excerpt: *nothing"],
        "anchor-only": ["excerpt: &x text"],
        "merge-alias": ["base: &b {category: merged}", "extra:\n  <<: *b"],
        "recursive": ["loop: &l [*l]"],
        "alias-key": ["k: &k key", "*k : v"],
        "anchored-title": ["title: &t Anchored"],
        "topics-alias": ["t: &t [A, B]", "topics: *t"],
    }
    for label, lines in variants.items():
        name = f"aliases/{label}.txt"
        yield Case(
            name, "aliases", raw_item(name, "aliases", *lines).encode(), expect="error", mention="alias"
        )
    # a quadratic blow-up without aliases: wide, flat and within the bound
    name = "aliases/wide-flow.txt"
    wide = "x: [" + ", ".join(["[lol, lol, lol]"] * 20_000) + "]"
    yield Case(name, "aliases", raw_item(name, "aliases", wide).encode(), expect="item")


def _tags() -> Iterator[Case]:
    lines = {
        "python-apply": f'category: !!python/object/apply:os.mkdir ["{PWNED[0]}"]',
        "python-exec": f"category: !!python/object/apply:builtins.exec [\"open('{PWNED[1]}', 'w')\"]",
        "verbatim": f'category: !<tag:yaml.org,2002:python/object/apply:os.mkdir> ["{PWNED[2]}"]',
        "python-new": f'category: !!python/object/new:os.mkdir ["{PWNED[3]}"]',
        "python-name": "category: !!python/name:os.system",
        "python-module": "category: !!python/module:os",
        "python-object": "category: !!python/object:feeds.model.Item {}",
        "binary": "category: !!binary aGVsbG8=",
        "set": "topics: !!set {a, b}",
        "omap": "topics: !!omap [a: 1]",
        "pairs": "topics: !!pairs [a: 1]",
        "local": "category: !local thing",
        "on-key": "!!python/name:os.system key: v",
        "on-mapping": "provider: !!python/object:feeds.model.Provider {name: p}",
        "tag-directive": "%TAG !p! tag:yaml.org,2002:python/",
    }
    for label, line in lines.items():
        name = f"tags/{label}.txt"
        yield Case(name, "tags", raw_item(name, "tags", line).encode(), expect="error")
    plain = {
        "str": ("category: !!str 2024", "2024"),
        "int": ("heat: !!int 12", 12),
        "bad-int": ("heat: !!int twelve", None),
        "bad-timestamp": ("publishedDateTime: !!timestamp yesterday", None),
        "bool-word": ("published: !!bool maybe", None),
        "empty-int": ("heat: !!int ''", None),
        "empty-float": ("heat: !!float ''", None),
        "str-on-mapping": ("title: !!str {a: b}", None),
    }
    for label, (line, value) in plain.items():
        name = f"tags/plain-{label}.txt"
        key = line.split(":", 1)[0]
        expect: Expect = "item" if value is not None else "error"
        fields = {key: value} if value is not None else {}
        yield Case(name, "tags", raw_item(name, "tags", line).encode(), expect=expect, fields=fields)


def _wrong_types() -> Iterator[Case]:
    """Every field of a full item, missing and with a value of each wrong type."""
    template = base_front("x", "wrong")
    for path, original in field_paths(template):
        variants: dict[str, Any] = {"missing": ...}
        for label, value in WRONG.items():
            own = _EDGE.get(label)
            if own is not None:
                if isinstance(original, own) and not isinstance(original, bool):
                    variants[label] = value
            elif type(value) is not type(original):
                variants[label] = value
        for label, value in variants.items():
            name = f"wrong-type/{path}={label}.txt"
            front = base_front(name, "wrong-type")
            set_path(front, path, value, delete=value is ...)
            yield Case(name, "wrong-type", item_bytes(front), mention=path)


def _duplicates() -> Iterator[Case]:
    def copy(name: str, url: str, when: str, **changes: Any) -> bytes:
        front = base_front(name, "duplicates")
        front.update(originalUrl=url, webUrl=url, publishedDateTime=when, **changes)
        return item_bytes(front)

    # name: (url, date, expect, changes); a story's newest copy wins, then the first path.
    copies: dict[str, tuple[str, str, Expect, dict[str, Any]]] = {
        "a-older": ("https://dup.example/story", "2024-01-01T00:00:00Z", "duplicate", {}),
        "b-newer": ("https://dup.example/story", "2024-01-02T00:00:00Z", "item", {}),
        "same-date-1": ("https://dup.example/same-date", "2024-01-01T00:00:00Z", "item", {}),
        "same-date-2": ("https://dup.example/same-date", "2024-01-01T00:00:00Z", "duplicate", {}),
        "case-1": ("https://dup.example/case", "2024-01-01T00:00:00Z", "duplicate", {}),
        "case-2": ("HTTPS://DUP.example:443/case#fragment", "2024-01-03T00:00:00Z", "item", {}),
        "withdrawn-old": ("https://dup.example/withdrawn", "2024-01-01T00:00:00Z", "duplicate", {}),
        "withdrawn-new": (
            "https://dup.example/withdrawn",
            "2024-01-05T00:00:00Z",
            "item",
            {"published": False},
        ),
    }
    for n in range(40):
        when = f"2024-02-{1 + n % 28:02}T{n // 28:02}:00:00Z"  # the newest is number 27
        copies[f"many-{n:02}"] = ("https://dup.example/many", when, "item" if n == 27 else "duplicate", {})
    for label, (url, when, expect, changes) in copies.items():
        name = f"duplicates/{label}.txt"
        fields = {"title": f"Hostile {name}", **changes} if expect == "item" else {}
        yield Case(name, "duplicates", copy(name, url, when, **changes), expect=expect, fields=fields)
    exact = copy("exact", "https://dup.example/exact", "2024-01-01T00:00:00Z")
    yield Case("duplicates/exact-1.txt", "duplicates", exact, expect="item")
    yield Case("duplicates/exact-2.txt", "duplicates", exact, expect="duplicate")


def _dates() -> Iterator[Case]:
    dates: dict[str, tuple[str, Expect]] = {
        "year-9999": ("9999-12-31T23:59:59Z", "item"),
        "year-2999": ("2999-01-01", "item"),
        "day-before-epoch": ("1969-12-31T23:59:59Z", "item"),
        "epoch-with-offset": ("1970-01-01T00:00:00+00:01", "item"),
        "year-1900": ("1900-01-01", "item"),
        "moon-landing": ("1969-07-20 20:17:40 -5", "item"),
        "year-1000": ("1000-01-01T00:00:00Z", "item"),
        "year-999": ("0999-12-31", "error"),
        "year-10000": ("10000-01-01", "error"),
        "overflow": ("9999-12-31T23:59:59-00:01", "error"),
        "underflow": ("0001-01-01T00:00:00+01:00", "error"),
        "negative-year": ("-0001-01-01", "error"),
        "february-30": ("2024-02-30", "error"),
        "hour-25": ("2024-01-01T25:00:00Z", "error"),
        "epoch-number": ("1700000000", "error"),
        "word": ("now", "error"),
        "nanoseconds": ("2024-01-01T12:00:00.123456789Z", "item"),
    }
    for label, (value, expect) in dates.items():
        name = f"dates/{label}.txt"
        line = f"publishedDateTime: {value}"
        yield Case(
            name, "dates", raw_item(name, "dates", line).encode(), expect=expect, mention="publishedDateTime"
        )
    name = "dates/related-far-future.txt"
    line = (
        "related:\n  - title: r\n    webUrl: https://r.example/\n    publishedDateTime: 9999-12-31T23:59:59Z"
    )
    yield Case(name, "dates", raw_item(name, "dates", line).encode(), expect="item")


def _encodings() -> Iterator[Case]:
    def text(name: str, *lines: str, body: str = "Body line one.\nBody line two.\n") -> str:
        return raw_item(name, "encodings", *lines, body=body)

    n = "encodings/latin1-title.txt"
    yield Case(
        n, "encodings", text(n, "title: Café au lait").encode("latin-1"), expect="error", mention="UTF-8"
    )
    n = "encodings/latin1-body.txt"
    yield Case(
        n, "encodings", text(n, body="Ça coûte cher.\n").encode("latin-1"), expect="error", mention="UTF-8"
    )
    n = "encodings/bom.txt"
    yield Case(
        n, "encodings", b"\xef\xbb\xbf" + text(n).encode(), expect="item", fields={"title": f"Hostile {n}"}
    )
    n = "encodings/bom-crlf.txt"
    data = b"\xef\xbb\xbf" + text(n).replace("\n", "\r\n").encode()
    yield Case(n, "encodings", data, expect="item", fields={"body": "Body line one.\nBody line two."})
    n = "encodings/crlf.txt"
    data = text(n).replace("\n", "\r\n").encode()
    yield Case(n, "encodings", data, expect="item", fields={"body": "Body line one.\nBody line two."})
    n = "encodings/cr-only.txt"
    data = text(n).replace("\n", "\r").encode()
    yield Case(n, "encodings", data, expect="item", fields={"body": "Body line one.\nBody line two."})
    n = "encodings/mixed-endings.txt"
    data = text(n).replace("\n", "\r\n", 3).encode()
    yield Case(n, "encodings", data, expect="item")
    n = "encodings/double-bom.txt"
    yield Case(n, "encodings", b"\xef\xbb\xbf\xef\xbb\xbf" + text(n).encode(), expect="error")
    n = "encodings/bom-in-title.txt"
    data = text(n, "title: zero\ufeffwidth").encode()
    yield Case(n, "encodings", data, expect="item", fields={"title": "zero\ufeffwidth"})
    n = "encodings/utf16.txt"
    yield Case(n, "encodings", text(n).encode("utf-16"), expect="error")
    n = "encodings/utf32.txt"
    yield Case(n, "encodings", text(n).encode("utf-32"), expect="error")
    n = "encodings/overlong.txt"
    yield Case(n, "encodings", text(n, "title: slash-X").encode().replace(b"X", b"\xc0\xaf"), expect="error")
    n = "encodings/truncated-sequence.txt"
    yield Case(n, "encodings", text(n).encode() + b"\xe2\x82", expect="error")
    n = "encodings/windows-1252.txt"
    yield Case(
        n, "encodings", text(n, "title: “smart” quotes").encode("cp1252"), expect="error", mention="UTF-8"
    )


def _symlinks() -> Iterator[Case]:
    """Symlinks out of the corpus are refused; folder symlinks are not followed."""
    links: dict[str, tuple[str, Expect]] = {
        "passwd.txt": ("/etc/passwd", "error"),
        "passwd-relative.txt": ("../" * 24 + "etc/passwd", "error"),
        "environ.txt": ("/proc/self/environ", "error"),
        "zero.txt": ("/dev/zero", "error"),
        "urandom.txt": ("/dev/urandom", "error"),
        "secret-item.txt": ("{outside}/secret.txt", "error"),
        "sneaky.txt": ("{up}{outside_name}/secret.txt", "error"),
        "through-inside.txt": ("../symlinks/{up}{outside_name}/secret.txt", "error"),
        "loop-a.txt": ("loop-b.txt", "error"),
        "loop-b.txt": ("loop-a.txt", "error"),
        "self.txt": ("self.txt", "error"),
        "dangling.txt": ("missing-target.txt", "error"),
        "outside-folder.txt": ("{outside}/folder", "absent"),
        "outside-folder": ("{outside}/folder", "absent"),
        "corpus-root.txt": (".", "absent"),
        "to-fifo.txt": ("../special/pipe.txt", "error"),
        # the same story as its target, whose path sorts first
        "inside.txt": ("inside-target.md", "duplicate"),
    }
    for label, (target, expect) in links.items():
        yield Case(f"symlinks/{label}", "symlinks", node="symlink", target=target, expect=expect)
    n = "symlinks/inside-target.md"
    yield Case(n, "symlinks", raw_item(n, "symlinks").encode(), expect="item")


def _special_files() -> Iterator[Case]:
    def good(name: str) -> bytes:
        return raw_item(name, "special").encode()

    yield Case("special/pipe.txt", "special", node="fifo", expect="error", mention="regular")
    yield Case("special/dir.txt/inner.txt", "special", good("special/dir.txt/inner.txt"), expect="item")
    yield Case("special/empty.txt", "special", b"", expect="error", mention="empty")
    yield Case("special/blank.txt", "special", b" \n\t\r\n  \n", expect="error", mention="empty")
    yield Case("special/only-fence.txt", "special", b"---\n", expect="error")
    yield Case("special/empty-front.txt", "special", b"---\n---\nbody\n", expect="error", mention="empty")
    yield Case("special/unclosed.txt", "special", b"---\ntitle: x\n" + b"k: v\n" * 1000, expect="error")
    yield Case("special/.hidden.txt", "special", good("special/.hidden.txt"), expect="absent")
    yield Case(
        "special/.git/inside-hidden.txt", "special", good("special/.git/inside-hidden.txt"), expect="absent"
    )
    yield Case("special/no-suffix", "special", good("special/no-suffix"), expect="absent")
    yield Case("special/UPPER.TXT", "special", good("special/UPPER.TXT"), expect="item")
    yield Case("special/notes.markdown", "special", good("special/notes.markdown"), expect="item")
    yield Case("special/binary.txt", "special", bytes(range(256)) * 64, expect="error")
    yield Case("special/gzip.txt", "special", b"\x1f\x8b\x08\x00" + b"\x00" * 64, expect="error")


def _names() -> Iterator[Case]:
    """Odd file names: they only ever show in messages."""
    good = ["<script>alert(1)</script>.txt", "rtl-\u202etxt.md", "spaces 'single' \"double\".txt",
            " leading-space.txt", "ünïcödé-名前.txt", "n" * 250 + ".txt", "semi;colon&amp.txt"]  # fmt: skip
    for label in good:
        name = f"names/{label}"
        yield Case(name, "names", raw_item(name, "names").encode(), expect="item")
    bad = [
        "new\nline.txt",
        "carriage\rreturn.txt",
        "esc-\x1b]0;title\x07.txt",
        "latin1-\udce9.txt",
        "tab\tname.txt",
    ]
    for label in bad:
        yield Case(f"names/{label}", "names", b"not an item\n", expect="error", mention="front matter")


def _urls() -> Iterator[Case]:
    for path in URL_FIELDS:
        for number, url in enumerate(HOSTILE_URLS):
            name = f"urls/{path}-{number:02}.txt"
            front = base_front(name, "urls")
            if path == "webUrl":
                del front["originalUrl"]
            set_path(front, path, url)
            yield Case(name, "urls", item_bytes(front))


def _markdown() -> Iterator[Case]:
    """Bodies that are hard on a Markdown renderer, and bodies that try to inject HTML. Small:
    the renderer is linear in these, but at some 20 microseconds a character for the worst."""
    bodies = {
        "brackets": "[" * 2_000, "images": "![" * 1_000, "emphasis": "*a" * 1_000, "under": "_a" * 1_000,
        "quotes": "> " * 5_000, "lists": "- " * 2_000, "backticks": "`a" * 1_000, "setext": "a\n=\n" * 500,
        "entities": "&#0;&#xD800;&#x110000;&#xFFFE;&#x85;&#1;" * 50, "script": "<script>alert(1)</script>",
        "js-link": "[x](javascript:alert(1)) [y](JAVASCRIPT:alert(1)) <javascript:alert(1)>",
        "img-onerror": "<img src=x onerror=alert(1)>", "fenced-cdata": "```\n]]>\n```\n",
        "html-block": "<div onclick=x>\n\nhi\n</div>", "ref-js": "[a]: javascript:alert(1)\n\n[a]",
        "data-image": "![i](data:image/svg+xml,<svg onload=alert(1)>)", "fences": "~~~\n" * 500,
        "table-ish": "|a|b|\n|-|-|\n" * 500, "autolinks": "<http://x.example/" * 500,
    }  # fmt: skip
    for label, body in bodies.items():
        name = f"markdown/{label}.txt"
        yield Case(name, "markdown", raw_item(name, "markdown", body=body).encode(), expect="item")


def _yaml_edges() -> Iterator[Case]:
    cases: dict[str, tuple[list[str], Expect]] = {
        "duplicate-keys": (["title: first", "title: second"], "item"),
        "number-key": (["123: x"], "error"),
        "bool-key": (["true: x"], "error"),
        "null-key": (["null: x"], "error"),
        "date-key": (["2024-01-01: x"], "error"),
        "list-key": (["? [a, b]\n: c"], "error"),
        "tab-indent": (["provider:\n\tname: x"], "error"),
        "block-literal": (["excerpt: |\n  line one\n  <b>line</b> two"], "item"),
        "folded": (["excerpt: >-\n  folded\n  text"], "item"),
        "multiline-plain": (["excerpt: one\n  two\n  three"], "item"),
        "comment-only": (["# just a comment"], "item"),
        "merge-plain": (["<<: {category: merged}"], "either"),
        "yaml-directive": (["%YAML 1.1"], "error"),
        "document-end": (["...", "extra: after end"], "either"),
        "heat-hex": (["heat: 0x1F"], "item"),
        "heat-sexagesimal": (["heat: 1:30"], "item"),
        "heat-inf": (["heat: .inf"], "error"),
        "heat-nan": (["heat: .nan"], "error"),
        "quality-float": (["quality: 50.0"], "error"),
        "published-yes": (["published: yes"], "item"),
        "published-text": (['published: "true"'], "error"),
        "unknown-markup-key": (['"<script>": "<script>alert(1)</script>"'], "item"),
        "sequence-front": (["- a\n- b"], "error"),
        "unterminated-quote": (['title: "unterminated'], "error"),
        "flow-garbage": (["title: [unclosed"], "error"),
    }
    for label, (lines, expect) in cases.items():
        name = f"yaml/{label}.txt"
        if label == "sequence-front":
            data = b"---\n- a\n- b\n---\n"
        else:
            data = raw_item(name, "yaml", *lines).encode()
        yield Case(name, "yaml", data, expect=expect)
    name = "yaml/closing-dots.txt"
    yield Case(name, "yaml", raw_item(name, "yaml").replace("\n---\n", "\n...\n").encode(), expect="item")


def _counts() -> Iterator[Case]:
    """Many of one thing in one file, within the bound."""
    name = "counts/images-20k.txt"
    images = "images:\n" + "".join(f"  - url: https://img.example/{n}.jpg\n" for n in range(20_000))
    yield Case(name, "counts", raw_item(name, "counts", images.rstrip("\n")).encode(), expect="item")
    name = "counts/related-5k.txt"
    related = "related:\n" + "".join(
        f"  - title: r{n}\n    webUrl: https://r.example/{n}\n" for n in range(5_000)
    )
    yield Case(name, "counts", raw_item(name, "counts", related.rstrip("\n")).encode(), expect="item")
    name = "counts/related-untitled-5k.txt"
    related = "related:\n" + "".join(f"  - webUrl: https://r.example/{n}\n" for n in range(5_000))
    yield Case(name, "counts", raw_item(name, "counts", related.rstrip("\n")).encode(), expect="item")
    name = "counts/topics-60.txt"
    topics = "topics: [" + ", ".join(f"t{n}" for n in range(60)) + "]"
    yield Case(name, "counts", raw_item(name, "counts", topics).encode(), expect="item")
    name = "counts/unknown-keys-300.txt"
    keys = [f"k{n}: v" for n in range(300)]
    yield Case(name, "counts", raw_item(name, "counts", *keys).encode(), expect="item")
    yield from heavy_cases()


def heavy_cases() -> Iterator[Case]:
    """Files within the bound that need far more work than their size suggests."""
    name = "counts/unknown-keys-60k.txt"
    keys = [f"k{n}: v" for n in range(60_000)]
    yield Case(name, "counts", raw_item(name, "counts", *keys).encode(), expect="item")
    name = "counts/topics-30k.txt"
    topics = "topics: [" + ", ".join(f"t{n}" for n in range(30_000)) + "]"
    yield Case(name, "counts", raw_item(name, "counts", topics).encode(), expect="item")


CATEGORIES = (
    "markup", "cdata", "bidi", "controls", "surrogates", "big", "nesting", "aliases", "tags", "wrong-type",
    "duplicates", "dates", "encodings", "symlinks", "special", "names", "urls", "markdown", "yaml", "counts",
)  # fmt: skip


def cases() -> list[Case]:
    """Every case, in a stable order."""
    generators = (
        _text_payloads, _surrogates, _big, _nesting, _aliases, _tags, _wrong_types, _duplicates, _dates,
        _encodings, _symlinks, _special_files, _names, _urls, _markdown, _yaml_edges, _counts,
    )  # fmt: skip
    return [case for generate in generators for case in generate()]


def outside_files() -> dict[str, bytes]:
    """What the symlinks out of the corpus point to: a valid item and a folder of them."""

    def secret(n: int) -> bytes:
        front = base_front(f"outside {n}", "outside")
        front.update(title=f"{OUTSIDE_SECRET} {n}", originalUrl=f"https://outside.example/{n}",
                     webUrl=f"https://outside.example/{n}")  # fmt: skip
        return item_bytes(front)

    return {"secret.txt": secret(0), "folder/item.txt": secret(1), "folder/other.md": secret(2)}


def outside_of(root: Path) -> Path:
    return root.with_name(root.name + "-outside")


def write(root: Path, selected: list[Case] | None = None) -> list[Case]:
    """Write the cases (all, or ``selected``) under ``root`` and the outside files beside it."""
    chosen = cases() if selected is None else selected
    outside = outside_of(root)
    for name, data in outside_files().items():
        (outside / name).parent.mkdir(parents=True, exist_ok=True)
        (outside / name).write_bytes(data)
    root.mkdir(parents=True, exist_ok=True)
    for case in chosen:
        path = root / case.name
        path.parent.mkdir(parents=True, exist_ok=True)
        if case.node == "symlink":
            assert case.target is not None
            depth = len(Path(case.name).parts) - 1
            target = case.target.format(outside=outside, outside_name=outside.name, up="../" * (depth + 1))
            os.symlink(target, path)
        elif case.node == "fifo":
            os.mkfifo(path)
        else:
            path.write_bytes(case.data)
            if case.size is not None:
                os.truncate(path, case.size)
    return chosen


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.hostile OUT", file=sys.stderr)
        return 2
    root = Path(argv[0])
    if root.exists() and any(root.iterdir()):
        print(f"{root} is not empty", file=sys.stderr)
        return 1
    written = write(root)
    counts: dict[str, int] = {}
    for case in written:
        counts[case.category] = counts.get(case.category, 0) + 1
    print(f"{len(written)} hostile files in {root} (symlink targets in {outside_of(root)}):")
    for category, count in counts.items():
        print(f"  {category:<11} {count}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
