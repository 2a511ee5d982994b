"""What the index stores of one file, made from reading it: in this process, or in worker
processes when many files changed."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from .. import records
from ..corpus.files import Stamp
from ..corpus.reader import read_file
from ..model import Item, keys_of
from ..processes import starting_workers, worker_pool
from ..topics import topic_key
from .store import CHUNK

PARALLEL_THRESHOLD = 2000
"""Fewer changed files than this are read in this process: starting workers costs more."""

Problem = tuple[int | None, str, bool, "str | None"]
"""An ItemError as stored: line, message, whether it is a warning."""

_NOT_UTF8 = re.compile(r"\\udc[89a-f][0-9a-f]")
"""A byte that is not UTF-8, as a stored name shows it (``\\udce9``): such a file cannot be
opened by its stored name, and is reported instead. (A name holding that very text is
taken for one too.)"""


Read = tuple[str, "Row | None", list[Problem]]
"""What reading one file gave: its path, its row of the items table, its problems."""


@dataclass(frozen=True, slots=True)
class Row:
    """An item as the index stores it: the columns it is selected by, and its record."""

    id: str
    published: bool
    published_at: int
    heat: int
    quality: int | None
    digest: str
    related: str
    """The keys of each related story, stories apart by spaces, keys by commas."""
    topics: tuple[tuple[str, str], ...]
    """(key, name) of each topic, one per key."""
    keys: tuple[str, ...]
    url: str
    data: bytes

    @classmethod
    def of(cls, item: Item) -> Row:
        data = records.dumps(item)
        names = {topic_key(name): name for name in reversed(item.topics)}
        return cls(
            id=item.id,
            published=item.published,
            published_at=records.seconds(item.published_at),
            heat=item.heat,
            quality=item.quality,
            digest=records.digest(data),
            related=" ".join(",".join(keys_of(story)) for story in item.related),
            topics=tuple(names.items()),
            keys=keys_of(item),
            url=item.url,
            data=data,
        )


def insert_files(
    db: sqlite3.Connection, reads: Iterable[tuple[str, object, list[Problem]]], stamps: dict[str, Stamp]
) -> None:
    """The files table's row of each file read: its stamp and its problems."""
    db.executemany(
        "INSERT INTO files VALUES (?, ?, ?, ?, ?)",
        [(path, *stamps[path], json.dumps(found) if found else None) for path, _, found in reads],
    )


def insert_rows(db: sqlite3.Connection, rows: list[tuple[str, Row]]) -> None:
    """The rows of the items, topics and keys tables of each file's item."""
    db.executemany(
        "INSERT INTO items (path, id, published, published_at, heat, quality, digest, related, data, url)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (path, r.id, r.published, r.published_at, r.heat, r.quality, r.digest, r.related, r.data, r.url)
            for path, r in rows
        ],
    )
    db.executemany(
        "INSERT INTO item_topics (path, key, name, published_at, id, heat, quality)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (path, key, name, r.published_at, r.id, r.heat, r.quality)
            for path, r in rows
            for key, name in r.topics
        ],
    )
    db.executemany(
        "INSERT INTO item_keys (path, key) VALUES (?, ?)", [(path, key) for path, r in rows for key in r.keys]
    )
    db.executemany(
        "INSERT INTO item_related (path, key) VALUES (?, ?)",
        [(path, key) for path, r in rows for key in dict.fromkeys(r.related.replace(",", " ").split())],
    )


def read_chunk(root: str, paths: Iterable[str]) -> list[Read]:
    """Read files, in a worker process for a big refresh."""
    results: list[Read] = []
    for path in paths:
        if _NOT_UTF8.search(path):
            results.append((path, None, [(None, "the file name is not UTF-8; rename the file", False, None)]))
            continue
        result = read_file(os.path.join(root, path), path, root)
        problems: list[Problem] = [(p.line, p.message, p.warning, p.field) for p in result.problems]
        results.append((path, None if result.item is None else Row.of(result.item), problems))
    return results


def read_files(root: Path, paths: list[str], workers: int) -> Iterator[list[Read]]:
    """The files read, in batches: in this process, or in ``workers`` processes (one batch
    per task) when there are many."""
    yield from in_batches(read_chunk, root, paths, workers)


T = TypeVar("T")


def in_batches(
    work: Callable[[str, list[str]], T], root: Path, paths: list[str], workers: int
) -> Iterator[T]:
    """``work(root, batch)`` for each batch of ``paths``: in this process, or in ``workers``
    processes when there are many."""
    chunks = [paths[start : start + CHUNK] for start in range(0, len(paths), CHUNK)]
    if len(paths) < PARALLEL_THRESHOLD or workers < 2:
        for chunk in chunks:
            yield work(str(root), chunk)
        return
    # Fork where this is the only thread (a command): quick, and nothing to re-import. A
    # server refreshes from a thread, and forking a threaded process can copy a lock
    # another thread holds: spawn there.
    method = "fork" if threading.active_count() == 1 else "spawn"
    with worker_pool(workers, method) as pool:
        with starting_workers():
            made = pool.map(work, [str(root)] * len(chunks), chunks)
        yield from made
