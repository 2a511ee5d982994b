"""What a round is made of, and which of its documents are made of what the last round's
were: their fingerprints are then taken from the manifest, not read from the index again.

A round that reads the same version of the index as the last one, in the same context and
before anything it saw came due, is made of the same documents. One that reads a later
generation of the same index takes from the last round the fingerprint of every archive
that none of the changes since touched: its feed's archives are named and cut as they
were, and no item or story added, removed or changed since (nor one that names such an
item) is dated within its span (see :mod:`feeds.index.changes`). Everything else is
fingerprinted anew, so a round's documents are exactly those a round from scratch makes.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Callable
from datetime import datetime

from .. import __version__, records
from ..catalogue import file_path
from ..config import Settings
from ..index import CorpusIndex, IndexedSelection, Version
from ..publication import Publication
from .manifest import MadeOf, Manifest

Known = Callable[[str], str | None]
"""The fingerprint the last round found for the document at a URL path, where it still holds."""


def made_of(
    version: Version | None,
    selection: IndexedSelection,
    publication: Publication,
    settings: Settings,
    now: datetime,
) -> MadeOf | None:
    """What a round that read ``version`` of the index (asked before ``selection`` read it)
    and publishes ``publication`` at ``now`` is made of; ``None`` for an index with no
    version (a temporary one)."""
    if version is None:
        return None
    logged = selection.stories_kept or settings.collapsing is None  # else found for this moment
    collisions = publication.selection.topics.collisions
    context = f"{__version__}\n{settings.documents_key()}\n{logged}\n{collisions!r}"
    until = selection.next_change
    archives = {spec.stem: _digest(repr(publication.archives.of(spec))) for spec in publication.catalogue}
    return MadeOf(
        _digest(context),
        version.lineage,
        version.generation,
        records.seconds(now),
        None if until is None else records.seconds(until),
        archives,
        logged,
    )


def known_fingerprints(
    previous: Manifest, now: MadeOf | None, index: CorpusIndex, publication: Publication
) -> tuple[Known, MadeOf | None]:
    """Which fingerprints of ``previous`` still hold for a round made of ``now``, and what to
    say the round was made of."""
    before = previous.made_of
    if now is None or before is None or not before.precedes(now):
        return _none, now
    if before.holds(now):  # the same documents, as long as those of the last round hold
        return (lambda path: _fingerprint(previous, path)), before
    changed = index.changed_dates(before.generation) if before.logged and now.logged else None
    if changed is None:
        return _none, now
    dates = changed  # named again: the closure below sees a list, not an optional

    def known(path: str) -> str | None:
        found = publication.archives.find(path)
        if found is None:
            return None
        archive = found[0]
        stem = archive.spec.stem
        if before.archives.get(stem) != now.archives.get(stem):
            return None  # named or cut otherwise
        first = bisect_left(dates, archive.since)
        if first < len(dates) and dates[first] < archive.until:
            return None  # a change within its span
        return _fingerprint(previous, path)

    return known, now


def _fingerprint(previous: Manifest, path: str) -> str | None:
    entry = previous.entries.get(file_path(path))
    return entry[0] if entry else None


def _none(path: str) -> None:
    return None


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
