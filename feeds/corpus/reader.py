"""One item file, read: an item and its warnings, or the error that rejects it.

Each file is tried on the compiled fast path first (:mod:`.fast`); a file it does not take
as its own, for any reason, is read by the exact reader (:mod:`.frontmatter` and
:mod:`.validate`), which alone decides what is wrong and says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import ItemError, ItemErrors, every_problem
from ..model import Item
from . import fast
from .files import MAX_FILE_BYTES, is_utf8, read_bounded
from .frontmatter import FrontMatter, decode, split
from .validate import Validator


@dataclass(frozen=True, slots=True)
class FileResult:
    """What reading one file gave: an item or not, and its problems (errors and warnings)."""

    source: str
    item: Item | None
    problems: tuple[ItemError, ...] = ()


def read_item_file(path: Path, root: Path) -> FileResult:
    """Read and validate one file. Never raises for anything the file contains."""
    return read_file(str(path), path.relative_to(root).as_posix(), str(root))


def read_file(path: str, source: str, root: str) -> FileResult:
    """:func:`read_item_file` of the file ``path``, which is ``source`` below ``root``."""
    if not is_utf8(source):
        problem = ItemError(path, "the file name is not UTF-8; rename the file")
        return FileResult(source, None, (problem,))
    try:
        item, warnings = read_item(read_bounded(path, root), path, source)
        return FileResult(source, item, warnings)
    except ItemError as err:
        return FileResult(source, None, every_problem(err))
    except OSError as err:
        what = "cannot read this folder" if source.endswith("/") else "cannot read"
        return FileResult(source, None, (ItemError(path, f"{what}: {err.strerror or err}"),))


def read_item(
    data: bytes, path: Path | str, source: str, *, fast_path: bool = True
) -> tuple[Item, tuple[ItemError, ...]]:
    """An item and its warnings from a file's bytes; raise :class:`ItemError` if the file
    is not valid. ``fast_path=False`` reads it with the exact reader alone."""
    if len(data) > MAX_FILE_BYTES:
        raise ItemError(path, f"file is over the limit of {MAX_FILE_BYTES:,} bytes")
    text = decode(data, path)
    front, body = split(text, path)
    if fast_path and (item := fast.read(front, body, source)) is not None:
        return item, ()
    matter = FrontMatter(Path(path))
    try:
        item = Validator(matter, source).build(matter.parse(front), body)
    except ItemErrors as err:
        raise ItemErrors(err.problems, matter.warnings) from None
    return item, tuple(matter.warnings)


def parse_item(data: bytes, path: Path | str = "<item>", source: str | None = None) -> Item:
    """Parse one file's bytes into an item; raise :class:`ItemError` if it is not valid."""
    return read_item(data, Path(path), source or Path(path).name)[0]
