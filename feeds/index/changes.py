"""What changed in the index since a generation, as the dates of the feeds' items it touched.

Triggers write a line to ``change_log`` for every row of the tables a feed is read from
that is added, removed or changed: the date it had and has, and the keys an item is named
by (a related story naming it is then shown otherwise). A line is tagged with the
generation current when it was written, so the lines of generations ``g`` and later hold
everything that happened after a reader saw ``g``. A document made only of items dated
outside those dates, none of them naming such a key, is what it was (see
:meth:`feeds.export.Exporter`, which takes the fingerprints of such archives from the last
round instead of reading their items again).
"""

from __future__ import annotations

import sqlite3

from .store import batches

KEPT_GENERATIONS = 1024
"""How many generations of changes are kept; an older reader finds everything anew."""

TABLE = (
    "CREATE TABLE IF NOT EXISTS change_log (generation INTEGER NOT NULL, at INTEGER, key TEXT)",
    "CREATE INDEX IF NOT EXISTS change_log_by_generation ON change_log (generation)",
)
_GENERATION = "(SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'generation')"
_COLUMNS = {
    "items": "path id published published_at heat quality listed winner digest related data url",
    "item_topics": "path key name listed published_at id heat quality",
    "stories": "path id listed published_at heat quality late topics digest related",
    "story_topics": "path key name listed published_at id heat quality",
    "item_story": "member path heat quality topics names",
    "item_keys": "path key",
    "item_related": "path key",
}


def _logged(table: str, row: str) -> list[str]:
    """What a trigger logs of the row ``row`` (``OLD`` or ``NEW``) of ``table``."""
    dates = f"INSERT INTO change_log (generation, at) SELECT {_GENERATION}, "
    keys = f"INSERT INTO change_log (generation, key) SELECT {_GENERATION}, "
    if table in ("items", "item_topics", "stories", "story_topics"):
        found = [f"{dates}{row}.published_at;"]
        if table == "items":
            found.append(f"{keys}key FROM item_keys WHERE path = {row}.path;")
        return found
    if table == "item_keys":
        return [f"{keys}{row}.key;"]
    if table == "item_related":
        return [f"{dates}published_at FROM items WHERE path = {row}.path;"]
    # item_story: the telling's own date and its story's
    return [
        f"{dates}published_at FROM items WHERE path = {row}.member;",
        f"{dates}published_at FROM stories WHERE path = {row}.path;",
    ]


def _triggers() -> tuple[str, ...]:
    found = []
    for table, names in _COLUMNS.items():
        differs = " OR ".join(f"OLD.{name} IS NOT NEW.{name}" for name in names.split())
        for event, rows, when in (
            ("INSERT", ["NEW"], ""),
            ("DELETE", ["OLD"], ""),
            ("UPDATE", ["OLD", "NEW"], f" WHEN {differs}"),
        ):
            body = " ".join(line for row in rows for line in _logged(table, row))
            found.append(
                f"CREATE TRIGGER IF NOT EXISTS log_{table}_{event.lower()} AFTER {event} ON {table}"
                f"{when} BEGIN {body} END"
            )
    return tuple(found)


TRIGGERS = _triggers()


def start(db: sqlite3.Connection, generation: int) -> None:
    """Log every change from now on, on an index whose rows are all of ``generation``."""
    for statement in (*TABLE, *TRIGGERS):
        db.execute(statement)
    db.execute("INSERT OR REPLACE INTO meta VALUES ('logged_from', ?)", (str(generation),))


def prune(db: sqlite3.Connection, generation: int) -> None:
    """Forget the changes of all but the last :data:`KEPT_GENERATIONS` before ``generation``."""
    oldest = generation - KEPT_GENERATIONS
    if oldest > logged_from(db):
        db.execute("DELETE FROM change_log WHERE generation < ?", (oldest,))
        db.execute("UPDATE meta SET value = ? WHERE key = 'logged_from'", (str(oldest),))


def logged_from(db: sqlite3.Connection) -> int:
    row = db.execute("SELECT value FROM meta WHERE key = 'logged_from'").fetchone()
    return int(row[0]) if row else 1 << 62


def dates_since(db: sqlite3.Connection, generation: int) -> list[int] | None:
    """The dates of every item and story added, removed or changed since a reader saw
    ``generation``, and of those that name an item so changed, oldest first; ``None`` if
    the changes of that generation are no longer known."""
    if generation < logged_from(db):
        return None
    dates = {
        row[0]
        for row in db.execute(
            "SELECT at FROM change_log WHERE generation >= ? AND at IS NOT NULL", (generation,)
        )
    }
    keys = [
        row[0]
        for row in db.execute(
            "SELECT DISTINCT key FROM change_log WHERE generation >= ? AND key IS NOT NULL", (generation,)
        )
    ]
    for marks, batch in batches(sorted(keys)):
        for named in (
            f"SELECT i.published_at FROM item_related AS r JOIN items AS i ON i.path = r.path"
            f" WHERE r.key IN ({marks})",
            f"SELECT s.published_at FROM item_related AS r JOIN item_story AS m ON m.member = r.path"
            f" JOIN stories AS s ON s.path = m.path WHERE r.key IN ({marks})",
        ):
            dates.update(row[0] for row in db.execute(named, batch))
    return sorted(dates)
