"""The index file: its schema, its connections, the writers' lock, and what makes a file
one to throw away (another version's, another folder's, a corrupt one)."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from .. import records
from ..databases import use_wal
from ..model import Item

SCHEMA_VERSION = "8"
MEMORY = ":memory:"
CHUNK = 500
"""Rows per statement and files per batch read."""
TIMEOUT = 60
"""Seconds a connection waits for a lock another one holds."""

TABLES = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, inode INTEGER, size INTEGER, mtime_ns INTEGER, problems TEXT
);
CREATE TABLE IF NOT EXISTS items (
    path TEXT PRIMARY KEY, id TEXT NOT NULL, published INTEGER NOT NULL,
    published_at INTEGER NOT NULL, heat INTEGER NOT NULL, quality INTEGER,
    listed INTEGER NOT NULL DEFAULT 0, winner INTEGER NOT NULL DEFAULT 0,
    digest TEXT NOT NULL, related TEXT NOT NULL, data BLOB NOT NULL, url TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS item_keys (path TEXT NOT NULL, key TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS item_related (path TEXT NOT NULL, key TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS item_links (path TEXT NOT NULL, other TEXT NOT NULL, gap INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS item_story (
    member TEXT PRIMARY KEY, path TEXT NOT NULL, heat INTEGER NOT NULL, quality INTEGER, topics TEXT NOT NULL,
    names TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS stories (
    path TEXT PRIMARY KEY, id TEXT NOT NULL, listed INTEGER NOT NULL DEFAULT 1,
    published_at INTEGER NOT NULL, heat INTEGER NOT NULL, quality INTEGER, late INTEGER NOT NULL,
    topics TEXT NOT NULL, digest TEXT NOT NULL, related TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS story_topics (
    path TEXT NOT NULL, key TEXT NOT NULL, name TEXT NOT NULL, listed INTEGER NOT NULL DEFAULT 1,
    published_at INTEGER NOT NULL, id TEXT NOT NULL, heat INTEGER NOT NULL, quality INTEGER
);
CREATE TABLE IF NOT EXISTS item_topics (
    path TEXT NOT NULL, key TEXT NOT NULL, name TEXT NOT NULL, listed INTEGER NOT NULL DEFAULT 0,
    published_at INTEGER NOT NULL, id TEXT NOT NULL, heat INTEGER NOT NULL, quality INTEGER
);
"""
TABLE_NAMES = (
    "files", "items", "item_topics", "item_keys", "item_related", "item_links",
    "item_story", "stories", "story_topics", "change_log", "key_log", "meta",
)  # fmt: skip
INDEXES = "".join(
    f"CREATE INDEX IF NOT EXISTS {name} ON {columns};\n"
    for name, columns in (
        ("items_by_id", "items (id, published_at DESC, path)"),
        ("items_latest", "items (listed, published_at DESC, id)"),
        ("topics_latest", "item_topics (key, listed, published_at DESC, id)"),
        ("topics_by_path", "item_topics (path)"),
        # Heat selections, and the counts of the index page, without reading the rows.
        ("items_hot", "items (listed, heat, published_at)"),
        ("topics_hot", "item_topics (key, listed, heat, published_at)"),
        ("keys_by_key", "item_keys (key)"),
        ("keys_by_path", "item_keys (path)"),
        ("related_by_key", "item_related (key)"),
        ("related_by_path", "item_related (path)"),
        # Tellings of one story: the links within a window, without reading the others.
        ("links_by_gap", "item_links (gap, path, other)"),
        ("links_by_path", "item_links (path)"),
        ("links_by_other", "item_links (other)"),
        # The stories of the index's window (see grouping.py), selected as items are.
        ("story_members", "item_story (path)"),
        ("stories_latest", "stories (listed, published_at DESC, id)"),
        ("stories_hot", "stories (listed, heat, published_at)"),
        ("stories_late", "stories (late)"),
        ("story_topics_latest", "story_topics (key, listed, published_at DESC, id)"),
        ("story_topics_hot", "story_topics (key, listed, heat, published_at)"),
        ("story_topics_by_path", "story_topics (path)"),
    )
)
_CORRUPT = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})


def connect(path: Path) -> sqlite3.Connection:
    """A connection as readers and incremental writers use it: write-ahead log, so readers
    see committed versions while one process writes."""
    db = sqlite3.connect(path, timeout=TIMEOUT, isolation_level=None, check_same_thread=False)
    use_wal(db, TIMEOUT)
    db.execute("PRAGMA synchronous=NORMAL")
    # Queries are indexed, so a small page cache serves them; each thread has one.
    db.execute("PRAGMA cache_size=-2000")
    return db


class CorruptIndex(sqlite3.DatabaseError):
    """A stored record whose bytes no longer match their digest."""


def is_corrupt(err: sqlite3.Error) -> bool:
    """Whether an error says the file is not a database, or a damaged one."""
    return isinstance(err, CorruptIndex) or getattr(err, "sqlite_errorcode", None) in _CORRUPT


def load(data: bytes, digest: str) -> Item:
    """The item of a stored record, checked against the digest stored beside it, so that
    damage SQLite cannot see (inside a record) is not published."""
    if records.digest(data) != digest:
        raise CorruptIndex("a stored item does not match its digest")
    return records.loads(data)


def remove(path: Path) -> None:
    """Remove an index file with its write-ahead log and shared memory."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def inode(path: Path) -> int | None:
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def batches(paths: Sequence[str]) -> Iterator[tuple[str, list[str]]]:
    """``paths`` in batches, each with the ``?, ?, …`` of a statement that takes them."""
    for start in range(0, len(paths), CHUNK):
        batch = list(paths[start : start + CHUNK])
        yield ",".join("?" * len(batch)), batch


class Transaction:
    """One immediate write transaction: committed at the end, rolled back on an error."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, *_: object) -> None:
        self.db.execute("COMMIT" if kind is None else "ROLLBACK")


class WriteLock:
    """An exclusive lock on a file beside the index, across processes and threads.

    A POSIX record lock, not flock: a process forked while this one holds it (a gunicorn
    worker, say) does not inherit it, so it can never be left held by a process that
    does not know it holds it. Within a process, ``threads`` keeps threads apart.
    """

    def __init__(self, path: Path, threads: threading.Lock, *, wait: bool) -> None:
        self.path = path
        self.threads = threads
        self.wait = wait
        self.fd = -1
        self.held = False

    def __enter__(self) -> bool:
        if not self.threads.acquire(blocking=self.wait):
            return False
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.lockf(self.fd, fcntl.LOCK_EX | (0 if self.wait else fcntl.LOCK_NB))
        except OSError:  # held by another process
            os.close(self.fd)
            self.threads.release()
            return False
        self.held = True
        return True

    def __exit__(self, *_: object) -> None:
        if self.held:
            os.close(self.fd)  # releases the lock
            self.threads.release()
            self.held = False
