"""A persistent index of a corpus in SQLite: only changed files are read again, and feeds
are selected by indexed queries instead of scanning every item.

The index is a cache of what the corpus reader made of each file, keyed by the file's
inode, size and modification time. It holds public fields only (the reader drops the rest
before an item exists). :class:`IndexedSelection` answers exactly what
:class:`feeds.select.Selection` answers for the same items and clock; the tests hold the
two to that.

Processes share one index file: one refreshes it at a time (a lock file beside it), the
others read committed versions (SQLite's write-ahead log), each thread on its own
connection. A refresh is one transaction, so no reader ever sees half of one.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import re
import sqlite3
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from . import records
from .config import Settings
from .corpus import duplicate_warning, read_item_file
from .corpus.files import Stamp, scan
from .errors import FeedsError, ItemError
from .model import UNSCORED, Item
from .select import Order, Query, keys_of, names_hidden
from .topics import TopicIndex, topic_key

log = logging.getLogger(__name__)

SCHEMA_VERSION = "3"
PARALLEL_THRESHOLD = 2000
"""Fewer changed files than this are read in this process: starting workers costs more."""
CHUNK = 500
RACY_NS = 2_000_000_000
"""A file modified this recently is read again at every refresh even if its stamp is the
same: a second write within the file system's timestamp granularity leaves it unchanged."""
MEMORY = ":memory:"

Problem = tuple[int | None, str, bool]
"""An ItemError as stored: line, message, whether it is a warning."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, inode INTEGER, size INTEGER, mtime_ns INTEGER, problems TEXT
);
CREATE TABLE IF NOT EXISTS items (
    path TEXT PRIMARY KEY, id TEXT NOT NULL, published INTEGER NOT NULL,
    published_at INTEGER NOT NULL, heat INTEGER NOT NULL, quality INTEGER,
    listed INTEGER NOT NULL DEFAULT 0, winner INTEGER NOT NULL DEFAULT 0,
    digest TEXT NOT NULL, related TEXT NOT NULL, data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS item_keys (path TEXT NOT NULL, key TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS item_topics (
    path TEXT NOT NULL, key TEXT NOT NULL, name TEXT NOT NULL, listed INTEGER NOT NULL DEFAULT 0,
    published_at INTEGER NOT NULL, id TEXT NOT NULL, heat INTEGER NOT NULL, quality INTEGER
);
"""
_INDEXES = (
    ("items_by_id", "items (id, published_at DESC, path)"),
    ("items_latest", "items (listed, published_at DESC, id)"),
    ("topics_latest", "item_topics (key, listed, published_at DESC, id)"),
    ("topics_by_path", "item_topics (path)"),
    ("keys_by_key", "item_keys (key)"),
    ("keys_by_path", "item_keys (path)"),
)
_SCHEMA += "".join(f"CREATE INDEX IF NOT EXISTS {name} ON {columns};\n" for name, columns in _INDEXES)


def default_index_path(root: Path) -> Path:
    """Where the index of ``root`` lives unless configured: the user's cache folder, one
    file per corpus folder."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    resolved = root.resolve().as_posix()
    digest = hashlib.blake2b(resolved.encode(), digest_size=6).hexdigest()
    return cache / "feeds" / f"{Path(resolved).name or 'root'}-{digest}.sqlite3"


def open_index(settings: Settings, *, workers: int | None = None) -> CorpusIndex:
    """The index that ``settings`` name for their corpus. Raises FeedsError."""
    if settings.index in ("memory", MEMORY):
        return CorpusIndex(settings.corpus, MEMORY, workers=workers)
    path = Path(settings.index) if settings.index else default_index_path(settings.corpus)
    return CorpusIndex(settings.corpus, path, workers=workers)


@dataclass(frozen=True, slots=True)
class Refresh:
    """What one refresh found: files read again, files gone, and whether the published
    content changed (a file rewritten with the same content is no change)."""

    read: int = 0
    removed: int = 0
    changed: bool = False
    problems: tuple[ItemError, ...] = ()
    """The problems of the files read in this refresh."""


class CorpusIndex:
    """The index of one corpus folder in one SQLite file.

    ``path`` is the index file; :data:`MEMORY` keeps it in a temporary file removed on
    :meth:`close`. Raises FeedsError if ``root`` is not a folder or the index cannot be
    opened.
    """

    def __init__(
        self,
        root: Path,
        path: Path | str = MEMORY,
        *,
        workers: int | None = None,
        wall_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        if not root.is_dir():
            raise FeedsError(f"corpus folder not found: {root}")
        self.root = root
        self.workers = workers if workers is not None else (os.cpu_count() or 1)
        self._wall_ns = wall_ns
        self._temporary = path == MEMORY
        if self._temporary:
            fd, name = tempfile.mkstemp(prefix="feeds-index-", suffix=".sqlite3")
            os.close(fd)
            path = name
        self.path = Path(path)
        self._local = threading.local()
        self._refreshing = threading.Lock()
        self._racy: set[str] = set()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._writing(wait=True):
                self._prepare()
        except (OSError, sqlite3.Error) as err:
            raise FeedsError(f"cannot open the index {self.path}: {err}") from None

    # -- connections ----------------------------------------------------------------

    @property
    def db(self) -> sqlite3.Connection:
        """This thread's connection (a new one after a fork: connections never cross it)."""
        held = getattr(self._local, "db", None)
        if held is None or held[0] != os.getpid():
            db = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            # Queries are indexed, so a small page cache serves them; each thread has one.
            db.execute("PRAGMA cache_size=-2000")
            held = (os.getpid(), db)
            self._local.db = held
        connection: sqlite3.Connection = held[1]
        return connection

    def close(self) -> None:
        held = getattr(self._local, "db", None)
        if held is not None and held[0] == os.getpid():
            held[1].close()
            self._local.db = None
        if self._temporary:
            for suffix in ("", "-wal", "-shm", ".lock"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    def _writing(self, *, wait: bool) -> _WriteLock:
        return _WriteLock(Path(f"{self.path}.lock"), self._refreshing, wait=wait)

    def _prepare(self) -> None:
        db = self.db
        db.executescript(_SCHEMA)
        schema = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        root = db.execute("SELECT value FROM meta WHERE key = 'root'").fetchone()
        if schema == (SCHEMA_VERSION,) and root == (str(self.root.resolve()),):
            return
        with _Transaction(db):  # another version's index, or another folder's: start anew
            for table in ("files", "items", "item_topics", "item_keys", "meta"):
                db.execute(f"DROP TABLE IF EXISTS {table}")
            for statement in filter(str.strip, _SCHEMA.split(";")):
                db.execute(statement)
            db.executemany(
                "INSERT INTO meta VALUES (?, ?)",
                [("schema", SCHEMA_VERSION), ("root", str(self.root.resolve())), ("generation", "0")],
            )

    @property
    def generation(self) -> int:
        """A number that grows with every change of the published content."""
        row = self.db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(row[0]) if row else 0

    # -- refreshing -----------------------------------------------------------------

    def refresh(self, *, wait: bool = True) -> Refresh:
        """Bring the index up to date with the folder: read new and changed files, forget
        removed ones, and decide again which copy of each story is published.

        With ``wait=False`` it returns at once (nothing read) while another process is
        refreshing. A missing corpus folder (a deploy replacing it, say) leaves the index
        as it was.
        """
        with self._writing(wait=wait) as locked:
            if not locked:
                return Refresh()
            if not self.root.is_dir():
                log.warning("corpus folder %s is missing; keeping the last version read", self.root)
                return Refresh()
            return self._refresh()

    def _refresh(self) -> Refresh:
        db = self.db
        on_disk = scan(self.root)
        if not on_disk and not self.root.is_dir():
            return Refresh()  # went during the scan
        known = {
            path: (inode, size, mtime)
            for path, inode, size, mtime in db.execute("SELECT path, inode, size, mtime_ns FROM files")
        }
        racy_after = self._wall_ns() - RACY_NS
        changed = [path for path, stamp in on_disk.items() if known.get(path) != stamp or path in self._racy]
        removed = [path for path in known if path not in on_disk]
        self._racy = {path for path in changed if on_disk[path][2] > racy_after}
        if not changed and not removed:
            return Refresh()
        problems: list[ItemError] = []
        different = bool(removed)
        with _Transaction(db):
            old = self._digests(changed)
            stories = self._stories_of(changed + removed)
            self._delete(changed + removed)
            if not known:  # a first read: build the indexes once, after the rows are in
                for name, _ in _INDEXES:
                    db.execute(f"DROP INDEX IF EXISTS {name}")
            for batch in self._read(changed):
                self._insert(batch, on_disk)
                for path, row, found in batch:
                    problems.extend(ItemError(self.root / path, m, line, warning=w) for line, m, w in found)
                    if row is not None:
                        stories.add(row.id)
                    different = different or old.get(path) != (
                        None if row is None else row.digest,
                        json.dumps(found) if found else None,
                    )
            if not known:
                for name, columns in _INDEXES:
                    db.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {columns}")
            self._elect(stories if known else None)
            if different:
                db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")
        return Refresh(len(changed), len(removed), different, tuple(problems))

    def _read(self, paths: list[str]) -> Iterator[list[Read]]:
        """The files read, in batches: in this process, or in worker processes (one batch
        per worker task) when there are many."""
        chunks = [paths[start : start + CHUNK] for start in range(0, len(paths), CHUNK)]
        if len(paths) < PARALLEL_THRESHOLD or self.workers < 2:
            for chunk in chunks:
                yield _read_chunk(str(self.root), chunk)
            return
        # Fork where this is the only thread (a command): quick, and nothing to re-import. A
        # server refreshes from a thread, and forking a threaded process can copy a lock
        # another thread holds: spawn there.
        method = "fork" if threading.active_count() == 1 else "spawn"
        with ProcessPoolExecutor(self.workers, mp_context=get_context(method)) as pool:
            yield from pool.map(_read_chunk, [str(self.root)] * len(chunks), chunks)

    def _insert(self, batch: list[Read], stamps: dict[str, Stamp]) -> None:
        db = self.db
        db.executemany(
            "INSERT INTO files VALUES (?, ?, ?, ?, ?)",
            [(path, *stamps[path], json.dumps(found) if found else None) for path, _, found in batch],
        )
        rows = [(path, row) for path, row, _ in batch if row is not None]
        db.executemany(
            "INSERT INTO items (path, id, published, published_at, heat, quality, digest, related, data)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (path, r.id, r.published, r.published_at, r.heat, r.quality, r.digest, r.related, r.data)
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
            "INSERT INTO item_keys (path, key) VALUES (?, ?)",
            [(path, key) for path, r in rows for key in r.keys],
        )

    def _batches(self, paths: Sequence[str]) -> Iterator[tuple[str, list[str]]]:
        for start in range(0, len(paths), CHUNK):
            batch = list(paths[start : start + CHUNK])
            yield ",".join("?" * len(batch)), batch

    def _digests(self, paths: list[str]) -> dict[str, tuple[str | None, str | None]]:
        """What each file gave when last read: its record's digest and its problems."""
        found: dict[str, tuple[str | None, str | None]] = {}
        for marks, batch in self._batches(paths):
            for path, digest, problems in self.db.execute(
                f"SELECT files.path, items.digest, files.problems FROM files"
                f" LEFT JOIN items ON items.path = files.path WHERE files.path IN ({marks})",
                batch,
            ):
                found[path] = (digest, problems)
        return found

    def _stories_of(self, paths: list[str]) -> set[str]:
        stories: set[str] = set()
        for marks, batch in self._batches(paths):
            rows = self.db.execute(f"SELECT id FROM items WHERE path IN ({marks})", batch)
            stories.update(row[0] for row in rows)
        return stories

    def _delete(self, paths: list[str]) -> None:
        for marks, batch in self._batches(paths):
            for table in ("files", "items", "item_topics", "item_keys"):
                self.db.execute(f"DELETE FROM {table} WHERE path IN ({marks})", batch)

    def _elect(self, stories: set[str] | None) -> None:
        """Mark the copy of each story that is published: the newest, then the first path,
        as :func:`feeds.corpus.assemble` decides. ``None`` means every story."""
        db = self.db
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

    # -- reading --------------------------------------------------------------------

    def file_count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM files").fetchone()[0])

    def problems(self) -> list[ItemError]:
        """Every error and warning of the corpus in path order, duplicates included, as
        :func:`feeds.corpus.assemble` reports them."""
        db = self.db
        found: list[tuple[str, int, ItemError]] = []
        for path, problems in db.execute(
            "SELECT path, problems FROM files WHERE problems IS NOT NULL ORDER BY path"
        ):
            for line, message, warning in json.loads(problems):
                found.append((path, 0, ItemError(self.root / path, message, line, warning=warning)))
        duplicates = db.execute(
            "SELECT id, path, published_at FROM items"
            " WHERE id IN (SELECT id FROM items GROUP BY id HAVING count(*) > 1)"
            " ORDER BY id, published_at DESC, path"
        ).fetchall()
        winners: dict[str, tuple[str, int]] = {}
        for story, path, at in duplicates:
            keep, keep_at = winners.setdefault(story, (path, at))
            if keep != path:
                found.append((path, 1, duplicate_warning(self.root, path, keep, newer=keep_at > at)))
        found.sort(key=lambda entry: (entry[0], entry[1]))
        return [problem for _, _, problem in found]

    def items(self) -> list[Item]:
        """One copy of every story (the one published, if any), in path order."""
        rows = self.db.execute(
            "SELECT data FROM items WHERE path IN (SELECT path FROM ("
            " SELECT path, row_number() OVER (PARTITION BY id ORDER BY published_at DESC, path) AS rank"
            " FROM items) WHERE rank = 1) ORDER BY path"
        )
        return [records.loads(data) for (data,) in rows]

    def survey(self, now: datetime) -> Survey:
        """What ``feeds check`` and ``feeds topics`` say of the corpus as visible at ``now``."""
        selection = self.selection(now)
        stories = self.db.execute("SELECT count(DISTINCT id) FROM items").fetchone()[0]
        return Survey(
            files=self.file_count(),
            items=int(stories),
            published=selection.count(Query()),
            problems=tuple(self.problems()),
            topics=selection.topics,
        )

    def selection(self, now: datetime) -> IndexedSelection:
        """The items visible at ``now``, answered from this thread's connection."""
        return IndexedSelection(self, now)


@dataclass(frozen=True, slots=True)
class Survey:
    """A corpus in numbers: files, stories, those published now, problems and topics."""

    files: int
    items: int
    published: int
    problems: tuple[ItemError, ...]
    topics: TopicIndex

    @property
    def rejected(self) -> int:
        return len({problem.path for problem in self.problems if not problem.warning})


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, *_: object) -> None:
        self.db.execute("COMMIT" if kind is None else "ROLLBACK")


class _WriteLock:
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


class IndexedSelection:
    """The items of an index visible at ``now``: :class:`feeds.select.Selection`'s
    interface, answered by queries."""

    def __init__(self, index: CorpusIndex, now: datetime) -> None:
        self._index = index
        self.now = now
        self._at = records.seconds(now)
        self._answers: dict[Query, list[Item]] = {}
        self._answers_lock = threading.Lock()
        self._fingerprints: dict[Query, str] = {}
        db = index.db
        counts: Counter[str] = Counter()
        for name, count in db.execute(
            "SELECT name, count(*) FROM item_topics WHERE listed = 1 AND published_at <= ? GROUP BY name",
            (self._at,),
        ):
            counts[name] = count
        self.topics = TopicIndex.from_counts(counts)
        newest, later = db.execute(
            "SELECT (SELECT max(published_at) FROM items WHERE listed = 1 AND published_at <= ?),"
            " (SELECT min(published_at) FROM items WHERE listed = 1 AND published_at > ?)",
            (self._at, self._at),
        ).fetchone()
        self._newest = None if newest is None else records.from_seconds(newest)
        self.next_change = None if later is None else records.from_seconds(later)

    @property
    def newest(self) -> datetime | None:
        return self._newest

    def _where(self, query: Query) -> tuple[str, str, list[Any]]:
        """The table (aliased ``t``) and condition of ``query``."""
        args: list[Any] = []
        if query.topic is not None:
            table, where = "item_topics AS t", "t.key = ? AND t.listed = 1"
            args.append(topic_key(query.topic))
        else:
            table, where = "items AS t", "t.listed = 1"
        where += " AND t.published_at <= ?"
        args.append(self._at)
        if query.min_heat is not None:
            where += " AND t.heat >= ? AND t.heat != ?"
            args += [query.min_heat, UNSCORED]
        if query.min_quality is not None:
            where += " AND t.quality IS NOT NULL AND t.quality >= ?"
            args.append(query.min_quality)
        return table, where, args

    def _select(self, columns: str, query: Query) -> list[tuple[Any, ...]]:
        """``columns`` of the items (aliased ``i``) that ``query`` selects, in its order. One
        statement, so one committed version of the index, whatever a refresh does meanwhile."""
        table, where, args = self._where(query)
        order = "t.published_at DESC, t.id"
        if query.order is Order.HOT:
            order = "t.heat DESC, " + order
        limit = ""
        if query.limit is not None:
            limit = " LIMIT ?"
            args.append(query.limit)
        sql = (
            f"SELECT {columns} FROM {table} JOIN items AS i ON i.path = t.path"
            f" WHERE {where} ORDER BY {order}{limit}"
        )
        return self._index.db.execute(sql, args).fetchall()

    def count(self, query: Query) -> int:
        table, where, args = self._where(query)
        return int(self._index.db.execute(f"SELECT count(*) FROM {table} WHERE {where}", args).fetchone()[0])

    def query(self, query: Query) -> list[Item]:
        # A feed asks the same query once per format: answer it once.
        held = self._answers.get(query)
        if held is None:
            held = self._query(query)
            with self._answers_lock:
                self._answers[query] = held
                while len(self._answers) > 64:
                    del self._answers[next(iter(self._answers))]
        return list(held)

    def _query(self, query: Query) -> list[Item]:
        items = [records.loads(data) for (data,) in self._select("i.data", query)]
        hidden = self._hidden({key for item in items for story in item.related for key in keys_of(story)})
        return [
            replace(item, related=tuple(s for s in item.related if not names_hidden(s, hidden)))
            if any(names_hidden(s, hidden) for s in item.related)
            else item
            for item in items
        ]

    def fingerprint(self, query: Query) -> str:
        held = self._fingerprints.get(query)  # asked once per format of a feed
        if held is None:
            held = self._fingerprints[query] = self._fingerprint(query)
        return held

    def _fingerprint(self, query: Query) -> str:
        rows = [
            (digest, [keys.split(",") for keys in related.split()])
            for digest, related in self._select("i.digest, i.related", query)
        ]
        hidden = self._hidden({key for _, stories in rows for keys in stories for key in keys})
        digest = hashlib.blake2b(digest_size=16)
        for item_digest, stories in rows:
            gone = " ".join(keys[0] for keys in stories if any(key in hidden for key in keys))
            digest.update(f"{item_digest} {gone}\n".encode())
        return digest.hexdigest()

    def _hidden(self, keys: Iterable[str]) -> set[str]:
        """Those of ``keys`` (ids of links) that belong to items of the corpus, none of them
        visible now: as :class:`feeds.select.Selection` decides, over published copies."""
        hidden: set[str] = set()
        for marks, batch in self._index._batches(sorted(keys)):
            hidden.update(
                row[0]
                for row in self._index.db.execute(
                    f"SELECT k.key FROM item_keys AS k JOIN items AS i ON i.path = k.path"
                    f" WHERE k.key IN ({marks}) AND i.winner = 1 GROUP BY k.key"
                    " HAVING max(i.listed = 1 AND i.published_at <= ?) = 0",
                    [*batch, self._at],
                )
            )
        return hidden


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
            data=data,
        )


def _read_chunk(root: str, paths: Iterable[str]) -> list[Read]:
    """Read files, in a worker process for a big refresh."""
    base = Path(root)
    results: list[Read] = []
    for path in paths:
        if _NOT_UTF8.search(path):
            results.append((path, None, [(None, "the file name is not UTF-8; rename the file", False)]))
            continue
        result = read_item_file(base / path, base)
        problems: list[Problem] = [(p.line, p.message, p.warning) for p in result.problems]
        results.append((path, None if result.item is None else Row.of(result.item), problems))
    return results
