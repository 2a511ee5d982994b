"""The stories told more than once, kept in the index for one window (``collapse_days``),
so that a selection reads them as it reads items: a story is a row of ``stories`` and its
topics rows of ``story_topics``, selected by the same conditions as items, and its
tellings are rows of ``item_story``.

The stories are those of every listed item. A selection at a moment when a telling of a
kept story is not yet visible, or with another window, groups the visible items itself
(see :func:`.tellings.find_stories`). A refresh groups again only the stories that the
files it read again or removed were in, or are now linked to.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from ..stories import Groups
from .store import batches
from .tellings import TOPICS_APART, describe, keys, linked


def window_of(db: sqlite3.Connection) -> int | None:
    """The window, in seconds, of the stories the index keeps; ``None``: it keeps none."""
    row = db.execute("SELECT value FROM meta WHERE key = 'collapse_window'").fetchone()
    return None if row is None or row[0] == "" else int(row[0])


def regroup(
    db: sqlite3.Connection, window: int | None, paths: Iterable[str] | None, *, same_tellings: bool = False
) -> None:
    """Keep the stories of ``window`` seconds (``None``: none), grouped anew for ``paths``
    (read again or removed; ``None``: every file), or only described anew where the
    caller knows that their links are as they were (``same_tellings``). The caller holds a
    transaction."""
    if window != window_of(db):
        db.execute(
            "INSERT OR REPLACE INTO meta VALUES ('collapse_window', ?)",
            ("" if window is None else str(window),),
        )
        paths = None
    if paths is None:
        for table in ("item_story", "stories", "story_topics"):
            db.execute(f"DELETE FROM {table}")
        if window is not None:
            _keep(db, linked(db, window))
        return
    if window is None:
        return
    groups = _as_they_were(db, set(paths)) if same_tellings else _around(db, window, set(paths))
    if groups is not None:
        _keep(db, groups)


def _around(db: sqlite3.Connection, window: int, paths: set[str]) -> list[list[str]] | None:
    """The stories now told by ``paths``, their old stories' tellings and whatever they link
    to within ``window``, with those old stories forgotten; ``None`` if there are none."""
    reached = set(paths) | _tellings_of(db, _stories_of(db, paths))
    frontier = set(reached)
    groups: Groups[str] = Groups()
    while frontier:
        found: list[tuple[str, str]] = []
        for marks, batch in batches(sorted(frontier)):
            found += db.execute(
                "SELECT l.path, l.other FROM item_links AS l"
                " CROSS JOIN items AS a ON a.path = l.path CROSS JOIN items AS b ON b.path = l.other"
                f" WHERE (l.path IN ({marks}) OR l.other IN ({marks})) AND l.gap <= ?"
                " AND a.listed = 1 AND b.listed = 1",
                [*batch, *batch, window],
            ).fetchall()
        frontier = set()
        for one, other in found:
            groups.link(one, other)
            frontier.update(path for path in (one, other) if path not in reached)
        reached |= frontier
    old = _stories_of(db, reached)
    if not old and not groups.groups():
        return None
    for marks, batch in batches(sorted(old)):
        for table in ("item_story", "stories", "story_topics"):
            db.execute(f"DELETE FROM {table} WHERE path IN ({marks})", batch)
    return groups.groups()


def _as_they_were(db: sqlite3.Connection, paths: set[str]) -> list[list[str]] | None:
    """The stories that ``paths`` tell, with their tellings as they were, forgotten to be
    kept again; ``None`` if there are none."""
    stories = _stories_of(db, paths)
    if not stories:
        return None
    groups: dict[str, list[str]] = {}
    for marks, batch in batches(sorted(stories)):
        rows = db.execute(f"SELECT member, path FROM item_story WHERE path IN ({marks})", batch)
        for member, story in rows:
            groups.setdefault(story, []).append(member)
        for table in ("item_story", "stories", "story_topics"):
            db.execute(f"DELETE FROM {table} WHERE path IN ({marks})", batch)
    return [groups[story] for story in sorted(groups)]


def _stories_of(db: sqlite3.Connection, tellings: Iterable[str]) -> set[str]:
    return _story_rows(db, "path", "member", tellings)


def _tellings_of(db: sqlite3.Connection, stories: Iterable[str]) -> set[str]:
    return _story_rows(db, "member", "path", stories)


def _story_rows(db: sqlite3.Connection, wanted: str, given: str, values: Iterable[str]) -> set[str]:
    """The ``wanted`` column of the rows of ``item_story`` whose ``given`` is in ``values``."""
    found: set[str] = set()
    for marks, batch in batches(sorted(values)):
        rows = db.execute(f"SELECT {wanted} FROM item_story WHERE {given} IN ({marks})", batch)
        found.update(row[0] for row in rows)
    return found


def _keep(db: sqlite3.Connection, groups: list[list[str]]) -> None:
    described = describe(db, groups)
    db.executemany(
        "INSERT INTO stories (path, id, published_at, heat, quality, late, topics, digest, related)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                d.story.paths[0],
                d.story.id,
                d.story.published_at,
                d.story.heat,
                d.story.quality,
                d.late,
                keys(d.story),
                d.digest,
                d.related,
            )
            for d in described
        ],
    )
    db.executemany(
        "INSERT INTO story_topics (path, key, name, published_at, id, heat, quality)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (d.story.paths[0], key, name, d.story.published_at, d.story.id, d.story.heat, d.story.quality)
            for d in described
            for key, name in d.topics.items()
        ],
    )
    db.executemany(
        "INSERT INTO item_story (member, path, heat, quality, topics, names) VALUES (?, ?, ?, ?, ?, ?)",
        [
            (member, d.story.paths[0], telling.heat, telling.quality, keys(telling), TOPICS_APART.join(names))
            for d in described
            for member, (telling, names) in zip(d.story.paths, d.tellings, strict=True)
        ],
    )
