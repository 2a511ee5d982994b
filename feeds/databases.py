"""What every SQLite file of ours shares: the write-ahead log, switched on safely."""

from __future__ import annotations

import sqlite3
import time

BUSY = 5
"""SQLite's primary result code for a lock another connection holds."""


def use_wal(db: sqlite3.Connection, timeout: float) -> None:
    """Put ``db`` in write-ahead-log mode. The switch of a new file needs it alone, and
    SQLite answers "database is locked" at once, without waiting, while another process
    opens the same new file: so it is tried again for up to ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as err:
            if getattr(err, "sqlite_errorcode", 0) & 0xFF != BUSY or time.monotonic() > deadline:
                raise
            time.sleep(0.005)
