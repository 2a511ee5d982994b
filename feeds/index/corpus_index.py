"""The index of one corpus folder in one SQLite file: opening it, refreshing it from the
folder, and what it answers about the corpus (see the package's docstring)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import NamedTuple, TypeVar

from ..config import Settings
from ..corpus import duplicate_warning
from ..corpus.files import Stamp, check_folder, is_item_name, scan, stamp_of, stored_name
from ..errors import FeedsError, ItemError, rejected_files
from ..model import Item
from ..select import Query
from ..stories import Collapse
from ..topics import TopicIndex
from . import changes, grouping, store, writer
from .location import default_index_path
from .selection import IndexedSelection
from .store import MEMORY, Transaction, WriteLock, connect, inode, is_corrupt
from .writer import Refresh

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_COLLAPSE = Collapse()
BULK_THRESHOLD = 1000
"""A first reading of at least this many files is built in a new file, in bulk."""
RACY_NS = 2_000_000_000
"""A file modified this recently is read again at every full refresh even if its stamp is
the same: a second write within the file system's timestamp granularity leaves it so."""


def open_index(settings: Settings, *, workers: int | None = None) -> CorpusIndex:
    """The index that ``settings`` name for their corpus. Raises FeedsError (naming the
    index file and ``FEEDS_INDEX`` where that file is what cannot be used)."""
    collapse = settings.collapsing
    if settings.index in ("memory", MEMORY):
        return CorpusIndex(settings.corpus, MEMORY, workers=workers, collapse=collapse)
    path = Path(settings.index) if settings.index else default_index_path(settings.corpus)
    try:
        return CorpusIndex(settings.corpus, path, workers=workers, collapse=collapse)
    except IndexUnusable as err:
        raise FeedsError(f"{err} (set FEEDS_INDEX to a file this user may write, or to memory)") from None


class IndexUnusable(FeedsError):
    """The index file cannot be made or opened."""


@dataclass(frozen=True, slots=True)
class Survey:
    """A corpus in numbers: files, stories, those published now, problems and topics."""

    files: int
    items: int
    published: int
    problems: tuple[ItemError, ...]
    topics: TopicIndex
    told: int = 0
    """Published items that are tellings of a story told more than once..."""
    stories: int = 0
    """... and how many stories they are: each shown as one item."""

    @property
    def rejected(self) -> int:
        return rejected_files(self.problems)


class Version(NamedTuple):
    lineage: str
    generation: int


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
        collapse: Collapse | None = DEFAULT_COLLAPSE,
    ) -> None:
        check_folder(root)
        self.root = root
        self.window = None if collapse is None else collapse.seconds
        """The window of the stories told more than once that the index keeps."""
        self.key = str(root.resolve())
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
            # Ready for use already (the usual case): no need to wait for a refresh that
            # another process may be making, the first reading of the corpus included.
            if not self._prepared():
                with self._writing(wait=True):
                    try:
                        self._prepare()
                    except sqlite3.DatabaseError as err:
                        if not is_corrupt(err):
                            raise
                        self._start_anew(err)
        except (OSError, sqlite3.Error) as err:
            raise IndexUnusable(f"cannot open the index {self.path}: {err}") from None
        if not self._temporary:
            with contextlib.suppress(OSError):
                os.utime(self.path)  # its last use, for feeds cache prune

    # -- connections ----------------------------------------------------------------

    @property
    def db(self) -> sqlite3.Connection:
        """This thread's connection: a new one after a fork (connections never cross it)
        and after the file was replaced by a new build."""
        held = getattr(self._local, "db", None)
        now = inode(self.path)
        if held is not None and (held[0] != os.getpid() or held[2] != now):
            if held[0] == os.getpid():
                held[1].close()
            held = None
        if held is None:
            held = (os.getpid(), connect(self.path), inode(self.path))
            self._local.db = held
        connection: sqlite3.Connection = held[1]
        return connection

    def close(self) -> None:
        self._disconnect()
        if self._temporary:
            store.remove(self.path)
            Path(f"{self.path}.lock").unlink(missing_ok=True)

    def _disconnect(self) -> None:
        held = getattr(self._local, "db", None)
        if held is not None and held[0] == os.getpid():
            held[1].close()
        self._local.db = None

    def _writing(self, *, wait: bool) -> WriteLock:
        return WriteLock(Path(f"{self.path}.lock"), self._refreshing, wait=wait)

    def _prepared(self) -> bool:
        """Whether the file holds this version's tables, for this folder (read, not locked)."""
        try:
            rows = dict(self.db.execute("SELECT key, value FROM meta WHERE key IN ('schema', 'root')"))
        except sqlite3.Error:  # no tables yet, or damage: the locked way decides
            return False
        return rows == {"schema": store.SCHEMA_VERSION, "root": self.key}

    def _prepare(self) -> None:
        db = self.db
        db.executescript(store.TABLES + store.INDEXES)
        schema = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        root = db.execute("SELECT value FROM meta WHERE key = 'root'").fetchone()
        if schema == (store.SCHEMA_VERSION,) and root == (self.key,):
            return
        with Transaction(db):  # another version's index, or another folder's: start anew
            for table in store.TABLE_NAMES:
                db.execute(f"DROP TABLE IF EXISTS {table}")
            for statement in filter(str.strip, (store.TABLES + store.INDEXES).split(";")):
                db.execute(statement)
            db.executemany(
                "INSERT INTO meta VALUES (?, ?)",
                [("schema", store.SCHEMA_VERSION), ("root", self.key), ("generation", "0")],
            )
            changes.start(db, 0)

    def recovering(self, work: Callable[[], T]) -> T:
        """``work()``, done again on an index built anew if it finds this one corrupt."""
        held = inode(self.path)
        try:
            return work()
        except sqlite3.DatabaseError as err:
            if not is_corrupt(err):
                raise
            with self._writing(wait=True):
                if inode(self.path) == held:  # nobody has built it anew meanwhile
                    self._start_anew(err)
                    self._refresh(None)
            return work()

    def _start_anew(self, err: sqlite3.Error) -> None:
        """Throw a corrupt index away and make an empty one (the caller holds the lock)."""
        log.warning("the index %s cannot be used (%s); building it anew", self.path, err)
        self._disconnect()
        store.remove(self.path)
        self._prepare()

    @property
    def generation(self) -> int:
        """A number that grows with every change of the published content."""
        row = self.db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(row[0]) if row else 0

    def version(self) -> Version | None:
        """What the published content is: this index file's lineage and its generation.
        Equal versions, equal content; an index made anew (whose generations count from the
        start again) is of another lineage, and a temporary one has none."""
        if self._temporary:
            return None
        db = self.db
        with Transaction(db):
            db.execute("INSERT OR IGNORE INTO meta VALUES ('lineage', ?)", (os.urandom(12).hex(),))
            rows = dict(db.execute("SELECT key, value FROM meta WHERE key IN ('lineage', 'generation')"))
        return Version(rows["lineage"], int(rows.get("generation", 0)))

    def changed_dates(self, generation: int) -> list[int] | None:
        """See :func:`.changes.dates_since`."""
        db = self.db
        db.execute("BEGIN")
        try:
            return changes.dates_since(db, generation)
        finally:
            db.execute("COMMIT")

    # -- refreshing -----------------------------------------------------------------

    def refresh(self, *, wait: bool = True, paths: Iterable[str] | None = None) -> Refresh:
        """Bring the index up to date with the folder: read new and changed files, forget
        removed ones, and decide again which copy of each story is published.

        ``paths`` (relative, files or folders) limits the work to what a change notice
        named; by default every file is looked at. With ``wait=False`` it returns at once
        (nothing read) while another process is refreshing. A missing corpus folder (a
        deploy replacing it, say) leaves the index as it was.
        """
        with self._writing(wait=wait) as locked:
            if not locked:
                return Refresh()
            if not self.root.is_dir():
                log.warning("corpus folder %s is missing; keeping the last version read", self.root)
                return Refresh()
            try:
                done = self._refresh(None if paths is None else set(paths))
            except sqlite3.DatabaseError as err:
                if not is_corrupt(err):
                    raise
                self._start_anew(err)
                done = self._refresh(None)
            if paths is None and not self.ready:
                self._mark_ready()
            with contextlib.suppress(OSError):
                os.utime(f"{self.path}.lock")  # the time of the last round, for /healthz
            return done

    @property
    def ready(self) -> bool:
        """Whether every file of the corpus has been read at least once."""
        return self.db.execute("SELECT 1 FROM meta WHERE key = 'ready'").fetchone() is not None

    def _mark_ready(self) -> None:
        """Say that the index holds the whole corpus: a new generation, which the processes
        that serve it take up (an empty corpus makes no other)."""
        db = self.db
        with Transaction(db):
            db.execute("INSERT OR IGNORE INTO meta VALUES ('ready', '1')")
            db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")

    def last_round(self) -> float | None:
        """When the index was last brought up to date, in seconds since the epoch."""
        try:
            return os.stat(f"{self.path}.lock").st_mtime
        except OSError:
            return None

    def _refresh(self, hint: set[str] | None) -> Refresh:
        db = self.db
        if hint is None:
            on_disk = scan(self.root)
            if not on_disk and not self.root.is_dir():
                return Refresh()  # went during the scan
            known = self._stamps("")
        else:
            on_disk, known = self._look(hint)
        racy_after = self._wall_ns() - RACY_NS
        changed = [path for path, stamp in on_disk.items() if known.get(path) != stamp or path in self._racy]
        removed = [path for path in known if path not in on_disk]
        racy = {path for path in changed if on_disk[path][2] > racy_after}
        self._racy = racy if hint is None else (self._racy - on_disk.keys() - set(removed)) | racy
        if not changed and not removed:
            if grouping.window_of(db) != self.window:  # kept for another window until now
                with Transaction(db):
                    grouping.regroup(db, self.window, None)
                    db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")
            return Refresh()
        first = hint is None and not known  # an empty index
        if first and len(changed) >= BULK_THRESHOLD:
            generation = self.generation + 1
            self._disconnect()
            return writer.build(
                self.path, self.root, self.key, on_disk, self.workers, generation, self.window
            )
        return writer.update(
            db, self.root, on_disk, changed, removed, self.workers, first=first, window=self.window
        )

    def _stamps(self, prefix: str, *, exact: bool = False) -> dict[str, Stamp]:
        """The stamps the index holds of the file ``prefix`` (``exact``) or of the files
        below the folder ``prefix`` (ending in ``/``; empty for all)."""
        if exact:
            where, args = "path = ?", [prefix]
        elif prefix:
            where, args = "path >= ? AND path < ?", [prefix, prefix[:-1] + "0"]  # "0" follows "/"
        else:
            where, args = "1", []
        rows = self.db.execute(f"SELECT path, inode, size, mtime_ns FROM files WHERE {where}", args)
        return {path: (ino, size, mtime) for path, ino, size, mtime in rows}

    def _look(self, hint: set[str]) -> tuple[dict[str, Stamp], dict[str, Stamp]]:
        """Stamps on disk and in the index of the files at or below the paths of a change
        notice, by the rules of :func:`scan`."""
        on_disk: dict[str, Stamp] = {}
        known: dict[str, Stamp] = {}
        for name in sorted(hint):
            parts = name.split("/")
            if any(part.startswith(".") or not part for part in parts) or self._under_link(parts):
                continue
            full = os.path.join(self.root, name)
            stored = stored_name(name)
            known.update(self._stamps(stored, exact=True))
            known.update(self._stamps(stored + "/"))
            if os.path.isdir(full) and not os.path.islink(full):
                on_disk.update(scan(self.root, name + "/"))
            elif is_item_name(parts[-1]) and os.path.lexists(full) and not os.path.isdir(full):
                on_disk[stored] = stamp_of(full)
        return dict(sorted(on_disk.items())), known

    def _under_link(self, parts: list[str]) -> bool:
        """Whether a folder on the way to a path is a symlink (folder links are not followed)."""
        return any(os.path.islink(os.path.join(self.root, *parts[:end])) for end in range(1, len(parts)))

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
            for line, message, warning, where in json.loads(problems):
                found.append(
                    (path, 0, ItemError(self.root / path, message, line, warning=warning, field=where))
                )
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
            "SELECT data, digest FROM items WHERE path IN (SELECT path FROM ("
            " SELECT path, row_number() OVER (PARTITION BY id ORDER BY published_at DESC, path) AS rank"
            " FROM items) WHERE rank = 1) ORDER BY path"
        )
        return [store.load(data, digest) for data, digest in rows]

    def survey(self, now: datetime, collapse: Collapse | None = None) -> Survey:
        """What ``feeds check`` and ``feeds topics`` say of the corpus as visible at ``now``."""
        selection = self.selection(now, collapse)
        stories = self.db.execute("SELECT count(DISTINCT id) FROM items").fetchone()[0]
        return Survey(
            files=self.file_count(),
            items=int(stories),
            published=selection.count(Query()) + selection.told - selection.stories,
            problems=tuple(self.problems()),
            topics=selection.topics,
            told=selection.told,
            stories=selection.stories,
        )

    def selection(self, now: datetime, collapse: Collapse | None = None) -> IndexedSelection:
        """The items visible at ``now`` (each story told more than once collapsed, with
        ``collapse``), answered from this thread's connection."""
        return IndexedSelection(self, now, collapse)
