"""Feeds selected by indexed queries: :class:`feeds.select.Selection`'s answers, read from
the index instead of from items in memory. The tests hold the two to the same answers."""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .. import records
from ..model import UNSCORED, Item
from ..select import Order, Query, keys_of, names_hidden
from ..topics import TopicIndex, topic_key
from .store import batches, load

if TYPE_CHECKING:
    from . import CorpusIndex


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
        items = [load(data, digest) for data, digest in self._select("i.data, i.digest", query)]
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
        for marks, batch in batches(sorted(keys)):
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
