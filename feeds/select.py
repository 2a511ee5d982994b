"""Choose and order the items of one feed: pure functions of the items and a clock."""

from __future__ import annotations

import hashlib
import heapq
import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from . import records
from .model import UNSCORED, Item, Related, keys_of
from .stories import Collapse, collapse_items
from .topics import TopicIndex, topic_key


class Order(StrEnum):
    LATEST = "latest"
    """Newest first; equal dates by id, so the order never depends on file order."""
    HOT = "hot"
    """Hottest first (unscored items last), then as ``latest``."""


@dataclass(frozen=True, slots=True)
class Query:
    """Which items a feed holds. ``topic`` is a topic name, matched case-insensitively;
    ``limit`` is the most items it gives (``None``: all); ``since`` and ``until``, in
    seconds since the epoch, keep those published in ``[since, until)`` (an archive's)."""

    topic: str | None = None
    min_heat: int | None = None
    min_quality: int | None = None
    order: Order = Order.LATEST
    limit: int | None = None
    since: int | None = None
    until: int | None = None

    def __post_init__(self) -> None:
        if self.limit is not None and self.limit < 0:
            raise ValueError(f"limit must not be negative, got {self.limit}")


EMPTY = hashlib.blake2b(digest_size=16).hexdigest()
"""The fingerprint of a query that matches nothing."""


class Source(Protocol):
    """What publishing needs of the items visible at one moment: :class:`Selection` holds
    them in memory, :class:`feeds.index.IndexedSelection` answers from the index."""

    now: datetime
    topics: TopicIndex
    next_change: datetime | None
    """When the next scheduled item becomes visible, if any."""
    told: int
    """How many visible items are tellings of stories told more than once."""
    stories: int
    """How many stories those tellings are."""

    @property
    def newest(self) -> datetime | None: ...

    def query(self, query: Query) -> list[Item]: ...

    def count(self, query: Query) -> int:
        """How many items ``query`` matches, whatever its limit."""
        ...

    def fingerprint(self, query: Query) -> str:
        """A digest of what ``query`` gives: equal digests, equal items."""
        ...

    def dates(self, query: Query) -> list[int]:
        """The date (in seconds since the epoch) of every item ``query`` matches, whatever
        its limit, oldest first: what a feed's archives are cut by."""
        ...


def is_visible(item: Item, now: datetime) -> bool:
    """Published, and not scheduled for later than ``now``."""
    return item.published and item.published_at <= now


class Selection:
    """The items visible at ``now``, grouped by topic once, to answer many queries.

    Items dated after ``now`` are scheduled, not yet published. Related stories that are
    items of the corpus but not visible are left out, so that a published item never
    reveals the title or link of one that is not. With ``collapse``, the tellings of one
    story are one item (see :mod:`feeds.stories`).
    """

    def __init__(self, items: Iterable[Item], now: datetime, collapse: Collapse | None = None) -> None:
        items = list(items)
        shown = [item for item in items if is_visible(item, now)]
        seen = {key for item in shown for key in keys_of(item)}
        hidden = {key for item in items if not is_visible(item, now) for key in keys_of(item)} - seen
        visible = [_without_hidden_related(item, hidden) for item in shown]
        self.told, self.stories = 0, 0
        if collapse is not None:
            count = len(visible)
            visible, self.told = collapse_items(visible, collapse)
            self.stories = self.told - (count - len(visible))
        visible.sort(key=_latest_key)
        self.now = now
        self.items: list[Item] = visible
        """Every visible item, newest first."""
        self.topics = TopicIndex(visible)
        self._newest = max((item.updated_at for item in visible), default=None)
        self._by_topic: dict[str, list[Item]] = {}
        for item in visible:
            for key in dict.fromkeys(topic_key(name) for name in item.topics):
                self._by_topic.setdefault(key, []).append(item)
        later = [item.published_at for item in items if item.published and item.published_at > now]
        self.next_change: datetime | None = min(later, default=None)
        """When the next scheduled item becomes visible, if any."""

    @property
    def newest(self) -> datetime | None:
        """The date of the newest visible item (or telling of a story)."""
        return self._newest

    def query(self, query: Query) -> list[Item]:
        """Matching items, ordered, at most ``query.limit`` of them.

        An unscored item (heat -1) never passes a ``min_heat``; one without a quality never
        passes a ``min_quality``.
        """
        pool = self.items if query.topic is None else self._by_topic.get(topic_key(query.topic), [])
        if query.min_heat is not None or query.min_quality is not None:
            low_heat, low_quality = query.min_heat, query.min_quality
            pool = [
                item
                for item in pool
                if (low_heat is None or (item.heat != UNSCORED and item.heat >= low_heat))
                and (low_quality is None or (item.quality is not None and item.quality >= low_quality))
            ]
        if query.since is not None or query.until is not None:
            since = -math.inf if query.since is None else query.since
            until = math.inf if query.until is None else query.until
            pool = [item for item in pool if since <= records.seconds(item.published_at) < until]
        if query.order is Order.LATEST:
            return pool[: query.limit] if query.limit is not None else list(pool)
        key = _hot_key
        if query.limit is not None and query.limit < len(pool):
            return heapq.nsmallest(query.limit, pool, key=key)
        return sorted(pool, key=key)

    def count(self, query: Query) -> int:
        return len(self.query(replace(query, limit=None)))

    def dates(self, query: Query) -> list[int]:
        return sorted(records.seconds(item.published_at) for item in self.query(replace(query, limit=None)))

    def fingerprint(self, query: Query) -> str:
        digest = hashlib.blake2b(digest_size=16)
        for item in self.query(query):
            digest.update(records.dumps(item))
        return digest.hexdigest()


def select(
    items: Iterable[Item], query: Query, *, now: datetime, collapse: Collapse | None = None
) -> list[Item]:
    """The visible items of ``items`` that ``query`` asks for (see :class:`Selection`)."""
    return Selection(items, now, collapse).query(query)


def _latest_key(item: Item) -> tuple[float, str]:
    return (-item.published_at.timestamp(), item.id)


def _hot_key(item: Item) -> tuple[int, float, str]:
    return (-item.heat, -item.published_at.timestamp(), item.id)


def names_hidden(story: Related, hidden: set[str]) -> bool:
    return any(key in hidden for key in keys_of(story))


def _without_hidden_related(item: Item, hidden: set[str]) -> Item:
    """``item`` without the related stories that name, by any of their links, an item of
    the corpus that is not visible (and that no visible item shares the link with)."""
    if not any(names_hidden(story, hidden) for story in item.related):
        return item
    return replace(item, related=tuple(s for s in item.related if not names_hidden(s, hidden)))
