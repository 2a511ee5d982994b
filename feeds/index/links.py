"""Which items of the index name which others among their related stories: the links that
make tellings of one story (see :mod:`feeds.stories`), kept with how far apart the two
items' dates are, so that a selection reads only those within its window."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

_LINKS = (
    "INSERT INTO item_links (path, other, gap)"
    " SELECT DISTINCT r.path, k.path, abs(a.published_at - b.published_at)"
    " FROM item_related AS r JOIN item_keys AS k ON k.key = r.key"
    " JOIN items AS a ON a.path = r.path JOIN items AS b ON b.path = k.path"
    " WHERE a.id != b.id"
)


def relink(db: sqlite3.Connection, paths: Sequence[str] | None) -> None:
    """Make the links from and to the items of ``paths`` (read again or removed) anew;
    ``None``, every link. The caller holds a transaction (or writes a new file)."""
    if paths is None:
        db.execute("DELETE FROM item_links")
        db.execute(_LINKS)
        return
    if not paths:
        return
    db.execute("CREATE TEMP TABLE IF NOT EXISTS touched (path TEXT PRIMARY KEY)")
    db.execute("DELETE FROM temp.touched")
    db.executemany("INSERT OR IGNORE INTO temp.touched VALUES (?)", [(path,) for path in paths])
    db.execute("DELETE FROM item_links WHERE path IN temp.touched OR other IN temp.touched")
    db.execute(_LINKS + " AND r.path IN temp.touched")
    db.execute(_LINKS + " AND k.path IN temp.touched AND r.path NOT IN temp.touched")
    db.execute("DELETE FROM temp.touched")
