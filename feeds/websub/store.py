"""The hub's state in one SQLite file: requests waiting for their verification, the
subscriptions with their leases and deliveries, and what each feed was when the hub last
looked, so that a restart neither loses a subscription nor misses a change.

Web workers only add requests (one short transaction each); everything else is written
by the one process that verifies and delivers. Times are seconds since the epoch.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from ..config import Settings
from ..databases import use_wal
from ..errors import FeedsError
from ..index import MEMORY, default_index_path

SCHEMA_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT, mode TEXT NOT NULL, topic TEXT NOT NULL,
    callback TEXT NOT NULL, host TEXT NOT NULL, lease INTEGER NOT NULL, secret BLOB,
    UNIQUE (topic, callback)
);
CREATE INDEX IF NOT EXISTS requests_by_host ON requests (host);
CREATE TABLE IF NOT EXISTS subscriptions (
    topic TEXT NOT NULL, callback TEXT NOT NULL, host TEXT NOT NULL, secret BLOB,
    expires REAL NOT NULL, wanted INTEGER NOT NULL DEFAULT 0, done INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0, next_at REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (topic, callback)
);
CREATE INDEX IF NOT EXISTS subscriptions_by_host ON subscriptions (host);
CREATE TABLE IF NOT EXISTS documents (
    topic TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, etag TEXT NOT NULL
);
"""


class Mode(StrEnum):
    SUBSCRIBE = "subscribe"
    UNSUBSCRIBE = "unsubscribe"


@dataclass(frozen=True, slots=True)
class Intent:
    """What a subscriber asked for, checked; ``lease`` is in seconds, within the bounds."""

    mode: Mode
    topic: str
    callback: str
    host: str
    lease: int
    secret: bytes | None = None


@dataclass(frozen=True, slots=True)
class Pending:
    """A request waiting for its verification."""

    id: int
    intent: Intent


@dataclass(frozen=True, slots=True)
class Delivery:
    """A subscription with a change not yet delivered; ``wanted`` counts its changes."""

    topic: str
    callback: str
    secret: bytes | None
    wanted: int
    attempts: int

    @property
    def key(self) -> tuple[str, str]:
        return (self.topic, self.callback)


def store_path(settings: Settings) -> Path:
    """``hub_store``, or else a file beside the index (beside where it would be, for an
    index in ``memory``: every process of a server must open the same store)."""
    if settings.hub_store:
        return Path(settings.hub_store)
    if settings.index and settings.index not in ("memory", MEMORY):
        index = Path(settings.index)
    else:
        index = default_index_path(settings.corpus)
    return index.with_name(index.name.removesuffix(".sqlite3") + ".websub.sqlite3")


class Store:
    """The hub's SQLite file, one connection per thread. Raises FeedsError if it cannot be
    opened."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = self.db
            db.executescript(_SCHEMA)
            with self._transaction() as db:
                row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
                if row is None:
                    db.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
                elif row[0] != SCHEMA_VERSION:
                    raise FeedsError(f"the hub store {path} is of another version of feeds; move it away")
        except (OSError, sqlite3.Error) as err:
            raise FeedsError(f"cannot open the hub store {path}: {err}") from None

    @property
    def db(self) -> sqlite3.Connection:
        """This thread's connection (a new one after a fork)."""
        held = getattr(self._local, "db", None)
        if held is None or held[0] != os.getpid():
            db = sqlite3.connect(self.path, timeout=5, isolation_level=None, check_same_thread=False)
            use_wal(db, 5)
            db.execute("PRAGMA synchronous=FULL")  # an accepted request survives a crash
            held = (os.getpid(), db)
            self._local.db = held
        connection: sqlite3.Connection = held[1]
        return connection

    def close(self) -> None:
        held = getattr(self._local, "db", None)
        if held is not None and held[0] == os.getpid():
            held[1].close()
        self._local.db = None

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    # -- the web workers ---------------------------------------------------------------

    def record(self, intent: Intent, *, max_per_topic: int, max_per_host: int) -> str | None:
        """Keep ``intent`` for verification, in place of an earlier one of the same
        subscription; the reason it is refused, or ``None``. An unsubscription of
        nothing is kept nowhere."""
        with self._transaction() as db:
            key = (intent.topic, intent.callback)
            known = db.execute(
                "SELECT 1 FROM subscriptions WHERE topic = ? AND callback = ?"
                " UNION ALL SELECT 1 FROM requests WHERE topic = ? AND callback = ?",
                key * 2,
            ).fetchone()
            if known is None:
                if intent.mode is Mode.UNSUBSCRIBE:
                    return None
                if _count(db, "topic", intent.topic) >= max_per_topic:
                    return f"this topic has {max_per_topic} subscriptions, the most this hub keeps"
                if _count(db, "host", intent.host) >= max_per_host:
                    return f"{intent.host} has {max_per_host} subscriptions, the most this hub keeps per host"
            db.execute(
                "INSERT OR REPLACE INTO requests (mode, topic, callback, host, lease, secret)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (intent.mode.value, *key, intent.host, intent.lease, intent.secret),
            )
        return None

    # -- the hub process ---------------------------------------------------------------

    def pending(self, limit: int, skip: Iterable[int] = ()) -> list[Pending]:
        """The oldest requests not in ``skip``."""
        skipped = set(skip)
        rows = self.db.execute(
            "SELECT id, mode, topic, callback, host, lease, secret FROM requests ORDER BY id LIMIT ?",
            (limit + len(skipped),),
        )
        found = [
            Pending(row[0], Intent(Mode(row[1]), row[2], row[3], row[4], row[5], row[6]))
            for row in rows
            if row[0] not in skipped
        ]
        return found[:limit]

    def verified(self, pending: Pending, at: float) -> None:
        """Carry out a verified request: a subscription leased from ``at``, or none."""
        intent = pending.intent
        with self._transaction() as db:
            key = (intent.topic, intent.callback)
            if intent.mode is Mode.UNSUBSCRIBE:
                db.execute("DELETE FROM subscriptions WHERE topic = ? AND callback = ?", key)
            else:
                db.execute(
                    "INSERT INTO subscriptions (topic, callback, host, secret, expires)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (topic, callback)"
                    " DO UPDATE SET secret = excluded.secret, expires = excluded.expires",
                    (*key, intent.host, intent.secret, at + intent.lease),
                )
            db.execute("DELETE FROM requests WHERE id = ?", (pending.id,))

    def forget(self, pending: Pending) -> None:
        """Drop a request whose verification failed (a newer one of it stays)."""
        self.db.execute("DELETE FROM requests WHERE id = ?", (pending.id,))

    def expire(self, now: float) -> int:
        """Remove the subscriptions whose lease has ended; how many."""
        if not self.db.execute("SELECT 1 FROM subscriptions WHERE expires <= ? LIMIT 1", (now,)).fetchone():
            return 0  # the common case, read without a write
        return self.db.execute("DELETE FROM subscriptions WHERE expires <= ?", (now,)).rowcount

    def changed(self, topics: Iterable[str], now: float) -> None:
        """Each live subscription of ``topics`` has one more change to get, from now on."""
        with self._transaction() as db:
            db.executemany(
                "UPDATE subscriptions SET wanted = wanted + 1, attempts = 0, next_at = ?"
                " WHERE topic = ? AND expires > ?",
                [(now, topic, now) for topic in topics],
            )

    def due(self, now: float, limit: int, skip: Iterable[tuple[str, str]] = ()) -> list[Delivery]:
        """Live subscriptions with a change to deliver now, not in ``skip``."""
        skipped = set(skip)
        rows = self.db.execute(
            "SELECT topic, callback, secret, wanted, attempts FROM subscriptions"
            " WHERE wanted > done AND next_at <= ? AND expires > ? ORDER BY next_at LIMIT ?",
            (now, now, limit + len(skipped)),
        )
        found = [Delivery(*row) for row in rows if (row[0], row[1]) not in skipped]
        return found[:limit]

    def delivered(self, delivery: Delivery) -> None:
        """The changes counted in ``delivery`` are delivered (or given up on)."""
        self.db.execute(
            "UPDATE subscriptions SET done = ?, attempts = 0 WHERE topic = ? AND callback = ?",
            (delivery.wanted, *delivery.key),
        )

    def retry(self, delivery: Delivery, at: float) -> None:
        """Count a failed attempt; try again at ``at`` unless a new change came meanwhile."""
        self.db.execute(
            "UPDATE subscriptions SET attempts = attempts + 1, next_at = ?"
            " WHERE topic = ? AND callback = ? AND wanted = ?",
            (at, *delivery.key, delivery.wanted),
        )

    def remove(self, delivery: Delivery) -> None:
        self.db.execute("DELETE FROM subscriptions WHERE topic = ? AND callback = ?", delivery.key)

    def subscriptions(self, now: float) -> list[tuple[str, str]]:
        """(topic, callback) of every live subscription."""
        rows = self.db.execute(
            "SELECT topic, callback FROM subscriptions WHERE expires > ? ORDER BY topic, callback", (now,)
        )
        return [(topic, callback) for topic, callback in rows]

    # -- what each feed was ---------------------------------------------------------------

    def documents(self) -> dict[str, tuple[str, str]] | None:
        """Fingerprint and ETag of each feed by topic, or ``None`` before the first look."""
        if not self.db.execute("SELECT 1 FROM meta WHERE key = 'looked'").fetchone():
            return None
        rows = self.db.execute("SELECT topic, fingerprint, etag FROM documents")
        return {topic: (fingerprint, etag) for topic, fingerprint, etag in rows}

    def save_documents(self, changed: Mapping[str, tuple[str, str]], gone: Iterable[str]) -> None:
        with self._transaction() as db:
            db.executemany("DELETE FROM documents WHERE topic = ?", [(topic,) for topic in gone])
            rows = [(topic, *entry) for topic, entry in changed.items()]
            db.executemany("INSERT OR REPLACE INTO documents VALUES (?, ?, ?)", rows)
            db.execute("INSERT OR IGNORE INTO meta VALUES ('looked', '1')")


def _count(db: sqlite3.Connection, column: str, value: str) -> int:
    """Subscriptions, active or requested, of one topic or callback host."""
    row = db.execute(
        f"SELECT count(*) FROM (SELECT topic, callback FROM subscriptions WHERE {column} = ?"
        f" UNION SELECT topic, callback FROM requests WHERE {column} = ?)",
        (value, value),
    ).fetchone()
    return int(row[0])
