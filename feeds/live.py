"""A corpus kept current by rescanning its folder, rereading only the files that changed."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .corpus import Corpus, FileResult, assemble, iter_item_files, read_item_file
from .errors import FeedsError

log = logging.getLogger(__name__)

Stamp = tuple[int, int, int]
"""What tells a file changed: inode, size and modification time in nanoseconds."""

RACY_NS = 2_000_000_000
"""A file modified this recently is reread at the next scan even if its stamp is unchanged:
a second write within the file system's timestamp granularity leaves the stamp as it was."""


@dataclass(frozen=True, slots=True)
class _Entry:
    stamp: Stamp
    result: FileResult
    racy: bool


class LiveCorpus:
    """The corpus of a folder, refreshed on demand; ``corpus`` is always a whole one.

    A refresh builds a new :class:`Corpus` beside the old and swaps it in with one
    assignment, so a reader sees the old corpus or the new one, never a mix. Call
    ``refresh`` from one thread at a time.
    """

    def __init__(self, root: Path, *, wall_ns: Callable[[], int] = time.time_ns) -> None:
        if not root.is_dir():
            raise FeedsError(f"corpus folder not found: {root}")
        self.root = root
        self._wall_ns = wall_ns
        self._files: dict[Path, _Entry] = {}
        self.corpus: Corpus = assemble(root, [])
        self.refresh()

    def refresh(self) -> bool:
        """Rescan the folder; return whether anything changed. New problems are logged.

        If the folder itself is gone (a deploy replacing it, say) the corpus is kept as it
        was rather than emptied.
        """
        if self._missing():
            return False
        racy_after = self._wall_ns() - RACY_NS
        files: dict[Path, _Entry] = {}
        changed = False
        for path in iter_item_files(self.root):
            try:
                info = os.stat(path)
            except OSError:
                continue  # removed between the listing and the stat
            stamp = (info.st_ino, info.st_size, info.st_mtime_ns)
            held = self._files.get(path)
            if held is not None and held.stamp == stamp and not held.racy:
                files[path] = held
                continue
            result = read_item_file(path, self.root)
            files[path] = _Entry(stamp, result, racy=info.st_mtime_ns > racy_after)
            if held is None or not _same(held.result, result):
                changed = True
                for problem in result.problems:
                    log.warning("%s", problem)
        if self._missing():  # went during the scan, which then saw no files
            return False
        changed = changed or files.keys() != self._files.keys()
        self._files = files
        if changed:
            self.corpus = assemble(self.root, [entry.result for entry in files.values()])
        return changed

    def _missing(self) -> bool:
        if self.root.is_dir():
            return False
        log.warning("corpus folder %s is missing; serving the last corpus read", self.root)
        return True


def _same(old: FileResult, new: FileResult) -> bool:
    return old.item == new.item and [str(p) for p in old.problems] == [str(p) for p in new.problems]


class Watcher:
    """Calls ``refresh`` every ``interval`` seconds, in a daemon thread, until stopped."""

    def __init__(self, refresh: Callable[[], bool], interval: float) -> None:
        self._refresh = refresh
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="feeds-watch", daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                if self._refresh():
                    log.info("corpus changed; feeds republished")
            except Exception:  # the edge of this thread: log, keep serving the last version
                log.exception("corpus refresh failed; serving the previous version")
