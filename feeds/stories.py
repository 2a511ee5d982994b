"""One story told by several providers, shown once.

Two visible items are tellings of one story when either lists the other among its related
stories (by any of their links' ids, as duplicates are matched) and their dates are at
most ``days`` apart; a story is the connected group. The collapsed item takes its content
from the hottest telling and its identity from the earliest, so that coverage arriving
later neither makes a reader show the story twice nor moves it back to the top.

These are pure functions of the items: :class:`feeds.select.Selection` collapses items in
memory and :class:`feeds.index.IndexedSelection` the tellings its index links.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from .model import UNSCORED, Item, Related, keys_of
from .topics import topic_key

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Collapse:
    """How tellings are grouped: those linked and at most ``days`` apart are one story."""

    days: int = 7

    @property
    def window(self) -> timedelta:
        return timedelta(days=self.days)

    @property
    def seconds(self) -> int:
        return self.days * 86_400


def lead_key(item: Item) -> tuple[datetime, str]:
    """The earliest telling first (ties by URL): the story's id and date are its."""
    return (item.published_at, item.url)


def hottest_key(item: Item) -> tuple[bool, int, bool, int, float, str]:
    """The hottest telling first: highest heat (unscored last), then quality (none last),
    then the newest, then by URL. The story's title, link, excerpt and image are its."""
    quality = item.quality if item.quality is not None else 0
    return (
        item.heat == UNSCORED,
        -item.heat,
        item.quality is None,
        -quality,
        -item.published_at.timestamp(),
        item.url,
    )


class Groups(Generic[T]):
    """Union-find over hashable nodes: which nodes are linked, directly or not."""

    def __init__(self) -> None:
        self._parent: dict[T, T] = {}

    def _root(self, node: T) -> T:
        parent = self._parent
        root = parent.setdefault(node, node)
        while parent[root] != root:
            root = parent[root]
        while node != root:  # halve the way for the next look
            parent[node], node = root, parent[node]
        return root

    def link(self, one: T, other: T) -> None:
        a, b = self._root(one), self._root(other)
        if a != b:
            self._parent[b] = a

    def groups(self) -> list[list[T]]:
        """Every group of at least two nodes, in the order their first node was linked."""
        found: dict[T, list[T]] = {}
        for node in self._parent:
            found.setdefault(self._root(node), []).append(node)
        return [members for members in found.values() if len(members) > 1]


def tellings(items: Sequence[Item], collapse: Collapse) -> list[list[Item]]:
    """The groups of ``items`` (visible, one per id) that are one story, two or more each."""
    by_key: dict[str, list[int]] = {}
    for number, item in enumerate(items):
        for key in keys_of(item):
            by_key.setdefault(key, []).append(number)
    window = collapse.window
    groups: Groups[int] = Groups()
    for number, item in enumerate(items):
        for story in item.related:
            for key in keys_of(story):
                for other in by_key.get(key, ()):
                    found = items[other]
                    if found.id != item.id and abs(found.published_at - item.published_at) <= window:
                        groups.link(number, other)
    return [[items[number] for number in members] for members in groups.groups()]


def collapse_items(items: Sequence[Item], collapse: Collapse) -> tuple[list[Item], int]:
    """``items`` with each story's tellings made one item; and how many items went into
    stories of more than one telling."""
    groups = tellings(items, collapse)
    if not groups:
        return list(items), 0
    members = {id(item) for group in groups for item in group}
    kept = [item for item in items if id(item) not in members]
    kept.extend(story(group) for group in groups)
    return kept, len(members)


def story(members: Iterable[Item]) -> Item:
    """One item for the tellings of one story (see the module's docstring).

    Its other tellings become its ``coverage``, oldest first; its related stories are the
    hottest telling's, without the tellings themselves or a URL listed twice. It is in
    every topic of a telling, and its heat and quality are its tellings' highest.
    """
    ordered = sorted(members, key=lead_key)
    lead = ordered[0]
    hottest = min(ordered, key=hottest_key)
    others = [item for item in ordered if item is not hottest]
    keys = {key for item in ordered for key in keys_of(item)}
    shown = {hottest.url}
    coverage = []
    for item in others:
        if item.url not in shown:
            shown.add(item.url)
            coverage.append(_as_related(item))
    related = []
    for story in hottest.related:
        if story.url not in shown and not any(key in keys for key in keys_of(story)):
            shown.add(story.url)
            related.append(story)
    topics: dict[str, str] = {}
    for item in (hottest, *others):
        for name in item.topics:
            topics.setdefault(topic_key(name), name)
    qualities = [item.quality for item in ordered if item.quality is not None]
    newest = max(item.published_at for item in ordered)
    return replace(
        hottest,
        id=lead.id,
        published_at=lead.published_at,
        modified_at=newest if newest != lead.published_at else None,
        heat=max(item.heat for item in ordered),
        quality=max(qualities) if qualities else None,
        topics=tuple(topics.values()),
        related=tuple(related),
        coverage=tuple(coverage),
        keys=tuple(sorted(keys)),
    )


def _as_related(item: Item) -> Related:
    return Related(
        id=item.id,
        title=item.title,
        url=item.url,
        excerpt=item.excerpt,
        published_at=item.published_at,
        type=item.type,
        provider=item.provider,
        quality=item.quality,
        images=item.images[:1],
        keys=item.keys,
    )
