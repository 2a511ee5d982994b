"""The index is a cache: a corrupt one is thrown away, a killed first reading leaves none
half-built, and a refresh told which paths changed gives what a full one gives."""

from __future__ import annotations

import logging
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bench.generate import generate
from feeds.config import Settings
from feeds.corpus import load_corpus
from feeds.export import MANIFEST, export_site
from feeds.index import CorpusIndex
from feeds.index import corpus_index as index_module

from .conftest import NOW, ROOT, CorpusWriter, item_text, minimal_item


def contents(index: CorpusIndex) -> tuple[object, ...]:
    """Everything a reader can get from an index, as plain values."""
    selection = index.selection(NOW)
    return (
        index.file_count(),
        [str(problem) for problem in index.problems()],
        index.items(),
        list(selection.topics),
        [row[:-1] for row in index.db.execute("SELECT * FROM items ORDER BY path")],
        index.db.execute("SELECT * FROM item_topics ORDER BY path, key").fetchall(),
        index.db.execute("SELECT * FROM item_keys ORDER BY path, key").fetchall(),
    )


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("store") / "corpus"
    generate(1200, root, seed=11)
    return root


@pytest.fixture(scope="module")
def reference(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[object, ...]:
    index = CorpusIndex(corpus, tmp_path_factory.mktemp("reference") / "index.sqlite3")
    try:
        index.refresh()
        return contents(index)
    finally:
        index.close()


def test_a_first_reading_in_bulk_equals_one_in_a_transaction(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index_module, "BULK_THRESHOLD", 10**9)
    index = CorpusIndex(corpus, tmp_path / "index.sqlite3")
    try:
        index.refresh()
        assert contents(index)[:4] == (1200, *[part for part in contents(index)[1:4]])
        transactional = contents(index)
    finally:
        index.close()
    monkeypatch.setattr(index_module, "BULK_THRESHOLD", 1)
    bulk = CorpusIndex(corpus, tmp_path / "bulk.sqlite3")
    try:
        assert bulk.refresh().read == 1200
        assert contents(bulk) == transactional
        assert list(tmp_path.glob("*.build-*")) == []
    finally:
        bulk.close()


def damage(path: Path, how: str) -> None:
    data = bytearray(path.read_bytes())
    if how == "header":
        data[:100] = b"not a database at all" * 4 + b"x" * 16
    elif how == "truncated":
        del data[len(data) // 3 :]
    else:  # pages in the middle overwritten
        middle = len(data) // 2
        data[middle : middle + 16384] = random.Random(5).randbytes(16384)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["header", "truncated", "middle"])
def test_a_corrupt_index_is_never_used_but_built_anew(
    corpus: Path, reference: tuple[object, ...], tmp_path: Path, how: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "index.sqlite3"
    index = CorpusIndex(corpus, path)
    index.refresh()
    index.close()
    damage(path, how)
    with caplog.at_level(logging.WARNING, logger="feeds.index"):
        again = CorpusIndex(corpus, path)
        try:
            again.refresh()
            assert again.recovering(lambda: contents(again)) == reference
        finally:
            again.close()
    assert "building it anew" in caplog.text


def test_an_export_from_a_damaged_index_is_the_export_of_a_sound_one(
    corpus: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def export(index: Path, out: Path) -> dict[str, bytes]:
        settings = Settings(corpus=corpus, index=str(index))
        export_site(settings, out, now=NOW)
        files = (p for p in out.rglob("*") if p.is_file() and p.name != MANIFEST)
        return {p.relative_to(out).as_posix(): p.read_bytes() for p in files}

    sound = export(tmp_path / "sound.sqlite3", tmp_path / "sound")
    export(tmp_path / "damaged.sqlite3", tmp_path / "first")
    damage(tmp_path / "damaged.sqlite3", "middle")
    with caplog.at_level(logging.WARNING, logger="feeds.index"):
        assert export(tmp_path / "damaged.sqlite3", tmp_path / "again") == sound
    assert "building it anew" in caplog.text


_REFRESH = "import sys; from pathlib import Path; from feeds.index import CorpusIndex;" \
    " CorpusIndex(Path(sys.argv[1]), Path(sys.argv[2])).refresh()"  # fmt: skip


@pytest.mark.slow
def test_a_first_reading_killed_at_any_moment_leaves_no_half_built_index(
    corpus: Path, reference: tuple[object, ...], tmp_path: Path
) -> None:
    path = tmp_path / "index.sqlite3"
    rng = random.Random(3)
    for _ in range(8):
        process = subprocess.Popen([sys.executable, "-c", _REFRESH, str(corpus), str(path)], cwd=ROOT)
        time.sleep(rng.uniform(0.2, 2.5))
        process.send_signal(signal.SIGKILL)
        process.wait()
        if path.exists():  # the empty index opened first, or the whole new one: never a part
            db = sqlite3.connect(path)
            try:
                assert db.execute("SELECT count(*) FROM files").fetchone()[0] in (0, 1200)
            finally:
                db.close()
    index = CorpusIndex(corpus, path)
    try:
        index.refresh()
        assert contents(index) == reference
        assert list(tmp_path.glob("*.build-*")) == []
    finally:
        index.close()


def test_a_refresh_told_the_changed_paths_equals_a_full_one(
    write_corpus: CorpusWriter, tmp_path: Path
) -> None:
    rng = random.Random(17)
    root = write_corpus({f"{n % 3}/s{n}.txt": item_text(minimal_item(n)) for n in range(30)})
    told = CorpusIndex(root, tmp_path / "told.sqlite3")
    full = CorpusIndex(root, tmp_path / "full.sqlite3")
    try:
        told.refresh()
        for step in range(40):
            names = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.txt"))
            changed: set[str] = set()
            action = rng.choice(["edit", "add", "remove", "folder", "move folder", "hidden", "link"])
            if action == "edit":
                name = rng.choice(names)
                (root / name).write_text(item_text(minimal_item(rng.randrange(100)), body=f"edit {step}"))
                changed.add(name)
            elif action == "add":
                name = f"{rng.randrange(3)}/new{step}.txt"
                (root / name).parent.mkdir(exist_ok=True)
                (root / name).write_text(item_text(minimal_item(100 + step)))
                changed.add(name)
            elif action == "remove" and names:
                name = rng.choice(names)
                (root / name).unlink()
                changed.add(name)
            elif action == "folder":
                folder = root / f"f{step}" / "deep"
                folder.mkdir(parents=True)
                (folder / "x.md").write_text(item_text(minimal_item(200 + step)))
                changed.add(f"f{step}")
            elif action == "move folder":
                source = rng.choice([d for d in root.iterdir() if d.is_dir()])
                source.rename(root / f"moved{step}")
                changed |= {source.name, f"moved{step}"}
            elif action == "hidden":
                (root / ".git").mkdir(exist_ok=True)
                (root / ".git" / f"h{step}.txt").write_text(item_text(minimal_item(300 + step)))
                changed.add(f".git/h{step}.txt")
            else:
                (root / f"link{step}").symlink_to(rng.choice([d for d in root.iterdir() if d.is_dir()]))
                changed |= {f"link{step}", f"link{step}/x.md"}
            told.refresh(paths=changed)
            full.refresh()
            assert contents(told)[:4] == contents(full)[:4], (step, action)
    finally:
        told.close()
        full.close()
    assert os.path.isdir(root)
    assert load_corpus(root).files == told.file_count()


def test_a_new_index_opened_while_another_connection_writes_to_it_waits_for_it(
    write_corpus: CorpusWriter, tmp_path: Path
) -> None:
    # The processes of a server open one new index at once. Switching a new file to the
    # write-ahead log needs it alone, and SQLite refuses at once, without waiting: the
    # opening must wait instead of failing.
    root = write_corpus({"a.txt": item_text(minimal_item(1))})
    path = tmp_path / "index.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    threading.Timer(0.3, holder.execute, ["COMMIT"]).start()
    started = time.monotonic()
    index = CorpusIndex(root, path)
    try:
        assert time.monotonic() - started >= 0.25
        index.refresh()
        assert index.ready and len(index.items()) == 1
    finally:
        index.close()
        holder.close()
