"""A persistent index of a corpus in SQLite: only changed files are read again, and feeds
are selected by indexed queries instead of scanning every item.

The index is a cache of what the corpus reader made of each file, keyed by the file's
inode, size and modification time. It holds public fields only (the reader drops the rest
before an item exists). :class:`IndexedSelection` answers exactly what
:class:`feeds.select.Selection` answers for the same items and clock; the tests hold the
two to that.

Processes share one index file: one refreshes it at a time (a lock file beside it), the
others read committed versions (SQLite's write-ahead log), each thread on its own
connection. A refresh is one transaction, so no reader ever sees half of one; a first
reading is built in a file of its own and renamed into place. An index that is corrupt,
another version's or another folder's is thrown away and built anew.
"""

from .corpus_index import CorpusIndex, IndexUnusable, Survey, Version, open_index
from .location import cache_folder, default_index_path, with_usable_index
from .rows import Row
from .selection import IndexedSelection
from .store import MEMORY
from .writer import Refresh

__all__ = [
    "MEMORY", "CorpusIndex", "IndexUnusable", "IndexedSelection", "Refresh", "Row", "Survey", "Version",
    "cache_folder", "default_index_path", "open_index", "with_usable_index",
]  # fmt: skip
