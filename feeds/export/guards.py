"""What an export refuses before it changes anything, so that an operator's mistake never
costs a published site: a wrong folder, another corpus, a round that would empty the site."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..config import DeleteLimit
from ..corpus.files import is_item_name
from ..errors import Refusal
from .manifest import Manifest

FRONT_MATTER_START = b"---"
_LOOKED_AT = 100_000
"""Entries of OUT looked at, at most, for item files (a site holds far fewer)."""


def check_out(corpus: Path, out: Path) -> None:
    """Refuse an ``out`` that is the corpus, inside it or above it, that is a symlink, or
    that holds item files (a corpus given where the output was meant). Raises Refusal."""
    corpus_root = corpus.resolve()
    target = out.resolve()
    if target == corpus_root:
        raise Refusal(f"refusing to export into the corpus: {out} is the corpus folder")
    if target.is_relative_to(corpus_root):
        raise Refusal(f"refusing to export into the corpus: {out} is inside {corpus}")
    if corpus_root.is_relative_to(target):
        raise Refusal(f"refusing to export into {out}: the corpus {corpus} is inside it")
    if out.is_symlink():
        raise Refusal(f"refusing to export through a symlink: {out} (give the folder it points to)")
    found = item_file_in(out)
    if found is not None:
        raise Refusal(
            f"refusing to export into {out}: it holds item files ({found}), like a corpus;"
            " give CORPUS and OUT, or an empty folder"
        )


def item_file_in(folder: Path) -> Path | None:
    """An item file below ``folder`` (a file with an item's name that starts as front matter
    does), if there is one; hidden names and symlinks are passed over, as a corpus reader
    passes them."""
    pending, seen = [folder], 0
    while pending and seen < _LOOKED_AT:
        try:
            entries = list(os.scandir(pending.pop()))
        except OSError:
            continue  # missing, or not ours to read: nothing there is written over
        for entry in sorted(entries, key=lambda e: e.name):
            seen += 1
            if entry.name.startswith(".") or entry.is_symlink():
                continue
            if entry.is_dir(follow_symlinks=False):
                pending.append(Path(entry.path))
            elif is_item_name(entry.name) and _starts_as_front_matter(entry.path):
                return Path(entry.path)
    return None


def _starts_as_front_matter(path: str) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(len(FRONT_MATTER_START)) == FRONT_MATTER_START
    except OSError:
        return False


@dataclass(frozen=True, slots=True)
class RoundPlan:
    """What a round is about to do to the output, as the guards see it."""

    corpus: str
    """The corpus's resolved path."""
    items: int
    """Items it publishes."""
    removed: int
    """Files of the last export it would remove."""


def check_round(previous: Manifest, plan: RoundPlan, limit: DeleteLimit, out: object) -> None:
    """Refuse a round over an earlier export of another corpus, one that would publish no
    item over a site that has some, and one that would remove more of the files of the last
    export than ``limit`` allows. ``--force`` (no check) overrides. Raises Refusal."""
    if previous.corpus is not None and previous.corpus != plan.corpus:
        raise Refusal(
            f"refusing to export into {out}: it was exported from another corpus, {previous.corpus}"
            " (--force exports over it)"
        )
    if plan.items == 0 and previous.items:
        raise Refusal(
            f"refusing to export into {out}: the corpus publishes no item, and the site has"
            f" {previous.items} (an empty or unmounted folder?); --force exports it"
        )
    if plan.removed and not limit.allows(plan.removed, len(previous.files)):
        raise Refusal(
            f"refusing to export into {out}: it would remove {plan.removed} of the"
            f" {len(previous.files)} files of the last export, over max_deletes ({limit});"
            " --force or a higher max_deletes allows it"
        )
