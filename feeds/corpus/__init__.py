"""Read a corpus folder into validated items, collecting every problem on the way.

The corpus is untrusted: each file is read on its own, a bad file becomes an
:class:`~feeds.errors.ItemError` naming it, and the rest still loads. One module a stage:

- :mod:`.files`: find the item files, read each within bounds;
- :mod:`.frontmatter`: split front matter from body, guard and parse the YAML;
- :mod:`.validate`: the exact reader, every check with its message;
- :mod:`.fast`: the compiled fast path, which takes the files it can read exactly as the
  exact reader would, and leaves every other file to it;
- :mod:`.reader`: one file through both; this module: a folder of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import FeedsError, ItemError, rejected_files
from ..model import Item
from .files import ITEM_SUFFIXES, MAX_FILE_BYTES, iter_item_files, scan
from .frontmatter import MAX_DEPTH
from .reader import FileResult, parse_item, read_item, read_item_file
from .values import canonical_url, clean_text, item_id, parse_date, story_keys

__all__ = [
    "ITEM_SUFFIXES", "MAX_DEPTH", "MAX_FILE_BYTES", "Corpus", "FileResult", "assemble",
    "canonical_url", "clean_text", "duplicate_warning", "item_id", "iter_item_files",
    "load_corpus", "parse_date", "parse_item", "read_item", "read_item_file", "scan", "story_keys",
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class Corpus:
    """Every item of a folder, deduplicated by story, in source order, published or not."""

    root: Path
    items: tuple[Item, ...]
    problems: tuple[ItemError, ...]
    files: int

    @property
    def rejected(self) -> int:
        return rejected_files(self.problems)

    @property
    def published(self) -> tuple[Item, ...]:
        return tuple(item for item in self.items if item.published)


def load_corpus(root: Path | str) -> Corpus:
    """Read every item file below ``root``; raise only if ``root`` is not a folder."""
    root = Path(root)
    if not root.is_dir():
        raise FeedsError(f"corpus folder not found: {root}")
    results = [read_item_file(path, root) for path in iter_item_files(root)]
    return assemble(root, results)


def assemble(root: Path, results: list[FileResult]) -> Corpus:
    """Turn per-file results into a corpus, publishing each story once.

    Files that carry the same story (same canonical URL) are duplicates: the one with the
    newest ``publishedDateTime`` wins, as the latest revision of the story (so a newer copy
    with ``published: false`` withdraws it); on equal dates the first path in sort order.
    The order of ``results`` does not matter. Each losing file gets a warning naming the
    winner.
    """
    copies: dict[str, list[Item]] = {}
    for result in results:
        if result.item is not None:
            copies.setdefault(result.item.id, []).append(result.item)
    winners = {story: min(items, key=_revision_order) for story, items in copies.items()}
    problems: list[ItemError] = []
    for result in sorted(results, key=lambda result: result.source):
        problems.extend(result.problems)
        item = result.item
        if item is None or winners[item.id] is item:
            continue
        keep = winners[item.id]
        problems.append(
            duplicate_warning(root, item.source, keep.source, newer=keep.published_at > item.published_at)
        )
    items = sorted(winners.values(), key=lambda item: item.source)
    return Corpus(root=root, items=tuple(items), problems=tuple(problems), files=len(results))


def duplicate_warning(root: Path, source: str, winner: str, *, newer: bool) -> ItemError:
    """The warning of a file whose story another file, ``winner``, publishes instead."""
    why = "it is newer" if newer else "same date, its path sorts first"
    return ItemError(
        root / source,
        f"same story (same URL) as {winner}, which is used instead ({why}); left out",
        warning=True,
    )


def _revision_order(item: Item) -> tuple[float, str]:
    return (-item.published_at.timestamp(), item.source)


