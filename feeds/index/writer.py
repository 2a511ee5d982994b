"""Bring an index up to date: the rows of files read again, the removal of files gone, and
the election of the copy of each story that is published.

A change is one transaction of the index, so no reader sees half of one. A first reading,
which writes every row, is built in a new file beside the index and renamed over it when
complete: a build killed at any moment leaves the previous file, and never half a new one.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..corpus.files import Stamp
from ..errors import ItemError
from . import bulk, changes, grouping, links, store
from .rows import Problem, Read, insert_files, insert_rows, read_files
from .store import INDEXES, TABLES, Transaction, batches


@dataclass(frozen=True, slots=True)
class Refresh:
    """What one refresh found: files read again, files gone, and whether the published
    content changed (a file rewritten with the same content is no change)."""

    read: int = 0
    removed: int = 0
    changed: bool = False
    problems: tuple[ItemError, ...] = ()
    """The problems of the files read in this refresh."""
    stories: frozenset[str] = field(default=frozenset())
    """The ids of the stories whose files were read again or removed."""


def update(
    db: sqlite3.Connection,
    root: Path,
    on_disk: dict[str, Stamp],
    changed: list[str],
    removed: list[str],
    workers: int,
    *,
    first: bool = False,
    window: int | None = None,
) -> Refresh:
    """Read ``changed`` files again and forget ``removed`` ones, in one transaction; a
    ``first`` reading (of an empty index) elects every story at once. The stories told
    more than once within ``window`` seconds are kept (see :mod:`.grouping`)."""
    problems: list[ItemError] = []
    different = bool(removed)
    with Transaction(db):
        old = _digests(db, changed)
        linked_as = None if first or removed else _linked_by(db, changed)
        stories = _stories_of(db, changed + removed)
        _delete(db, changed + removed)
        for batch in read_files(root, changed, workers):
            insert(db, batch, on_disk)
            for path, row, found in batch:
                problems.extend(_errors(root, path, found))
                if row is not None:
                    stories.add(row.id)
                stored = (None if row is None else row.digest, json.dumps(found) if found else None)
                different = different or old.get(path) != stored
        elect(db, None if first else stories)
        links.relink(db, None if first else changed + removed)
        # Files read again with the same links (a title, heat or topic edited) leave every
        # story's tellings as they were: their stories are described anew, not regrouped.
        alike = linked_as is not None and _linked_by(db, changed) == linked_as
        paths = None if first else changed + removed + _paths_of(db, stories)
        grouping.regroup(db, window, paths, same_tellings=alike)
        if different:
            db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")
            changes.prune(db)
    return Refresh(len(changed), len(removed), different, tuple(problems), frozenset(stories))


def build(
    path: Path,
    root: Path,
    key: str,
    on_disk: dict[str, Stamp],
    workers: int,
    generation: int,
    window: int | None = None,
) -> Refresh:
    """Write a new index of every file of ``on_disk`` to a file beside ``path``, then put it
    in place of ``path`` (whose connections the caller has closed). ``key`` is the folder
    the index is of; ``generation`` is the new file's first."""
    for stale in path.parent.glob(f"{path.name}.build-*"):  # left by a build that was killed
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)
    temporary = path.with_name(f"{path.name}.build-{os.getpid()}")
    shards = Path(f"{temporary}.shards")
    summaries = bulk.read_into_shards(shards, root, list(on_disk), workers)
    # No journal and no syncing while it is written: until it is renamed, nobody reads it.
    db = sqlite3.connect(temporary, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        db.execute("PRAGMA cache_size=-65536")
        db.executescript(TABLES)
        bulk.merge(db, shards)
        db.execute("BEGIN")
        insert_files(db, summaries, on_disk)
        for statement in filter(str.strip, INDEXES.split(";")):  # after the rows: one sort each
            db.execute(statement)
        links.relink(db, None)
        grouping.regroup(db, window, None)
        db.executemany(
            "INSERT INTO meta VALUES (?, ?)",
            [("schema", store.SCHEMA_VERSION), ("root", key), ("generation", str(generation))],
        )
        changes.start(db, generation)  # from here on: the rows above are of ``generation``
        db.execute("COMMIT")
    finally:
        db.close()
    _sync(temporary)
    for suffix in ("-wal", "-shm"):  # the old file's log must not be taken for the new file's
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    os.replace(temporary, path)
    _sync(path.parent)
    problems = [error for name, _, found in summaries for error in _errors(root, name, found)]
    stories = frozenset(story for _, story, _ in summaries if story is not None)
    return Refresh(len(on_disk), 0, True, tuple(problems), stories)


def _sync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _errors(root: Path, path: str, found: Iterable[Problem]) -> list[ItemError]:
    return [
        ItemError(root / path, message, line, warning=warning, field=where)
        for line, message, warning, where in found
    ]


def insert(db: sqlite3.Connection, batch: list[Read], stamps: dict[str, Stamp]) -> None:
    insert_files(db, batch, stamps)
    insert_rows(db, [(path, row) for path, row, _ in batch if row is not None])


def _digests(db: sqlite3.Connection, paths: list[str]) -> dict[str, tuple[str | None, str | None]]:
    """What each file gave when last read: its record's digest and its problems."""
    found: dict[str, tuple[str | None, str | None]] = {}
    for marks, batch in batches(paths):
        for path, digest, problems in db.execute(
            f"SELECT files.path, items.digest, files.problems FROM files"
            f" LEFT JOIN items ON items.path = files.path WHERE files.path IN ({marks})",
            batch,
        ):
            found[path] = (digest, problems)
    return found


def _linked_by(db: sqlite3.Connection, paths: list[str]) -> dict[str, tuple[object, ...]]:
    """What the links to and from the items of ``paths`` are made of: each item's id, date,
    listing and related stories, and the keys it is named by."""
    columns: dict[str, tuple[object, ...]] = {}
    named: dict[str, list[str]] = {}
    for marks, batch in batches(paths):
        for path, *found in db.execute(
            f"SELECT path, id, published_at, listed, related FROM items WHERE path IN ({marks})", batch
        ):
            columns[path] = tuple(found)
        for path, key in db.execute(f"SELECT path, key FROM item_keys WHERE path IN ({marks})", batch):
            named.setdefault(path, []).append(key)
    return {path: (*found, tuple(sorted(named.get(path, ())))) for path, found in columns.items()}


def _stories_of(db: sqlite3.Connection, paths: list[str]) -> set[str]:
    stories: set[str] = set()
    for marks, batch in batches(paths):
        rows = db.execute(f"SELECT id FROM items WHERE path IN ({marks})", batch)
        stories.update(row[0] for row in rows)
    return stories


def _paths_of(db: sqlite3.Connection, stories: set[str]) -> list[str]:
    """The files of the items of these ids: the election may have changed which is listed."""
    paths: list[str] = []
    for marks, batch in batches(sorted(stories)):
        paths += [row[0] for row in db.execute(f"SELECT path FROM items WHERE id IN ({marks})", batch)]
    return paths


def _delete(db: sqlite3.Connection, paths: list[str]) -> None:
    for marks, batch in batches(paths):
        for table in ("files", "items", "item_topics", "item_keys", "item_related"):
            db.execute(f"DELETE FROM {table} WHERE path IN ({marks})", batch)


def elect(db: sqlite3.Connection, stories: set[str] | None) -> None:
    """Mark the copy of each story that is published: the newest, then the first path,
    as :func:`feeds.corpus.assemble` decides. ``None`` means every story."""
    if stories is None:
        db.execute(
            "UPDATE items SET winner = path IN (SELECT path FROM ("
            " SELECT path, row_number() OVER (PARTITION BY id ORDER BY published_at DESC, path)"
            " AS rank FROM items) WHERE rank = 1)"
        )
        db.execute("UPDATE items SET listed = winner AND published")
        db.execute("UPDATE item_topics SET listed = 0 WHERE listed != 0")
        db.execute(
            "UPDATE item_topics SET listed = 1 WHERE path IN (SELECT path FROM items WHERE listed = 1)"
        )
        return
    for story in sorted(stories):
        rows = db.execute(
            "SELECT path, published FROM items WHERE id = ? ORDER BY published_at DESC, path", (story,)
        ).fetchall()
        for rank, (path, published) in enumerate(rows):
            listed = int(rank == 0 and bool(published))
            db.execute(
                "UPDATE items SET listed = ?, winner = ? WHERE path = ?", (listed, int(rank == 0), path)
            )
            db.execute("UPDATE item_topics SET listed = ? WHERE path = ?", (listed, path))
