"""A first reading of a corpus, written in bulk: each process that reads files writes their
rows into a shard of its own (so rows are made and stored on every core), and the shards
are merged into the new index by SQLite, the copy of each story that is published elected
on the way."""

from __future__ import annotations

import functools
import os
import shutil
import sqlite3
from pathlib import Path

from .rows import Problem, in_batches, insert_rows, read_chunk
from .store import TABLES

Summary = tuple[str, "str | None", list[Problem]]
"""What the reader of a shard reports of each file: its path, its story's id, its problems."""

_connections: dict[str, sqlite3.Connection] = {}
"""This process's shard, by folder: one connection, kept across the batches it writes."""


def read_into_shards(folder: Path, root: Path, paths: list[str], workers: int) -> list[Summary]:
    """Read ``paths`` into shards in ``folder``; what each file gave."""
    folder.mkdir()
    summaries: list[Summary] = []
    for batch in in_batches(functools.partial(write_shard, str(folder)), root, paths, workers):
        summaries.extend(batch)
    held = _connections.pop(str(folder), None)  # this process's own, if it read any
    if held is not None:
        held.close()
    return summaries


def write_shard(folder: str, root: str, paths: list[str]) -> list[Summary]:
    """Read files and write their rows to this process's shard in ``folder``."""
    db = _connections.get(folder)
    if db is None:
        db = _connections[folder] = sqlite3.connect(
            os.path.join(folder, f"shard-{os.getpid()}.sqlite3"), isolation_level=None
        )
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        db.executescript(TABLES)
    batch = read_chunk(root, paths)
    rows = [(path, row) for path, row, _ in batch if row is not None]
    db.execute("BEGIN")
    insert_rows(db, rows)
    db.execute("COMMIT")
    return [(path, None if row is None else row.id, found) for path, row, found in batch]


def merge(db: sqlite3.Connection, folder: Path) -> None:
    """Copy every shard of ``folder`` into ``db`` (outside a transaction), electing the
    copy of each story that is published as :func:`feeds.corpus.assemble` does; then
    remove the shards."""
    shards = sorted(folder.glob("shard-*.sqlite3"))
    names = [f"shard{number}" for number in range(len(shards))]
    for name, shard in zip(names, shards, strict=True):
        db.execute(f"ATTACH DATABASE ? AS {name}", (str(shard),))
    try:
        every = " UNION ALL ".join(f"SELECT path, id, published_at FROM {name}.items" for name in names)
        db.execute("CREATE TEMP TABLE winners (path TEXT PRIMARY KEY)")
        if names:
            db.execute(
                "INSERT INTO winners SELECT path FROM (SELECT path, row_number() OVER"
                f" (PARTITION BY id ORDER BY published_at DESC, path) AS rank FROM ({every})) WHERE rank = 1"
            )
        for name in names:
            db.execute(
                "INSERT INTO items SELECT path, id, published, published_at, heat, quality,"
                " published AND path IN temp.winners, path IN temp.winners, digest, related, data, url"
                f" FROM {name}.items"
            )
        db.execute("CREATE TEMP TABLE listed (path TEXT PRIMARY KEY)")
        db.execute("INSERT INTO listed SELECT path FROM items WHERE listed = 1")
        for name in names:
            db.execute(
                "INSERT INTO item_topics SELECT path, key, name, path IN temp.listed, published_at, id, heat,"
                f" quality FROM {name}.item_topics"
            )
            db.execute(f"INSERT INTO item_keys SELECT path, key FROM {name}.item_keys")
            db.execute(f"INSERT INTO item_related SELECT path, key FROM {name}.item_related")
        db.execute("DROP TABLE temp.winners")
        db.execute("DROP TABLE temp.listed")
    finally:
        for name in names:
            db.execute(f"DETACH DATABASE {name}")
        shutil.rmtree(folder, ignore_errors=True)
