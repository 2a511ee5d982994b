"""Each item rendered once per format: a document put together from the bytes of items made
for other documents is the document feedgen (or the JSON formatter) makes whole, byte for
byte, whatever was rendered before it."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from bench.generate import generate
from feeds.builders import Format, jsonfeed, xml
from feeds.builders.fragments import Fragments
from feeds.config import Settings
from feeds.corpus import load_corpus
from feeds.model import Channel, Item
from feeds.publication import Publication
from feeds.select import Selection
from feeds.stories import Collapse
from tests import hostile

from .conftest import NOW, SEEDS

Whole = Callable[[Channel, Sequence[Item]], bytes]
FORMATS: dict[str, tuple[Callable[[Channel, Sequence[Item]], bytes], Whole, Fragments]] = {
    "rss": (xml.build_rss, lambda c, i: xml.rss_document(c, i, has_items=bool(i)), xml._RSS_ITEMS),
    "atom": (xml.build_atom, xml.atom_document, xml._ATOM_ENTRIES),
    "json": (jsonfeed.build_json, jsonfeed.json_document, jsonfeed._ITEMS),
}


@pytest.fixture(autouse=True)
def cold() -> Iterator[None]:
    for _, _, fragments in FORMATS.values():
        fragments.clear()
    yield
    for _, _, fragments in FORMATS.values():
        fragments.clear()


def documents(root: Path, most: int = 60) -> list[tuple[Channel, list[Item]]]:
    """The channel and items of the feeds of ``root``'s publication (stories collapsed),
    the first ``most`` of them (the hostile corpus has thousands of topics)."""
    selection = Selection(load_corpus(root).items, NOW, Collapse())
    publication = Publication.from_source(selection, Settings(corpus=root, base_url="http://feeds.test/"))
    found = []
    for spec in list(publication.catalogue)[:most]:
        items = publication.items(spec)
        found.append((publication.channel(spec, Format.RSS, items), items))
    return found


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fragments") / "corpus"
    generate(400, root, seed=3)
    return root


@pytest.fixture(scope="module")
def hostile_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile") / "corpus"
    hostile.write(root)
    return root


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("corpus", ["generated", "hostile_corpus", "seeds"])
def test_a_document_of_items_made_once_is_the_document_made_whole(
    fmt: str, corpus: str, request: pytest.FixtureRequest
) -> None:
    build, whole, fragments = FORMATS[fmt]
    root = SEEDS if corpus == "seeds" else request.getfixturevalue(corpus)
    feeds = documents(root, 12 if corpus == "hostile_corpus" else 60)
    assert corpus == "seeds" or any(len(items) > 1 for _, items in feeds)
    expected = [whole(channel, items) for channel, items in feeds]
    # Cold, then warm, then in another order with part of every document held already.
    assert [build(channel, items) for channel, items in feeds] == expected
    assert [build(channel, items) for channel, items in feeds] == expected
    rng = random.Random(4)
    for _ in range(3):
        fragments.clear()
        for channel, items in rng.sample(feeds, len(feeds) // 2):
            build(channel, rng.sample(items, len(items) // 2))
        order = rng.sample(range(len(feeds)), len(feeds))
        assert {n: build(*feeds[n]) for n in order} == dict(enumerate(expected))
    assert build(feeds[0][0], []) == whole(feeds[0][0], [])


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_item_is_made_once_however_many_documents_hold_it(
    fmt: str, generated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build, whole, fragments = FORMATS[fmt]
    feeds = documents(generated)
    shown = {item for _, items in feeds for item in items}
    held = sum(len(items) for _, items in feeds)
    assert held > 2 * len(shown)  # an item is in several documents
    made: list[Item] = []
    if fmt == "json":
        real = jsonfeed._item
        monkeypatch.setattr(jsonfeed, "_item", lambda item: made.append(item) or real(item))
    else:
        real_entry = xml._entry
        monkeypatch.setattr(xml, "_entry", lambda fg, item: made.append(item) or real_entry(fg, item))
    for channel, items in feeds:
        build(channel, items)
    assert sorted(made, key=lambda item: item.id) == sorted(shown, key=lambda item: item.id)
    assert len(fragments) == len(shown)
    made.clear()
    for channel, items in feeds:  # the next round, the same items: nothing made again
        build(channel, items)
    assert made == []


def test_fragments_beyond_their_budget_forget_the_least_recently_used(generated: Path) -> None:
    _, items = max(documents(generated), key=lambda feed: len(feed[1]))
    made = {item: item.id.encode() * 10 for item in items[:6]}
    size = len(made[items[0]])
    fragments = Fragments(budget=4 * size)
    fragments.keep(list(made.items())[:3])
    assert fragments.held([items[0]]) == [made[items[0]]]  # used again: kept longest
    fragments.keep(list(made.items())[3:5])
    kept = fragments.held(items[:6])
    assert [n for n, data in enumerate(kept) if data is not None] == [0, 2, 3, 4]
