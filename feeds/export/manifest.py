"""``.feeds-export.json``: what an export owns in its output, and what it was made from."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

MANIFEST = ".feeds-export.json"

Stamp = tuple[int, int, int] | str
"""What a written file was: in a folder, its inode, size and modification time in
nanoseconds; in an object store, the MD5 of its bytes (an object's ETag), in hex."""


@dataclass(frozen=True, slots=True)
class Manifest:
    """The files an export owns; for each, the fingerprint of what it was made of and the
    stamp it had when written; the corpus it was made from (its resolved path) and how many
    items it published."""

    files: set[str]
    entries: dict[str, tuple[str, Stamp]] = field(default_factory=dict)
    corpus: str | None = None
    items: int | None = None

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
        except (ValueError, AttributeError, TypeError):
            return cls(set())
        return cls(
            files,
            entries,
            corpus=corpus if isinstance(corpus, str) else None,
            items=items if isinstance(items, int) and not isinstance(items, bool) else None,
        )


def is_safe(name: str) -> bool:
    """Whether ``name`` is a relative path that stays below its folder."""
    return bool(name) and all(part not in {"", ".", ".."} for part in name.split("/"))
