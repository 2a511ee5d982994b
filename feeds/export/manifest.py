"""``.feeds-export.json``: what an export owns in its output, and what it was made from."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TypeGuard

MANIFEST = ".feeds-export.json"

Stamp = tuple[int, int, int] | str
"""What a written file was: in a folder, its inode, size and modification time in
nanoseconds; in an object store, the MD5 of its bytes (an object's ETag), in hex."""


@dataclass(frozen=True, slots=True)
class MadeOf:
    """What a whole round was made of: ``context`` (a digest of this package's version, the
    settings, the topics' names and how stories were read), the index it read (``lineage``
    and ``generation``), the moment it published (``at``, in seconds), the date of the next
    scheduled item then (``until``), and a digest of each feed's archives (their names and
    spans), by the feed's path. ``logged`` says whether the index's log of changes tells
    what a later generation changed in its documents (see :mod:`feeds.index.changes`).

    Between the two moments, the same context and version give the same documents, so
    their fingerprints need not be found again."""

    context: str
    lineage: str
    generation: int
    at: int
    until: int | None
    archives: dict[str, str] = field(default_factory=dict)
    logged: bool = False

    def holds(self, later: MadeOf) -> bool:
        """Whether the round ``later`` sees what this one saw."""
        return self.precedes(later) and later.generation == self.generation

    def precedes(self, later: MadeOf) -> bool:
        """Whether ``later`` reads the same index as this round did, as it is some
        generations on, in the same context, before anything this round saw came due."""
        return (
            later.context == self.context
            and later.lineage == self.lineage
            and later.generation >= self.generation
            and self.at <= later.at
            and (self.until is None or later.at < self.until)
        )

    def encode(self) -> dict[str, object]:
        return {
            "context": self.context,
            "lineage": self.lineage,
            "generation": self.generation,
            "at": self.at,
            "until": self.until,
            "archives": dict(sorted(self.archives.items())),
            "logged": self.logged,
        }

    @classmethod
    def decode(cls, value: object) -> MadeOf | None:
        """The :class:`MadeOf` ``value`` encodes; ``None`` for anything else."""
        if not isinstance(value, dict):
            return None
        context, lineage = value.get("context"), value.get("lineage")
        generation, at, until = value.get("generation"), value.get("at"), value.get("until")
        archives, logged = value.get("archives"), value.get("logged")
        if not (
            isinstance(context, str) and isinstance(lineage, str) and _is_int(generation) and _is_int(at)
        ):
            return None
        if (
            not (until is None or _is_int(until))
            or not isinstance(logged, bool)
            or not isinstance(archives, dict)
        ):
            return None
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in archives.items()):
            return None
        return cls(context, lineage, generation, at, until, archives, logged)


@dataclass(frozen=True, slots=True)
class Manifest:
    """The files an export owns; for each, the fingerprint of what it was made of and the
    stamp it had when written; the corpus it was made from (its resolved path), how many
    items it published, and what the round that wrote it all was made of."""

    files: set[str]
    entries: dict[str, tuple[str, Stamp]] = field(default_factory=dict)
    corpus: str | None = None
    items: int | None = None
    made_of: MadeOf | None = None

    def encode(self) -> bytes:
        entries = {
            name: [fp, stamp if isinstance(stamp, str) else list(stamp)]
            for name, (fp, stamp) in sorted(self.entries.items())
        }
        data: dict[str, object] = {}
        if self.corpus is not None:
            data["corpus"] = self.corpus
        if self.items is not None:
            data["items"] = self.items
        if self.made_of is not None:
            data["made_of"] = self.made_of.encode()
        data |= {"files": sorted(self.files), "entries": entries}
        # Compact: indented, the encoder runs in Python, a third of a second for 24,000 files.
        return json.dumps(data, separators=(",", ":")).encode() + b"\n"

    @classmethod
    def decode(cls, data: bytes) -> Manifest:
        """The manifest in ``data``; an unreadable one owns nothing. Names that could leave
        the output folder are dropped."""
        try:
            document = json.loads(data)
            files = {name for name in document.get("files", []) if isinstance(name, str) and is_safe(name)}
            entries: dict[str, tuple[str, Stamp]] = {}
            for name, entry in document.get("entries", {}).items():
                fingerprint, stamp = entry
                if name not in files or not isinstance(fingerprint, str):
                    continue
                if isinstance(stamp, str):
                    entries[name] = (fingerprint, stamp)
                elif len(stamp) == 3:
                    entries[name] = (fingerprint, (int(stamp[0]), int(stamp[1]), int(stamp[2])))
            corpus = document.get("corpus")
            items = document.get("items")
            made_of = MadeOf.decode(document.get("made_of"))
        except (ValueError, AttributeError, TypeError):
            return cls(set())
        return cls(
            files,
            entries,
            corpus=corpus if isinstance(corpus, str) else None,
            items=items if _is_int(items) else None,
            made_of=made_of,
        )


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def is_safe(name: str) -> bool:
    """Whether ``name`` is a relative path that stays below its folder."""
    return bool(name) and all(part not in {"", ".", ".."} for part in name.split("/"))
