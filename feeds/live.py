"""A corpus kept current by rescanning its folder, rereading only the files that changed."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from .corpus import Corpus, FileResult, assemble, iter_item_files, read_item_file

log = logging.getLogger(__name__)

Stamp = tuple[int, int, int]
"""What tells a file changed: inode, size and modification time in nanoseconds."""


class LiveCorpus:
    """The corpus of a folder, refreshed on demand; ``corpus`` is always a whole one.

    A refresh builds a new :class:`Corpus` beside the old and swaps it in with one
    assignment, so a reader sees the old corpus or the new one, never a mix.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._files: dict[Path, tuple[Stamp, FileResult]] = {}
        self.corpus: Corpus = Corpus(root, (), (), 0)
        self.refresh()

    def refresh(self) -> bool:
        """Rescan the folder; return whether anything changed. New problems are logged."""
        files: dict[Path, tuple[Stamp, FileResult]] = {}
        changed = False
        for path in iter_item_files(self.root):
            try:
                info = os.stat(path)
            except OSError:
                continue  # removed between the listing and the stat
            stamp = (info.st_ino, info.st_size, info.st_mtime_ns)
            held = self._files.get(path)
            if held is not None and held[0] == stamp:
                files[path] = held
                continue
            result = read_item_file(path, self.root)
            for problem in result.problems:
                log.warning("%s", problem)
            files[path] = (stamp, result)
            changed = True
        changed = changed or files.keys() != self._files.keys()
        if changed or not self._files:
            self._files = files
            self.corpus = assemble(self.root, [result for _, result in files.values()])
        return changed
