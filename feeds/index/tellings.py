"""The stories of an index told more than once, as :func:`feeds.stories.collapse_items`
groups them: found from the links within the window between items visible at one moment,
with what queries select them by, so that only the tellings of such stories are read."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .. import records
from ..model import UNSCORED
from ..select import Order, Query
from ..stories import Collapse, Groups
from ..topics import topic_key
from .store import batches


@dataclass(frozen=True, slots=True)
class Selected:
    """What a query selects an item by: its heat, quality and topic keys."""

    heat: int
    quality: int | None
    topics: frozenset[str]

    def matches(self, query: Query) -> bool:
        """Whether ``query`` selects it, its topic aside."""
        return selects(query, self.heat, self.quality)


def selects(query: Query, heat: int, quality: int | None) -> bool:
    """Whether ``query`` selects an item of this heat and quality, its topic aside."""
    if query.min_heat is not None and (heat == UNSCORED or heat < query.min_heat):
        return False
    return query.min_quality is None or (quality is not None and quality >= query.min_quality)


@dataclass(frozen=True, slots=True)
class StoryRow(Selected):
    """A story of several tellings: their paths (the earliest first), and the id, date,
    heat, quality and topic keys of the item it is shown as."""

    paths: tuple[str, ...] = ()
    id: str = ""
    published_at: int = 0

    def order_key(self, order: Order) -> tuple[int, int, str] | tuple[int, str]:
        return order_key(order, self.published_at, self.id, self.heat)


def in_range(query: Query, at: int) -> bool:
    """Whether an item of this date is in the range of dates ``query`` keeps."""
    return (query.since is None or at >= query.since) and (query.until is None or at < query.until)


def order_key(order: Order, at: int, story: str, heat: int) -> tuple[int, int, str] | tuple[int, str]:
    """The order of the index's ``ORDER BY`` for a date, an id and a heat."""
    return (-heat, -at, story) if order is Order.HOT else (-at, story)


class Told:
    """Every story told more than once, and what they change about the topics' counts.

    ``tellings`` is what each telling is selected by, as an item of its own;
    ``told_names`` each telling's topic names, as the index counts them; ``story_names``
    each story's, as its item shows them.
    """

    def __init__(
        self,
        stories: Sequence[StoryRow] = (),
        tellings: Sequence[Selected] = (),
        told_names: Counter[str] | None = None,
        story_names: Counter[str] | None = None,
    ) -> None:
        self.stories = sorted(stories, key=lambda story: story.order_key(Order.LATEST))
        self.told_names = told_names or Counter()
        self.story_names = story_names or Counter()
        self.paths_json = json.dumps([path for story in self.stories for path in story.paths])
        self._stories_by_topic: dict[str | None, list[StoryRow]] = {None: self.stories}
        for story in self.stories:
            for key in story.topics:
                self._stories_by_topic.setdefault(key, []).append(story)
        self._changes = CountChanges(
            ((keys(story), story.heat, story.quality) for story in self.stories),
            ((keys(telling), telling.heat, telling.quality) for telling in tellings),
        )

    def counts(self) -> tuple[int, int]:
        """How many tellings, and how many stories they are."""
        return sum(len(story.paths) for story in self.stories), len(self.stories)

    def matching(self, query: Query) -> list[StoryRow]:
        """The stories ``query`` selects, in its order, at most its limit."""
        key = None if query.topic is None else topic_key(query.topic)
        found = [
            story
            for story in self._stories_by_topic.get(key, [])
            if story.matches(query) and in_range(query, story.published_at)
        ]
        if query.order is not Order.LATEST:
            found.sort(key=lambda story: story.order_key(query.order))
        return found[: query.limit]

    def count_change(self, query: Query) -> int:
        """How many more items ``query`` selects with the tellings told as stories (than
        with each telling an item of its own): fewer, as a rule."""
        return self._changes.count_change(query)


@dataclass(frozen=True, slots=True)
class Described:
    """A story of several tellings as its item shows it: ``topics`` by key (its names as
    spelled), ``late`` its newest telling's date, and each telling as an item of its own."""

    story: StoryRow
    topics: dict[str, str]
    late: int
    tellings: list[tuple[Selected, list[str]]]
    digest: str = ""
    related: str = ""


def linked(db: sqlite3.Connection, window: int, at: int | None = None) -> list[list[str]]:
    """The groups of listed items (visible at ``at``, if given) linked within ``window``
    seconds: each a story of several tellings."""
    groups: Groups[str] = Groups()
    visible = "" if at is None else " AND a.published_at <= ? AND b.published_at <= ?"
    # CROSS JOIN keeps this order: the links within the window first (few), then their items.
    for one, other in db.execute(
        "SELECT l.path, l.other FROM item_links AS l"
        " CROSS JOIN items AS a ON a.path = l.path CROSS JOIN items AS b ON b.path = l.other"
        f" WHERE l.gap <= ? AND a.listed = 1 AND b.listed = 1{visible}",
        (window,) if at is None else (window, at, at),
    ):
        groups.link(one, other)
    return groups.groups()


def describe(db: sqlite3.Connection, groups: list[list[str]]) -> list[Described]:
    """Each group of tellings as the story its item shows (see :func:`feeds.stories.story`)."""
    paths = sorted(path for group in groups for path in group)
    columns: dict[str, tuple[str, str, int, int, int | None]] = {}
    digests: dict[str, tuple[str, str]] = {}
    names: dict[str, list[tuple[str, str]]] = {path: [] for path in paths}
    for marks, batch in batches(paths):
        for path, story, url, at, heat, quality, digest, related in db.execute(
            "SELECT path, id, url, published_at, heat, quality, digest, related FROM items"
            f" WHERE path IN ({marks})",
            batch,
        ):
            columns[path] = (story, url, at, heat, quality)
            digests[path] = (digest, related)
        for path, key, name in db.execute(
            f"SELECT path, key, name FROM item_topics WHERE path IN ({marks}) ORDER BY rowid", batch
        ):
            names[path].append((key, name))
    described = []
    for group in groups:
        members = sorted(group, key=lambda path: (columns[path][2], columns[path][1]))  # the earliest first
        hottest = min(members, key=lambda path: _hottest(columns[path]))
        topics: dict[str, str] = {}
        for path in (hottest, *(path for path in members if path != hottest)):
            for key, name in names[path]:
                topics.setdefault(key, name)
        qualities = [quality for path in members if (quality := columns[path][4]) is not None]
        lead = columns[members[0]]
        story = StoryRow(
            heat=max(columns[path][3] for path in members),
            quality=max(qualities) if qualities else None,
            topics=frozenset(topics),
            paths=tuple(members),
            id=lead[0],
            published_at=lead[2],
        )
        tellings = [
            (
                Selected(columns[p][3], columns[p][4], frozenset(key for key, _ in names[p])),
                [n for _, n in names[p]],
            )
            for p in members
        ]
        # What the story's item is made of: its tellings' records, and the related stories
        # it shows (the hottest telling's), of which those not visible are left out.
        made_of = records.digest(" ".join(digests[path][0] for path in members).encode())
        late = max(columns[path][2] for path in members)
        described.append(Described(story, topics, late, tellings, made_of, digests[hottest][1]))
    return described


def find_stories(db: sqlite3.Connection, at: int, collapse: Collapse) -> Told:
    """The stories told more than once by the items visible at ``at`` (seconds)."""
    found = describe(db, linked(db, collapse.seconds, at))
    told_names: Counter[str] = Counter()
    story_names: Counter[str] = Counter()
    for each in found:
        story_names.update(each.topics.values())
        for _, spelled in each.tellings:
            told_names.update(spelled)
    tellings = [telling for each in found for telling, _ in each.tellings]
    return Told([each.story for each in found], tellings, told_names, story_names)


TOPICS_APART = "\x1f"
"""What the topic keys of a story or a telling are joined by, where the index keeps them."""


def keys(selected: Selected) -> str:
    return TOPICS_APART.join(sorted(selected.topics))


HeatQuality = tuple[int, int | None]


Selects = tuple[str, int, int | None]
"""What a query selects a story or a telling by: its topic keys (joined), heat and quality."""


class CountChanges:
    """What stories told more than once and their tellings are selected by, as plain rows
    by topic key (the counts of every feed of a large corpus need thousands of them), for
    :meth:`count_change`; and ``told_names``, each telling's topic names as the index
    counts them, where they are known."""

    def __init__(
        self, stories: Iterable[Selects], tellings: Iterable[Selects], told_names: Counter[str] | None = None
    ) -> None:
        self._stories = self._by_topic(stories)
        self._tellings = self._by_topic(tellings)
        self.told_names = told_names or Counter()

    @classmethod
    def kept(cls, db: sqlite3.Connection) -> CountChanges:
        """Those of the stories the index keeps (see :mod:`.grouping`), read once a version."""
        told_names: Counter[str] = Counter()
        for names, count in db.execute("SELECT names, count(*) FROM item_story GROUP BY names"):
            for name in names.split(TOPICS_APART) if names else ():
                told_names[name] += count
        return cls(
            db.execute("SELECT topics, heat, quality FROM stories"),
            db.execute("SELECT topics, heat, quality FROM item_story"),
            told_names,
        )

    @staticmethod
    def _by_topic(rows: Iterable[Selects]) -> dict[str | None, list[HeatQuality]]:
        """Each row's heat and quality, under ``None`` and under each of its topic keys."""
        alike: dict[str, list[HeatQuality]] = {}  # by topics: far fewer than rows
        for topics, heat, quality in rows:
            alike.setdefault(topics, []).append((heat, quality))
        found: dict[str | None, list[HeatQuality]] = {None: []}
        for topics, selected in alike.items():
            found[None] += selected
            for key in topics.split(TOPICS_APART) if topics else ():
                found.setdefault(key, []).extend(selected)
        return found

    def count_change(self, query: Query) -> int:
        """How many more items ``query`` selects with the tellings told as stories."""
        key = None if query.topic is None else topic_key(query.topic)
        stories, tellings = self._stories.get(key, []), self._tellings.get(key, [])
        return self._matching(stories, query) - self._matching(tellings, query)

    @staticmethod
    def _matching(rows: list[HeatQuality], query: Query) -> int:
        if query.min_heat is None and query.min_quality is None:
            return len(rows)
        return sum(1 for heat, quality in rows if selects(query, heat, quality))


def _hottest(row: tuple[str, str, int, int, int | None]) -> tuple[bool, int, bool, int, int, str]:
    """:func:`feeds.stories.hottest_key`, of a row's columns."""
    _, url, at, heat, quality = row
    return (heat == UNSCORED, -heat, quality is None, -(quality or 0), -at, url)
