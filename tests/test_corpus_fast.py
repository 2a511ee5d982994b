"""The fast path and the exact reader agree: the same items and the same problems.

On every file of the seeds, of the hostile corpus and of generated corpora, and on
documents made to hit YAML 1.1's traps, the fast path gives the item the exact reader
gives (with no warning), or leaves the file to it; reading with or without the fast path
gives the same item and the same problems.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.generate import generate
from feeds.corpus import fast, read_item
from feeds.corpus.frontmatter import decode, split
from feeds.errors import ItemError
from feeds.model import Item

from . import hostile
from .conftest import SEEDS

Outcome = tuple[Item, tuple[ItemError, ...]] | ItemError


def outcome(data: bytes, name: str, *, fast_path: bool) -> Outcome:
    try:
        return read_item(data, Path(name), name, fast_path=fast_path)
    except ItemError as err:
        return err


def agree(data: bytes, name: str = "item.txt") -> bool:
    """Check both readers on one file's bytes; whether the fast path took it."""
    exact = outcome(data, name, fast_path=False)
    assert outcome(data, name, fast_path=True) == exact
    try:
        front, body = split(decode(data, Path(name)), Path(name))
    except ItemError:
        return False  # both readers stop before the front matter is read
    taken = fast.read(front, body, name)
    if taken is not None:
        assert exact == (taken, ()), "the fast path took a file the exact reader reads otherwise"
    return taken is not None


def test_every_seed_with_front_matter_is_taken_and_read_alike() -> None:
    taken = {path.name: agree(path.read_bytes(), path.name) for path in sorted(SEEDS.iterdir())}
    assert taken == {
        "000_ed02330b064c0186.txt": True,
        "001_6c298e7f509854d7.txt": True,
        "002_7afdc6dd96035df6.txt": False,  # no front matter
        "003_09843535c02f0b65.txt": True,
        "004_1a58042c73d7abdc.txt": True,
    }


def test_every_hostile_file_is_read_alike() -> None:
    files = [case for case in hostile.cases() if case.node == "file" and case.size is None]
    taken = [case.name for case in files if agree(case.data, case.name)]
    rejected = {
        case.name
        for case in files
        if isinstance(outcome(case.data, case.name, fast_path=False), ItemError)
    }
    assert len(files) > 200
    assert rejected and not rejected & set(taken)


def test_a_generated_corpus_is_read_alike_and_nearly_all_on_the_fast_path(tmp_path: Path) -> None:
    generate(1500, tmp_path)
    files = sorted(tmp_path.rglob("*.txt"))
    taken = [path for path in files if agree(path.read_bytes(), path.name)]
    exact = [outcome(path.read_bytes(), path.name, fast_path=False) for path in files]
    plain = [found for found in exact if not isinstance(found, ItemError) and not found[1]]
    assert len(taken) >= 0.98 * len(plain) > 1000


# -- documents made to hit YAML 1.1's traps ----------------------------------------------

TRAPS = [
    "no", "yes", "on", "off", "No", "YES", "Off", "y", "n", "true", "True", "FALSE", "tRUE",
    "~", "null", "Null", "NULL", "", "2024", "-1", "-0", "+5", "0", "017", "08", "0o17", "0x1F",
    "0b101", "1_000", "_1", "1e3", "1.5", ".5", ".inf", "-.inf", ".nan", "1:20", "190:20:30",
    "2023-02-01", "2023-02-01T21:00:00Z", "2023-02-01T21:00:00+01:00", "2023-02-01 21:00:00",
    "2023-02-01T21:00:00", "2023-2-1", "2023-02-01t21:00:00z", "2023-02-01 21:00:00 +1",
    "2023-02-01T21:00:00.5Z", "2023-02-30", "0999-12-31T23:00:00-02:00", "<<", "=", "AI",
    "Ars Technica", "a: b", "a #b", "#x", "-x", "- x", "?x", "? x", ":x", "[x]", "{x: 1}",
    "x]", "&a x", "*a", "!!str x", "!!int 3", "|", ">", "%x", "@x", "`x", "é", "日本",
    "\u00a0x", "x\u00a0", "x\u2028y", "x\x85y", "\ufeffx", "a\tb", "a\\b", "https://news.example/a",
    "HTTPS://NEWS.EXAMPLE:443/a#f", "https://news.example:99999/", "ftp://x/", "  spaced  ",
]  # fmt: skip
STYLES = ("plain", "double", "single")


def scalar(value: str, style: str) -> str:
    if style == "double":
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if style == "single":
        return "'" + value.replace("'", "''") + "'"
    return value


def document(fields: dict[str, str], *, indent: int = 2) -> bytes:
    """An item file whose fields, at their places, hold the given scalar text."""
    pad = " " * indent
    lines = [
        f"title: {fields.get('title', 'A story')}",
        f"publishedDateTime: {fields.get('date', '2024-03-01T09:30:00Z')}",
        f"webUrl: {fields.get('url', 'https://news.example/story')}",
        f"published: {fields.get('published', 'true')}",
        f"heat: {fields.get('heat', '-1')}",
        f"quality: {fields.get('quality', '50')}",
        f"category: {fields.get('category', 'news')}",
        "provider:",
        f"{pad}name: {fields.get('provider', 'Ars Technica')}",
        f"{pad}images:",
        f"{pad}{pad}- url: {fields.get('logo', 'https://news.example/logo.png')}",
        f"{pad}{pad}{pad}width: {fields.get('width', '50')}",
        "topics:",
        f"{pad}- {fields.get('topic', 'AI')}",
        f"{pad}- Space",
        "related:",
        f"{pad}- title: {fields.get('related_title', 'Another story')}",
        f"{pad}{pad}webUrl: {fields.get('related_url', 'https://other.example/story')}",
        f"{pad}{pad}publishedDateTime: {fields.get('related_date', '2024-02-01T09:30:00Z')}",
        f"secured: {fields.get('secured', 'opaque')}",
        *fields.get("extra", "").splitlines(),
    ]
    return ("---\n" + "\n".join(lines) + "\n---\n\nBody.\n").encode()


FIELDS = [
    "title", "date", "url", "published", "heat", "quality", "category", "provider", "logo",
    "width", "topic", "related_title", "related_url", "related_date", "secured",
]  # fmt: skip


@pytest.mark.parametrize("field", FIELDS)
def test_each_trap_in_each_field_and_style_is_read_alike(field: str) -> None:
    taken = [
        agree(document({field: scalar(trap, style)}))
        for trap, style in itertools.product(TRAPS, STYLES)
    ]
    assert any(taken) and not all(taken)


EXTRA_LINES = [
    "title: A second title", "heat: 5", "unknown: x", "# a comment", "", "   ", "provider:",
    "secured:\n  nested: 1", "topics: [AI]", "related:\n- title: t\n  webUrl: https://r.example/",
    "images:\n  - url: https://i.example/i.png\n    isCached: yes", "\ttitle: tabbed",
    "title: a\n  continued", "key:value", "? complex\n: value", "&anchor k: v", "'quoted': v",
    "x: |\n  block", "x: >\n  folded", "x: 'multi\n  line'", 'x: "multi\n  line: yes"',
]  # fmt: skip

_words = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyzABCXYZ éü-.,!?'&:#/0123456789"), min_size=1)
_any_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
USUAL: dict[str, st.SearchStrategy[str]] = {
    "date": st.sampled_from(
        ["2024-03-01T09:30:00Z", "2024-03-01T10:30:00+01:00", "2024-03-01", "2024-03-01 09:30:00"]
    ),
    "related_date": st.sampled_from(["2024-02-01T09:30:00Z", "2023-12-31T23:59:59-05:00", "2023-01-01"]),
    "url": st.sampled_from(
        ["https://news.example/story", "HTTP://News.Example:80/a?b=1#c", "https://x.example/ü"]
    ),
    "related_url": st.sampled_from(["https://other.example/story", "https://news.example/story"]),
    "logo": st.sampled_from(["https://news.example/logo.png", "https://cdn.example/a%20b.jpg"]),
    "published": st.sampled_from(["true", "false", "True", "FALSE"]),
    "heat": st.integers(-2, 2_000_000_000).map(str),
    "quality": st.integers(-1, 100).map(str),
    "width": st.integers(0, 5000).map(str),
}
_fields = st.dictionaries(
    st.sampled_from(FIELDS),
    st.one_of(
        st.tuples(st.sampled_from(TRAPS), st.sampled_from(STYLES)),
        st.tuples(_words, st.sampled_from(STYLES)),
        st.tuples(_any_text, st.sampled_from(["double", "single"])),
    ).map(lambda pair: scalar(*pair)),
    max_size=4,
)
_usual = st.fixed_dictionaries({}, optional={field: values for field, values in USUAL.items()})


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    usual=_usual,
    fields=_fields,
    extra=st.lists(st.sampled_from(EXTRA_LINES), max_size=2),
    indent=st.sampled_from([2, 4, 1, 3]),
    crlf=st.booleans(),
    bom=st.booleans(),
)
def test_documents_full_of_yaml_traps_are_read_alike(
    usual: dict[str, str], fields: dict[str, str], extra: list[str], indent: int, crlf: bool, bom: bool
) -> None:
    data = document({**usual, **fields, "extra": "\n".join(extra)}, indent=indent)
    if crlf:
        data = data.replace(b"\n", b"\r\n")
    if bom:
        data = b"\xef\xbb\xbf" + data
    agree(data)
