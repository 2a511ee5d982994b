"""Feeds selected by indexed queries: :class:`feeds.select.Selection`'s answers, read from
the index instead of from items in memory. The tests hold the two to the same answers."""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .. import records
from ..model import UNSCORED, Item, keys_of
from ..select import Order, Query, names_hidden
from ..stories import Collapse, story
from ..topics import TopicIndex, topic_key
from . import grouping
from .store import batches, load
from .tellings import CountChanges, StoryRow, Told, find_stories, order_key

if TYPE_CHECKING:
    from . import CorpusIndex


class IndexedSelection:
    """The items of an index visible at ``now``: :class:`feeds.select.Selection`'s
    interface, answered by queries.

    A feed is read from one committed version of the index, whatever a refresh does
    meanwhile: with the stories told more than once of that version, found anew when the
    version is not the one they were found in.
    """

    def __init__(self, index: CorpusIndex, now: datetime, collapse: Collapse | None = None) -> None:
        self._index = index
        self.now = now
        self._at = records.seconds(now)
        self._collapse = collapse
        self._answers: dict[Query, list[Item]] = {}
        self._answers_lock = threading.Lock()
        self._fingerprints: dict[Query, str] = {}
        self._counts: dict[Query, int] = {}
        self._kept_told: tuple[str | None, CountChanges] | None = None
        self._known_hidden: dict[str, bool] = {}
        """Whether each link id asked about belongs to items of the corpus none of them
        visible (see :meth:`_hidden`), for as many as :data:`KNOWN_HIDDEN`."""
        self._loaded: dict[str, tuple[bytes, Item]] = {}
        """The item of each record lately read, by its digest (see :meth:`_load`)."""
        self._made: dict[tuple[str | None, str], Item] = {}
        """The item of each story the index keeps, by version and digest, once made."""
        self._told_in: tuple[str | None, Told | None, str] = (None, Told(), "[]")
        with self._version() as db:
            self._init(db)

    @contextlib.contextmanager
    def _version(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection, reading one version of the index until the block ends."""
        db = self._index.db
        if db.in_transaction:
            yield db
            return
        db.execute("BEGIN")
        try:
            yield db
        finally:
            db.execute("COMMIT")

    def _stories(self, db: sqlite3.Connection) -> tuple[Told | None, str]:
        """The stories told more than once in the version ``db`` reads (in a transaction)
        and how the selection leaves their tellings out: ``None`` and :data:`KEPT` where the
        index keeps them (see :mod:`.grouping`), else as found now, with their tellings' paths
        as JSON."""
        if self._collapse is None:
            return self._told_in[1:]
        row = db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        generation = row[0] if row else None
        held = self._told_in
        if held[0] != generation or held[0] is None:
            kept = (
                grouping.window_of(db) == self._collapse.seconds
                and not db.execute("SELECT 1 FROM stories WHERE late > ? LIMIT 1", (self._at,)).fetchone()
            )
            if kept:
                held = self._told_in = (generation, None, KEPT)
            else:
                told = find_stories(db, self._at, self._collapse)
                held = self._told_in = (generation, told, told.paths_json)
        return held[1:]

    def _init(self, db: sqlite3.Connection) -> None:
        told, _ = self._stories(db)
        counts: Counter[str] = Counter()
        for name, count in db.execute(
            "SELECT name, count(*) FROM item_topics WHERE listed = 1 AND published_at <= ? GROUP BY name",
            (self._at,),
        ):
            counts[name] = count
        if told is None:  # every kept story is visible, and so is each of its tellings
            self.told = int(db.execute("SELECT count(*) FROM item_story").fetchone()[0])
            self.stories = int(db.execute("SELECT count(*) FROM stories").fetchone()[0])
            counts.subtract(self._kept_counts(db).told_names)
            counts.update(dict(db.execute("SELECT name, count(*) FROM story_topics GROUP BY name")))
        else:
            self.told, self.stories = told.counts()
            counts.subtract(told.told_names)
            counts.update(told.story_names)
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

    @property
    def stories_kept(self) -> bool:
        """Whether the stories told more than once are those the index keeps (else they
        were found for this moment and window)."""
        return self._told_in[2] == KEPT

    def _where(
        self, query: Query, tellings: str = "[]", tables: tuple[str, str] = ("items", "item_topics")
    ) -> tuple[str, str, list[Any]]:
        """The table (aliased ``t``) and condition of ``query``, but for ``tellings`` (a
        JSON list of paths, or :data:`KEPT`), which are answered as the stories they tell.
        ``tables`` are those of items (or of kept stories), and of their topics."""
        args: list[Any] = []
        if query.topic is not None:
            table, where = f"{tables[1]} AS t", "t.key = ? AND t.listed = 1"
            args.append(topic_key(query.topic))
        else:
            table, where = f"{tables[0]} AS t", "t.listed = 1"
        # One upper bound, the lower of the two: SQLite ranges over the index by one of them.
        where += " AND t.published_at < ?"
        args.append(self._at + 1 if query.until is None else min(query.until, self._at + 1))
        if query.min_heat is not None:
            where += " AND t.heat >= ? AND t.heat != ?"
            args += [query.min_heat, UNSCORED]
        if query.min_quality is not None:
            where += " AND t.quality IS NOT NULL AND t.quality >= ?"
            args.append(query.min_quality)
        if query.since is not None:
            where += " AND t.published_at >= ?"
            args.append(query.since)
        if tellings == KEPT:
            where += " AND t.path NOT IN (SELECT member FROM item_story)"
        elif tellings != "[]":
            where += " AND t.path NOT IN (SELECT value FROM json_each(?))"
            args.append(tellings)
        return table, where, args

    def _select(
        self, db: sqlite3.Connection, columns: str, query: Query, tellings: str
    ) -> list[tuple[Any, ...]]:
        """The date, id and heat, then ``columns``, of the items (aliased ``i``) that
        ``query`` selects but for ``tellings``, in its order."""
        table, where, args = self._where(query, tellings)
        sql = (
            f"SELECT t.published_at, t.id, t.heat, {columns} FROM {table} JOIN items AS i ON i.path = t.path"
            f" WHERE {where}{_order_by(query, args)}"
        )
        return db.execute(sql, args).fetchall()

    def _kept_counts(self, db: sqlite3.Connection) -> CountChanges:
        """What the stories the index keeps, and their tellings, are selected by: read once
        a version, for the counts of every feed."""
        held = self._kept_told
        if held is None or held[0] != self._told_in[0]:
            held = self._kept_told = (self._told_in[0], CountChanges.kept(db))
        return held[1]

    def _kept(
        self,
        db: sqlite3.Connection,
        query: Query,
        summary: str | None = None,
        before: tuple[int, str, int] | None = None,
    ) -> tuple[list[StoryRow], list[tuple[Any, ...]]]:
        """The stories the index keeps that ``query`` selects, in its order, at most its limit,
        and only those that come ``before`` the date, id and heat of an item (the last that
        the feed can hold, if it is full); with ``summary``, those columns of each (of
        ``stories``, aliased ``s``) instead of their tellings."""
        table, where, args = self._where(query, tables=("stories", "story_topics"))
        if before is not None:
            where, args = _before(query.order, before, where, args)
        extra = f", {summary}" if summary else ""
        rows = db.execute(
            f"SELECT t.path, t.published_at, t.id, t.heat{extra} FROM {table}"
            f" JOIN stories AS s ON s.path = t.path WHERE {where}{_order_by(query, args)}",
            args,
        ).fetchall()
        found = [StoryRow(row[3], None, frozenset(), (), row[2], row[1]) for row in rows]
        if summary:
            return found, [row[4:] for row in rows]
        tellings: dict[str, list[str]] = {}
        for marks, batch in batches([row[0] for row in rows]):
            for member, path in db.execute(
                f"SELECT member, path FROM item_story WHERE path IN ({marks}) ORDER BY member", batch
            ):
                tellings.setdefault(path, []).append(member)
        return [
            replace(story, paths=tuple(tellings.get(row[0], ())))
            for story, row in zip(found, rows, strict=True)
        ], []

    def _entries(self, columns: str, query: Query, summary: str | None = None) -> list[list[tuple[Any, ...]]]:
        """``columns`` of each item of the feed ``query`` asks for, in its order: one row for
        an item, the rows of its tellings for a story told more than once (or, with
        ``summary``, that row of a story the index keeps)."""
        with self._version() as db:
            told, tellings = self._stories(db)
            rows = self._select(db, columns, query, tellings)
            summaries: list[tuple[Any, ...]] = []
            if told is None:
                full = query.limit is not None and len(rows) >= query.limit
                stories, summaries = self._kept(db, query, summary, rows[-1][:3] if full else None)
            else:
                stories = told.matching(query)
            if not stories:
                return [[row[3:]] for row in rows]
            return self._merge(db, columns, query, rows, stories, summaries)

    def _merge(
        self,
        db: sqlite3.Connection,
        columns: str,
        query: Query,
        rows: list[tuple[Any, ...]],
        stories: list[StoryRow],
        summaries: list[tuple[Any, ...]],
    ) -> list[list[tuple[Any, ...]]]:
        """The items of ``rows`` and the stories (or their ``summaries``), in the order of
        ``query``, at most its limit."""
        merged = sorted(
            [(order_key(query.order, *row[:3]), 0, number) for number, row in enumerate(rows)]
            + [(story.order_key(query.order), 1, number) for number, story in enumerate(stories)]
        )[: query.limit]
        if summaries:
            return [[rows[n][3:]] if not kind else [summaries[n]] for _, kind, n in merged]
        members = self._members(
            db, columns, [path for _, kind, n in merged if kind for path in stories[n].paths]
        )
        return [
            [rows[n][3:]] if not kind else [members[path] for path in stories[n].paths if path in members]
            for _, kind, n in merged
        ]

    def _members(self, db: sqlite3.Connection, columns: str, paths: list[str]) -> dict[str, tuple[Any, ...]]:
        found: dict[str, tuple[Any, ...]] = {}
        for marks, batch in batches(paths):
            for row in db.execute(
                f"SELECT i.path, {columns} FROM items AS i WHERE i.path IN ({marks})", batch
            ):
                found[row[0]] = row[1:]
        return found

    def count(self, query: Query) -> int:
        query = replace(query, limit=None, order=Order.LATEST)
        held = self._counts.get(query)  # the index page and the OPML file both count each feed
        if held is None:
            # Every telling counted as an item (by the index alone), then as the story it tells.
            with self._version() as db:
                told, _ = self._stories(db)
                table, where, args = self._where(query)
                found = int(db.execute(f"SELECT count(*) FROM {table} WHERE {where}", args).fetchone()[0])
                held = self._counts[query] = found + (told or self._kept_counts(db)).count_change(query)
        return held

    def dates(self, query: Query) -> list[int]:
        # Read as plain dates, not merged as the items of a feed are: their order is the dates'.
        query = replace(query, limit=None, order=Order.LATEST)
        with self._version() as db:
            told, tellings = self._stories(db)
            table, where, args = self._where(query, tellings)
            found = [row[0] for row in db.execute(f"SELECT t.published_at FROM {table} WHERE {where}", args)]
            if told is None:
                table, where, args = self._where(query, tables=("stories", "story_topics"))
                found += [
                    row[0] for row in db.execute(f"SELECT t.published_at FROM {table} WHERE {where}", args)
                ]
            else:
                found += [story.published_at for story in told.matching(query)]
        found.sort()
        return found

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
        # A story the index keeps comes as its digest and its earliest telling's path: one
        # item of it is made once a version, however many feeds it is in.
        made: list[list[Item] | str] = []
        with self._version() as db:  # the tellings read from the version the feed is
            entries = self._entries("i.data, i.digest", query, summary="s.digest, s.path, NULL")
            version = self._told_in[0]
            for rows in entries:
                if len(rows) == 1 and len(rows[0]) == 3:
                    digest, lead, _ = rows[0]
                    made.append(digest if (version, digest) in self._made else self._tellings_of(db, lead))
                else:
                    made.append([self._load(data, digest) for data, digest in rows])
        loaded = [item for entry in made if isinstance(entry, list) for item in entry]
        hidden = self._hidden({key for item in loaded for story in item.related for key in keys_of(story)})
        shown = []
        for entry, rows in zip(made, entries, strict=True):
            if isinstance(entry, str):
                shown.append(self._made[(version, entry)])
                continue
            items = [
                replace(item, related=tuple(s for s in item.related if not names_hidden(s, hidden)))
                if any(names_hidden(s, hidden) for s in item.related)
                else item
                for item in entry
            ]
            if not items:
                continue
            item = items[0] if len(items) == 1 else story(items)
            if len(rows[0]) == 3:
                self._made[(version, rows[0][0])] = item
            shown.append(item)
        return shown

    def _load(self, data: bytes, digest: str) -> Item:
        """The item of a stored record: the one made before of the same bytes, if it is still
        kept. An item is in the all-topics feed, its topics' feeds and their archives, so
        it is read once for all of them, and its bytes in each format are found by identity
        (see :mod:`feeds.builders.fragments`)."""
        held = self._loaded.get(digest)
        if held is not None and held[0] == data:  # checked against this digest when loaded
            return held[1]
        item = load(data, digest)
        with self._answers_lock:
            self._loaded[digest] = (data, item)
            while len(self._loaded) > LOADED:
                del self._loaded[next(iter(self._loaded))]
        return item

    def _tellings_of(self, db: sqlite3.Connection, lead: str) -> list[Item]:
        """The tellings of the story the index keeps under ``lead``."""
        return [
            self._load(data, digest)
            for data, digest in db.execute(
                "SELECT i.data, i.digest FROM item_story AS s JOIN items AS i ON i.path = s.member"
                " WHERE s.path = ? ORDER BY s.member",
                (lead,),
            )
        ]

    def fingerprint(self, query: Query) -> str:
        held = self._fingerprints.get(query)  # asked once per format of a feed
        if held is None:
            held = self._fingerprints[query] = self._fingerprint(query)
        return held

    def _fingerprint(self, query: Query) -> str:
        entries = [
            [(digest, [keys.split(",") for keys in related.split()]) for digest, related in rows]
            for rows in self._entries("i.digest, i.related", query, summary="s.digest, s.related")
        ]
        hidden = self._hidden(
            {key for rows in entries for _, stories in rows for keys in stories for key in keys}
        )
        digest = hashlib.blake2b(digest_size=16)
        for rows in entries:
            for item_digest, stories in rows:
                gone = " ".join(keys[0] for keys in stories if any(key in hidden for key in keys))
                digest.update(f"{item_digest} {gone};".encode())
            digest.update(b"\n")
        return digest.hexdigest()

    def _hidden(self, keys: Iterable[str]) -> set[str]:
        """Those of ``keys`` (ids of links) that belong to items of the corpus, none of them
        visible now: as :class:`feeds.select.Selection` decides, over published copies."""
        known = self._known_hidden  # asked again by every archive and feed that shows an item
        keys = set(keys)
        hidden = {key for key in keys if known.get(key)}
        asked = sorted(key for key in keys if key not in known)
        found: set[str] = set()
        for marks, batch in batches(asked):
            found.update(
                row[0]
                for row in self._index.db.execute(
                    f"SELECT k.key FROM item_keys AS k JOIN items AS i ON i.path = k.path"
                    f" WHERE k.key IN ({marks}) AND i.winner = 1 GROUP BY k.key"
                    " HAVING max(i.listed = 1 AND i.published_at <= ?) = 0",
                    [*batch, self._at],
                )
            )
        if len(known) < KNOWN_HIDDEN:
            known.update((key, key in found) for key in asked)
        return hidden | found


KEPT = "kept"
"""Tellings left out of the items selected because the index keeps their stories."""
KNOWN_HIDDEN = 200_000
"""Link ids whose answer :meth:`IndexedSelection._hidden` keeps (a few megabytes)."""
LOADED = 8192
"""Items :meth:`IndexedSelection._load` keeps, the oldest forgotten first."""


def _before(order: Order, last: tuple[int, str, int], where: str, args: list[Any]) -> tuple[str, list[Any]]:
    """``where`` and ``args``, narrowed to what comes before an item of this date, id and
    heat in ``order``: the range first, on the columns of the index that orders it."""
    at, story, heat = last
    if order is Order.HOT:
        where += (
            " AND t.heat >= ? AND (t.heat > ? OR t.published_at > ? OR (t.published_at = ? AND t.id < ?))"
        )
        return where, [*args, heat, heat, at, at, story]
    where += " AND t.published_at >= ? AND (t.published_at > ? OR t.id < ?)"
    return where, [*args, at, at, story]


def _order_by(query: Query, args: list[Any]) -> str:
    """The ``ORDER BY`` (and ``LIMIT``, its value added to ``args``) of ``query``."""
    order = "t.published_at DESC, t.id"
    if query.order is Order.HOT:
        order = "t.heat DESC, " + order
    if query.limit is None:
        return f" ORDER BY {order}"
    args.append(query.limit)
    return f" ORDER BY {order} LIMIT ?"
