"""What changed in the index since a generation, as the dates of the feeds' items it touched.

Triggers log every row of the tables a feed is read from that is added, removed or changed:
in ``change_log``, the date it had and has; in ``key_log``, for each key an item is named
by, what makes a related story that names the key shown or left out (the item's election,
listing and date) before and after. Each line is tagged with the generation current when
it was written, so the lines of generations ``g`` and later hold everything that happened
after a reader saw ``g``. A key whose first "before" and last "after" since then are equal
changed nothing: an item read again as it was (its title edited) is removed and inserted,
but names the same. A document made only of items dated outside the changed dates, none of
them naming a changed key, is what it was (see :mod:`feeds.export.reuse`).
"""

from __future__ import annotations

import sqlite3

from .store import batches

KEPT_GENERATIONS = 1024
"""How many generations of changes are kept; an older reader finds everything anew."""

TABLE = (
    "CREATE TABLE IF NOT EXISTS change_log (generation INTEGER NOT NULL, at INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS change_log_by_generation ON change_log (generation)",
    "CREATE TABLE IF NOT EXISTS key_log (seq INTEGER PRIMARY KEY, generation INTEGER NOT NULL,"
    " key TEXT NOT NULL, path TEXT NOT NULL, before TEXT, after TEXT)",
    "CREATE INDEX IF NOT EXISTS key_log_by_generation ON key_log (generation)",
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


def _state(row: str) -> str:
    """What of the item ``row`` decides whether a story naming one of its keys is shown."""
    return f"{row}.winner || ',' || {row}.listed || ',' || {row}.published_at"


def _item_state(path: str) -> str:
    return f"(SELECT {_state('i')} FROM items AS i WHERE i.path = {path})"


def _logged(table: str, row: str, event: str) -> list[str]:
    """What a trigger on ``event`` logs of the row ``row`` (``OLD`` or ``NEW``) of ``table``."""
    dates = f"INSERT INTO change_log (generation, at) SELECT {_GENERATION}, "
    keys = f"INSERT INTO key_log (generation, key, path, before, after) SELECT {_GENERATION}, "
    if table in ("item_topics", "stories", "story_topics"):
        return [f"{dates}{row}.published_at;"]
    if table == "items":
        found = [f"{dates}{row}.published_at;"]
        before, after = (_state(row), "NULL") if row == "OLD" else ("NULL", _state(row))
        where = f"path = {row}.path"
        if event == "UPDATE":  # as the removal of the old row and the insertion of the new, if they differ
            where += f" AND (({_state('OLD')}) IS NOT ({_state('NEW')}) OR OLD.path != NEW.path)"
        found.append(f"{keys}key, {row}.path, {before}, {after} FROM item_keys WHERE {where};")
        return found
    if table == "item_keys":
        # The pair (path, key) is there after an insert, and after a delete, if another row holds it.
        held = f"(SELECT count(*) FROM item_keys WHERE path = {row}.path AND key = {row}.key)"
        state = _item_state(f"{row}.path")
        if row == "NEW":
            return [f"{keys}NEW.key, NEW.path, CASE WHEN {held} > 1 THEN {state} END, {state};"]
        return [f"{keys}OLD.key, OLD.path, {state}, CASE WHEN {held} > 0 THEN {state} END;"]
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
            body = " ".join(line for row in rows for line in _logged(table, row, event))
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


def prune(db: sqlite3.Connection) -> None:
    """Forget the changes of all but the last :data:`KEPT_GENERATIONS` generations."""
    generation = int(db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0])
    oldest = generation - KEPT_GENERATIONS
    if oldest > logged_from(db):
        db.execute("DELETE FROM change_log WHERE generation < ?", (oldest,))
        db.execute("DELETE FROM key_log WHERE generation < ?", (oldest,))
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
    dates = {row[0] for row in db.execute("SELECT at FROM change_log WHERE generation >= ?", (generation,))}
    first: dict[tuple[str, str], str | None] = {}
    last: dict[tuple[str, str], str | None] = {}
    for key, path, before, after in db.execute(
        "SELECT key, path, before, after FROM key_log WHERE generation >= ? ORDER BY seq", (generation,)
    ):
        first.setdefault((key, path), before)
        last[key, path] = after
    keys = {key for key, path in first if first[key, path] != last[key, path]}
    for marks, batch in batches(sorted(keys)):
        for named in (
            f"SELECT i.published_at FROM item_related AS r JOIN items AS i ON i.path = r.path"
            f" WHERE r.key IN ({marks})",
            f"SELECT s.published_at FROM item_related AS r JOIN item_story AS m ON m.member = r.path"
            f" JOIN stories AS s ON s.path = m.path WHERE r.key IN ({marks})",
        ):
            dates.update(row[0] for row in db.execute(named, batch))
    return sorted(dates)
