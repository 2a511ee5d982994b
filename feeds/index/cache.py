"""The user's cache folder of indexes: what is in it, and taking out what is no longer used.

An index is a cache (deleting one costs a full reading of its corpus), but one that a
running process has open is never removed. A WebSub hub's store, kept beside the index by
default, is state, not cache: it is listed with its index but never removed here.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from . import store
from .location import cache_folder

SIBLINGS = ("-wal", "-shm", ".lock")
"""The files SQLite and the write lock keep beside an index."""
HUB_SUFFIX = ".websub.sqlite3"


@dataclass(frozen=True, slots=True)
class CachedIndex:
    """One index file of the cache folder."""

    path: Path
    corpus: str | None
    """The corpus folder it indexes, as the index records it (``None``: not an index)."""
    size: int
    """Bytes, its write-ahead log and shared memory included."""
    last_use: float
    """When it was last opened or written, in seconds since the epoch."""
    in_use: bool
    """Whether a running process has it open."""

    @property
    def corpus_exists(self) -> bool:
        return self.corpus is not None and Path(self.corpus).is_dir()


def cached_indexes(folder: Path | None = None) -> list[CachedIndex]:
    """The index files of the cache folder, by name."""
    folder = folder or cache_folder()
    try:
        names = sorted(os.listdir(folder))
    except FileNotFoundError:
        return []
    open_now = _open_files()
    found = []
    for name in names:
        path = folder / name
        if not name.endswith(".sqlite3") or name.endswith(HUB_SUFFIX) or not path.is_file():
            continue
        parts = [path, *(Path(f"{path}{suffix}") for suffix in SIBLINGS)]
        stats = [part.stat() for part in parts if part.exists()]
        found.append(
            CachedIndex(
                path=path,
                corpus=_corpus_of(path),
                size=sum(info.st_size for info in stats),
                last_use=max(info.st_mtime for info in stats),
                in_use=any(_key(part) in open_now for part in parts if part.exists()),
            )
        )
    return found


def remove_index(index: CachedIndex) -> bool:
    """Remove an index and the files beside it, unless a process has it open."""
    if index.in_use:
        return False
    store.remove(index.path)
    Path(f"{index.path}.lock").unlink(missing_ok=True)
    return True


def _corpus_of(path: Path) -> str | None:
    try:
        db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
        try:
            row = db.execute("SELECT value FROM meta WHERE key = 'root'").fetchone()
        finally:
            db.close()
    except sqlite3.Error:
        return None
    return None if row is None else str(row[0])


def _key(path: Path) -> tuple[int, int]:
    info = path.stat()
    return (info.st_dev, info.st_ino)


def _open_files() -> set[tuple[int, int]]:
    """The files that running processes this user may look at have open, by device and
    inode (Linux's /proc; elsewhere, none are known)."""
    found: set[tuple[int, int]] = set()
    try:
        pids = [name for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return found
    for pid in pids:
        try:
            descriptors = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in descriptors:
            try:
                info = os.stat(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            found.add((info.st_dev, info.st_ino))
    return found
