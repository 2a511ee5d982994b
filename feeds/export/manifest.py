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
    """What a whole round was made of: the version of the index and of the settings it
    read (``key``), the moment it published (``at``, in seconds) and the date of the next
    scheduled item then (``until``). Between the two moments, the same key gives the same
    documents, so their fingerprints need not be found again."""

    key: str
    at: int
    until: int | None

    def holds(self, later: MadeOf) -> bool:
        """Whether the round ``later`` sees what this one saw."""
        return later.key == self.key and self.at <= later.at and (self.until is None or later.at < self.until)


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
            data["made_of"] = [self.made_of.key, self.made_of.at, self.made_of.until]
        data |= {"files": sorted(self.files), "entries": entries}
        return json.dumps(data, indent=1).encode() + b"\n"

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
            made_of = _made_of(document.get("made_of"))
        except (ValueError, AttributeError, TypeError):
            return cls(set())
        return cls(
            files,
            entries,
            corpus=corpus if isinstance(corpus, str) else None,
            items=items if _is_int(items) else None,
            made_of=made_of,
        )


def _made_of(value: object) -> MadeOf | None:
    if not isinstance(value, list) or len(value) != 3:
        return None
    key, at, until = value
    if not isinstance(key, str) or not _is_int(at):
        return None
    if until is None:
        return MadeOf(key, at, None)
    return MadeOf(key, at, until) if _is_int(until) else None


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def is_safe(name: str) -> bool:
    """Whether ``name`` is a relative path that stays below its folder."""
    return bool(name) and all(part not in {"", ".", ".."} for part in name.split("/"))
