"""The SQLite index answers what the in-memory selection answers, and keeps up with the folder."""

from __future__ import annotations

import os
import random
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bench.generate import generate
from feeds.corpus import load_corpus
from feeds.corpus.files import scan
from feeds.errors import FeedsError
from feeds.index import CorpusIndex
from feeds.index import corpus_index as index_module
from feeds.index import rows as index_rows
from feeds.index import store as index_store
from feeds.select import Order, Query, Selection
from feeds.stories import Collapse

from .conftest import NOW, SEEDS, CorpusWriter, item_text, minimal_item


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("generated") / "corpus"
    generate(600, root, seed=7)
    return root


def queries(selection: Selection) -> list[Query]:
    names = [topic.name for topic in selection.topics][:6] + ["no such topic"]
    found = [Query(), Query(limit=10), Query(order=Order.HOT, limit=25), Query(min_heat=0)]
    for name in names:
        found += [
            Query(topic=name.upper()),
            Query(topic=name, limit=5),
            Query(topic=name, min_heat=50, order=Order.HOT),
            Query(topic=name, min_quality=70, limit=7),
        ]
    return found


@pytest.mark.parametrize("bulk", [True, False], ids=["built in bulk", "one transaction"])
@pytest.mark.parametrize("now", [NOW, datetime(2021, 6, 1, tzinfo=UTC)], ids=["after all", "mid-corpus"])
@pytest.mark.parametrize(
    ("collapse", "kept"),
    [(None, None), (Collapse(days=1), Collapse(days=1)), (Collapse(days=1), Collapse()), (Collapse(0), None)],
    ids=["each item", "stories kept", "stories of another window", "same second"],
)
def test_index_selection_equals_the_in_memory_selection(
    generated: Path,
    now: datetime,
    bulk: bool,
    collapse: Collapse | None,
    kept: Collapse | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With the stories the index keeps, or those of another window or moment, found anew."""
    monkeypatch.setattr(index_module, "BULK_THRESHOLD", 1 if bulk else 10**9)
    corpus = load_corpus(generated)
    reference = Selection(corpus.items, now, collapse)
    if collapse is not None and collapse.days:
        assert reference.stories > 10 and reference.told > reference.stories  # something to collapse
    index = CorpusIndex(generated, collapse=kept)
    try:
        index.refresh()
        answer = index.selection(now, collapse)
        assert (answer.told, answer.stories) == (reference.told, reference.stories)
        assert answer.stories_kept == (collapse is not None and kept == collapse)
        assert list(answer.topics) == list(reference.topics)
        assert answer.newest == reference.newest
        assert answer.next_change == reference.next_change
        for query in queries(reference):
            assert answer.query(query) == reference.query(query), query
            assert answer.count(query) == reference.count(query), query
        assert index.items() == list(corpus.items)
        assert [str(p) for p in index.problems()] == [str(p) for p in corpus.problems]
        assert index.file_count() == corpus.files
    finally:
        index.close()


def test_seeds_hide_the_unpublished_related_story() -> None:
    index = CorpusIndex(SEEDS)
    try:
        index.refresh()
        [item] = index.selection(NOW).query(Query())
        assert item.source == "000_ed02330b064c0186.txt"
        assert item.related == ()  # it points at 001, which is not published
    finally:
        index.close()


def test_parallel_reading_gives_the_same_index(generated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    serial = CorpusIndex(generated, workers=1)
    monkeypatch.setattr(index_rows, "PARALLEL_THRESHOLD", 10)
    parallel = CorpusIndex(generated, workers=2)
    try:
        assert serial.refresh().read == parallel.refresh().read == 600
        assert serial.items() == parallel.items()
        assert [str(p) for p in serial.problems()] == [str(p) for p in parallel.problems()]
    finally:
        serial.close()
        parallel.close()


def test_refresh_reads_only_what_changed(write_corpus: CorpusWriter, tmp_path: Path) -> None:
    root = write_corpus({f"{n}.txt": item_text(minimal_item(n)) for n in range(5)})
    past = 1_000_000_000_000_000_000
    for path in root.iterdir():
        os.utime(path, ns=(past, past))  # old files: no rereading for fresh timestamps
    index = CorpusIndex(root, tmp_path / "index.sqlite3")
    try:
        first = index.refresh()
        assert (first.read, first.removed, first.changed) == (5, 0, True)
        generation = index.generation
        assert index.refresh() == index_module.Refresh()
        assert index.generation == generation

        (root / "1.txt").write_text(item_text(minimal_item(1), title="Changed"), encoding="utf-8")
        (root / "9.txt").write_text(item_text(minimal_item(9)), encoding="utf-8")
        (root / "2.txt").unlink()
        second = index.refresh()
        assert (second.read, second.removed, second.changed) == (2, 1, True)
        assert index.generation == generation + 1
        titles = sorted(item.title for item in index.selection(NOW).query(Query()))
        assert titles == ["Changed", "Story 0", "Story 3", "Story 4", "Story 9"]
    finally:
        index.close()


def test_a_rewrite_with_the_same_content_is_no_change(write_corpus: CorpusWriter) -> None:
    root = write_corpus({"a.txt": item_text()})
    index = CorpusIndex(root)
    try:
        index.refresh()
        generation = index.generation
        text = (root / "a.txt").read_text(encoding="utf-8")
        (root / "a.txt").write_text(text, encoding="utf-8")
        os.utime(root / "a.txt", ns=(1, 1))
        result = index.refresh()
        assert result.read == 1 and not result.changed
        assert index.generation == generation
    finally:
        index.close()


def test_a_quick_second_write_with_the_same_stamp_is_seen(write_corpus: CorpusWriter) -> None:
    root = write_corpus({"a.txt": item_text(title="First")})
    path = root / "a.txt"
    stamp = path.stat().st_mtime_ns
    index = CorpusIndex(root, wall_ns=lambda: stamp + 1)  # the file was written just now
    try:
        index.refresh()
        path.write_text(item_text(title="Later"), encoding="utf-8")  # same length
        os.utime(path, ns=(stamp, stamp))
        assert index.refresh().changed
        assert [item.title for item in index.selection(NOW).query(Query())] == ["Later"]
    finally:
        index.close()


def test_duplicates_follow_the_corpus_rule_as_files_change(write_corpus: CorpusWriter) -> None:
    older = minimal_item(1)
    newer = dict(older, publishedDateTime=older["publishedDateTime"] + timedelta(days=1), title="Newer")
    root = write_corpus({"a.txt": item_text(older), "b.txt": item_text(newer)})
    index = CorpusIndex(root)
    try:
        index.refresh()
        assert [item.title for item in index.selection(NOW).query(Query())] == ["Newer"]
        assert [str(p) for p in index.problems()] == [str(p) for p in load_corpus(root).problems]
        (root / "b.txt").write_text(item_text(newer, published=False), encoding="utf-8")
        index.refresh()
        assert index.selection(NOW).query(Query()) == []  # the newest copy withdraws the story
        (root / "b.txt").unlink()
        index.refresh()
        assert [item.title for item in index.selection(NOW).query(Query())] == ["Story 1"]
    finally:
        index.close()


def test_an_index_of_another_folder_or_version_starts_anew(
    write_corpus: CorpusWriter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = write_corpus({"a.txt": item_text(title="From the first")})
    second = write_corpus({"b.txt": item_text(title="From the second")})
    path = tmp_path / "shared.sqlite3"
    index = CorpusIndex(first, path)
    index.refresh()
    index.close()
    index = CorpusIndex(second, path)
    index.refresh()
    assert [item.title for item in index.items()] == ["From the second"]
    index.close()
    monkeypatch.setattr(index_store, "SCHEMA_VERSION", "next")
    index = CorpusIndex(second, path)
    assert index.items() == []
    index.close()


def test_a_missing_folder_keeps_the_last_version(write_corpus: CorpusWriter, tmp_path: Path) -> None:
    root = write_corpus({"a.txt": item_text()})
    index = CorpusIndex(root)
    try:
        index.refresh()
        shutil.rmtree(root)
        assert not index.refresh().changed
        assert len(index.items()) == 1
    finally:
        index.close()
    with pytest.raises(FeedsError, match="corpus folder not found"):
        CorpusIndex(tmp_path / "nowhere")


def test_only_one_refresh_runs_at_a_time(write_corpus: CorpusWriter, tmp_path: Path) -> None:
    root = write_corpus({"a.txt": item_text()})
    index = CorpusIndex(root, tmp_path / "index.sqlite3")
    try:
        with index._writing(wait=True):
            assert index.refresh(wait=False) == index_module.Refresh()  # busy: returns at once
        assert index.refresh(wait=False).read == 1
    finally:
        index.close()


def test_scan_finds_what_the_corpus_reader_finds(generated: Path, tmp_path: Path) -> None:
    root = tmp_path / "mixed"
    shutil.copytree(generated, root)
    (root / ".hidden").mkdir()
    (root / ".hidden" / "x.txt").write_text("x")
    (root / "notes.json").write_text("{}")
    (root / "UPPER.MD").write_text(item_text())
    os.symlink(root / "000", root / "linked-folder")
    from feeds.corpus import iter_item_files

    assert list(scan(root)) == [path.relative_to(root).as_posix() for path in iter_item_files(root)]


def test_fingerprints_change_with_content_only(generated: Path, tmp_path: Path) -> None:
    root = tmp_path / "copy"
    shutil.copytree(generated, root)
    index = CorpusIndex(root)
    try:
        index.refresh()
        selection = index.selection(NOW)
        topic = next(iter(selection.topics)).name
        before = {q: selection.fingerprint(q) for q in (Query(topic=topic, limit=20), Query(limit=20))}
        assert len(set(before.values())) == 2
        victim = random.Random(1).choice(selection.query(Query(topic=topic, limit=20)))
        path = root / victim.source
        path.write_text(
            path.read_text(encoding="utf-8").replace(victim.title, "A new title"), encoding="utf-8"
        )
        index.refresh()
        after = index.selection(NOW)
        assert after.fingerprint(Query(topic=topic, limit=20)) != before[Query(topic=topic, limit=20)]
        untouched = Query(topic="no such topic")
        assert after.fingerprint(untouched) == selection.fingerprint(untouched)
    finally:
        index.close()


def test_related_stories_are_matched_by_any_of_their_links(write_corpus: CorpusWriter) -> None:
    draft = minimal_item(1) | {
        "published": False,
        "originalUrl": "https://publisher.example/a?ref=1",
        "webUrl": "https://web.example/a",
        "ampWebUrl": "https://amp.example/a",
    }
    shared = minimal_item(2) | {"webUrl": "https://web.example/shared"}
    draft_sharing = minimal_item(3) | {"published": False, "originalUrl": "https://other.example/3"}
    draft_sharing["webUrl"] = "https://web.example/shared"
    related = [
        {"title": "By web link", "webUrl": "https://web.example/a"},
        {"title": "By AMP link", "webUrl": "https://elsewhere.example/x", "ampWebUrl": "https://amp.example/a"},
        {"title": "Shared with a published item", "webUrl": "https://web.example/shared"},
        {"title": "Outside the corpus", "webUrl": "https://outside.example/"},
    ]
    root = write_corpus(
        {
            "draft.txt": item_text(draft),
            "shared.txt": item_text(shared),
            "draft-sharing.txt": item_text(draft_sharing),
            "public.txt": item_text(minimal_item(4), related=related),
        }
    )
    expected = ["Shared with a published item", "Outside the corpus"]
    reference = Selection(load_corpus(root).items, NOW)
    index = CorpusIndex(root)
    try:
        index.refresh()
        for selection in (reference, index.selection(NOW)):
            [public] = [item for item in selection.query(Query()) if item.title == "Story 4"]
            assert [story.title for story in public.related] == expected
    finally:
        index.close()
