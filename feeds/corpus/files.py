"""Find the item files of a corpus folder and read each one within bounds."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

from ..errors import FeedsError, ItemError

ITEM_SUFFIXES = frozenset({".txt", ".md", ".markdown"})

MAX_FILE_BYTES = 1 << 20
"""Larger files are rejected unread: no news item needs a mebibyte of text."""

Stamp = tuple[int, int, int]
"""What tells a file changed: inode, size and modification time in nanoseconds."""

_SUFFIXES = tuple(ITEM_SUFFIXES)
_SURROGATE = re.compile("[\ud800-\udfff]")


def is_item_name(name: str) -> bool:
    """Whether a file of this name is an item file (hidden names are not)."""
    return not name.startswith(".") and name.lower().endswith(_SUFFIXES)


def iter_item_files(root: Path) -> Iterator[Path]:
    """Yield item files below ``root`` in a stable order: by relative path, as text.

    Hidden files and folders are skipped; folder symlinks are not followed.
    """
    found: list[tuple[str, Path]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if is_item_name(name):
                path = Path(dirpath, name)
                found.append((path.relative_to(root).as_posix(), path))
    for _, path in sorted(found):
        yield path


def check_folder(root: Path) -> None:
    """Raise FeedsError, naming ``root``, unless it is a folder this process may list."""
    try:
        if not root.is_dir():
            raise FeedsError(f"corpus folder not found: {root}")
        with os.scandir(root):  # opened, not read: cheap for any size
            pass
    except OSError as err:  # this folder, or one on the way, that we may not enter
        raise FeedsError(f"cannot read the corpus folder {root}: {err.strerror or err}") from None


def scan(root: Path, folder: str = "") -> dict[str, Stamp]:
    """The stamp of every item file below ``root`` (or below its subfolder ``folder``, a
    relative path ending in ``/``) by relative path, as :func:`iter_item_files` finds them:
    hidden names skipped, folder symlinks not followed. A subfolder that cannot be listed
    is there by its name, ``sub/``, with a stamp of zeros, so the reader reports it; a
    corpus folder that cannot be listed raises FeedsError."""
    found: dict[str, Stamp] = {}
    pending = [(os.path.join(root, folder) if folder else str(root), folder)]
    while pending:
        path, prefix = pending.pop()
        try:
            entries = list(os.scandir(path))
        except FileNotFoundError:
            continue  # gone meanwhile
        except OSError as err:
            if not prefix:
                raise FeedsError(f"cannot read the corpus folder {root}: {err.strerror or err}") from None
            found[stored_name(prefix)] = (0, 0, 0)
            continue
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                pending.append((entry.path, f"{prefix}{name}/"))
            elif is_item_name(name):
                if entry.is_symlink() and os.path.isdir(entry.path):  # False for a loop
                    continue  # a link to a folder is a folder, and folder links are not followed
                found[stored_name(prefix + name)] = stamp_of(entry)
    return dict(sorted(found.items()))


def stamp_of(entry: os.DirEntry[str] | str) -> Stamp:
    """The stamp of a file, or zeros where it cannot be had (a broken link: the reader
    reports it)."""
    try:
        info = entry.stat() if isinstance(entry, os.DirEntry) else os.stat(entry)
    except OSError:
        return (0, 0, 0)
    return (info.st_ino, info.st_size, info.st_mtime_ns)


def stored_name(name: str) -> str:
    """A relative path as the index stores it: bytes that are not UTF-8 (which Python holds
    as lone surrogates) written as escapes, as :func:`feeds.errors.printable` shows them."""
    if not _SURROGATE.search(name):
        return name
    return _SURROGATE.sub(lambda found: found[0].encode("unicode_escape").decode("ascii"), name)


def is_utf8(name: str) -> bool:
    """Whether a name from the file system decodes as UTF-8 (else it holds surrogate escapes)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def read_bounded(path: Path | str, root: Path | str) -> bytes:
    """The file's bytes, refusing symlinks out of ``root``, non-files and big files unread."""
    if stat.S_ISLNK(os.lstat(path).st_mode):
        # realpath, not Path.resolve: a symlink loop must become an OSError on open
        target = Path(os.path.realpath(path))
        if not target.is_relative_to(os.path.realpath(root)):
            raise ItemError(path, "symlink points outside the corpus; not followed")
    # O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then refuses it.
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | getattr(os, "O_NONBLOCK", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ItemError(path, "not a regular file")
        if info.st_size > MAX_FILE_BYTES:
            raise ItemError(path, f"file is {info.st_size:,} bytes, over the limit of {MAX_FILE_BYTES:,}")
        parts = [os.read(fd, MAX_FILE_BYTES + 1)]
        while parts[-1] and sum(map(len, parts)) <= MAX_FILE_BYTES:  # a file that grew meanwhile
            parts.append(os.read(fd, MAX_FILE_BYTES + 1))
        return b"".join(parts)
    finally:
        os.close(fd)
