"""Write every document of the catalogue under a folder, as a static host will serve it.

Each file goes to a temporary file beside its target and is renamed into place, so a
reader (or a crash) sees the old file or the new one, never a part. A file whose bytes
are unchanged is not touched, so its modification time and every cache of it survive.
The list of files written lives in ``.feeds-export.json``; the next export removes the
ones it no longer makes and touches nothing else in the folder.

Every file operation goes through a descriptor of its folder, each folder opened with
``O_NOFOLLOW`` from its parent's descriptor: a symlink anywhere below OUT is never
followed, even one that appears while the export runs.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import secrets
import stat
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath

from .catalogue import FEEDS_PREFIX, file_path
from .config import Settings
from .errors import FeedsError, ItemError, rejected_files
from .index import open_index
from .processes import starting_workers, worker_pool
from .publication import Publication, gzip_bytes

MANIFEST = ".feeds-export.json"
TEMP_SUFFIX = ".feeds-tmp"
_TEMP_NAME = re.compile(r"\..+\.[0-9a-f]{16}" + re.escape(TEMP_SUFFIX))
_FEEDS_FOLDER = FEEDS_PREFIX.strip("/")
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass
class ExportReport:
    """What an export did, by relative file name."""

    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    """One line per file that could not be written or removed."""
    problems: tuple[ItemError, ...] = ()
    """Bad corpus files (skipped) and warnings (kept)."""

    @property
    def skipped(self) -> int:
        return rejected_files(self.problems)

    def summary(self) -> str:
        text = (
            f"{len(self.written)} written, {len(self.unchanged)} unchanged, "
            f"{len(self.removed)} removed, {self.skipped} bad files skipped"
        )
        return text + (f", {len(self.failures)} failed" if self.failures else "")


Progress = Callable[[list[str]], AbstractContextManager[Iterable[str]]]
"""Wraps the list of paths to export, for a progress display."""


def export_site(
    settings: Settings, out: Path, *, now: datetime, gzip_too: bool = False, progress: Progress = nullcontext
) -> ExportReport:
    """Export the corpus of ``settings`` under ``out``, as visible at ``now``.

    Raises FeedsError for a missing corpus or an unusable ``out`` (inside the corpus, a
    symlink, not creatable, or locked by another export); a file that cannot be written
    is a failure in the report, not an exception.
    """
    exporter = Exporter(settings, out, gzip_too=gzip_too)
    try:
        return exporter.round(now, progress=progress)
    finally:
        exporter.close()


class Exporter:
    """Exports of one corpus into one ``out``, round after round, from one open index:
    the first round looks at every file, a later one only at the paths a change notice
    named (``feeds export --watch``). Every round writes what a one-off export would."""

    def __init__(self, settings: Settings, out: Path, *, gzip_too: bool = False) -> None:
        check_out(settings.corpus, out)
        self.settings = settings
        self.out = out
        self.gzip_too = gzip_too
        self.index = open_index(settings)
        self.rounds = 0

    def round(
        self, now: datetime, paths: Iterable[str] | None = None, *, progress: Progress = nullcontext
    ) -> ExportReport:
        """Export as visible at ``now``. The report's problems are every problem of the
        corpus in a first round, and those of the files read again in a later one."""
        refresh = self.index.refresh(paths=None if self.rounds == 0 else paths)
        first, self.rounds = self.rounds == 0, self.rounds + 1
        try:
            self.out.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise FeedsError(f"cannot create {self.out}: {err.strerror or err}") from None

        def export() -> ExportReport:
            publication = Publication.from_source(self.index.selection(now), self.settings)
            report = ExportReport(problems=tuple(self.index.problems()) if first else refresh.problems)
            with _Tree(self.out) as tree:
                _export(publication, tree, report, gzip_too=self.gzip_too, progress=progress)
            return report

        return self.index.recovering(export)

    def close(self) -> None:
        self.index.close()


def _export(
    publication: Publication, tree: _Tree, report: ExportReport, *, gzip_too: bool, progress: Progress
) -> None:
    paths = list(publication.paths())
    names = [file_path(path) for path in paths]
    if gzip_too:
        names += [name + ".gz" for name in names]
    previous = tree.read_manifest()
    tree.remove_leftover_temps({_parent(name) for name in (*names, *previous.files)})
    # Listed before they exist: if this export dies, the next still knows them as ours.
    entries = dict(previous.entries)
    tree.save_manifest(_Manifest(previous.files | set(names), entries), report)
    todo: list[tuple[str, list[str], str | None]] = []
    for path in paths:
        name = file_path(path)
        targets = [name, name + ".gz"] if gzip_too else [name]
        fingerprint = publication.fingerprint(path)
        if all(tree.holds(target, previous.entries.get(target), fingerprint) for target in targets):
            report.unchanged.extend(targets)  # made of the same parts as the file there
        else:
            todo.append((path, targets, fingerprint))
    with progress([path for path, _, _ in todo]) as shown:
        made = rendered(publication, list(shown), gzip_too=gzip_too, held=tree.descriptors())
        for (_, targets, fingerprint), bodies in zip(todo, made, strict=True):
            for target, body in zip(targets, bodies, strict=True):
                tree.write(target, body, report)
                stamp = tree.stamp(target)
                if stamp is not None and fingerprint is not None:
                    entries[target] = (fingerprint, stamp)
    stale = sorted(previous.files - set(names))
    kept = {name for name in stale if not tree.remove(name, report)}
    tree.remove_empty_folders({_parent(name) for name in stale} - {_parent(name) for name in names})
    files = set(names) | kept
    tree.save_manifest(_Manifest(files, {k: v for k, v in entries.items() if k in files}), report)
    tree.sync()


RENDER_IN_PARALLEL = 32
"""Documents to render from which an export renders them in worker processes."""
_rendering: Publication | None = None
"""The publication a worker process of :func:`rendered` renders from (inherited by fork)."""


def rendered(
    publication: Publication, paths: list[str], *, gzip_too: bool, held: Iterable[int] = ()
) -> Iterator[list[bytes]]:
    """The bytes of each document of ``paths`` (with their gzipped copy, if ``gzip_too``), in
    order: rendered in worker processes, one per core, where there are many, each once.
    The workers close the descriptors ``held`` (OUT's lock among them) and end with this
    process, so an export killed leaves nothing behind that holds its lock."""
    workers = min(os.cpu_count() or 1, 8)
    if len(paths) < RENDER_IN_PARALLEL or workers < 2 or threading.active_count() > 1:
        yield from (_bodies(publication, path, gzip_too) for path in paths)
        return
    global _rendering
    _rendering = publication  # forked into each worker: nothing is pickled but the bytes made
    try:
        with worker_pool(workers, "fork", held) as pool:
            with starting_workers():  # the workers are forked as the tasks are handed out
                made = pool.map(_render_forked, paths, [gzip_too] * len(paths), chunksize=4)
            yield from made
    finally:
        _rendering = None


def _render_forked(path: str, gzip_too: bool) -> list[bytes]:
    assert _rendering is not None
    return _bodies(_rendering, path, gzip_too)


def _bodies(publication: Publication, path: str, gzip_too: bool) -> list[bytes]:
    document = publication.render(path)
    assert document is not None, path
    return [document.body, gzip_bytes(document.body)] if gzip_too else [document.body]


Stamp = tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class _Manifest:
    """The files an export owns, and for each the fingerprint of what it was made of and
    the stamp (inode, size, modification time) it had when written."""

    files: set[str]
    entries: dict[str, tuple[str, Stamp]] = field(default_factory=dict)


def check_out(corpus: Path, out: Path) -> None:
    """Refuse an ``out`` that is (or is inside) the corpus, whose ``feeds`` folder holds
    the corpus, or that is a symlink. Raises FeedsError."""
    corpus_root = corpus.resolve()
    target = out.resolve()
    if target == corpus_root:
        raise FeedsError(f"refusing to export into the corpus: {out} is the corpus folder")
    if target.is_relative_to(corpus_root):
        raise FeedsError(f"refusing to export into the corpus: {out} is inside {corpus}")
    if corpus_root.is_relative_to(target / _FEEDS_FOLDER):
        raise FeedsError(f"refusing to export: the corpus {corpus} is inside {out / _FEEDS_FOLDER}")
    if out.is_symlink():
        raise FeedsError(f"refusing to export through a symlink: {out} (give the folder it points to)")


def _parent(name: str) -> str:
    return str(PurePosixPath(name).parent)


class _Tree:
    """The folders of OUT, opened by descriptor without following symlinks, while a lock
    on OUT keeps a second export out."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self._folders: dict[str, int] = {}

    def __enter__(self) -> _Tree:
        try:
            fd = os.open(self.out, _DIR_FLAGS)
        except OSError as err:
            raise FeedsError(f"cannot open {self.out}: {err.strerror or err}") from None
        self._folders["."] = fd
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise FeedsError(f"another export into {self.out} is running") from None
        return self

    def descriptors(self) -> list[int]:
        return list(self._folders.values())

    def __exit__(self, *_: object) -> None:
        for fd in self._folders.values():  # closing OUT's descriptor releases the lock
            os.close(fd)
        self._folders.clear()

    def folder(self, name: str, *, create: bool) -> int:
        """A descriptor of folder ``name`` (relative, ``.`` for OUT). Raises OSError if a
        part is a symlink or not a folder, or (unless ``create``) is missing."""
        if name in self._folders:
            return self._folders[name]
        path = PurePosixPath(name)
        if path.is_absolute() or any(part in {"", ".", ".."} for part in path.parts):
            raise OSError(errno.EINVAL, f"unsafe folder name {name!r}")
        parent = self.folder(str(path.parent), create=create)
        if create:
            try:
                os.mkdir(path.name, 0o755, dir_fd=parent)
            except FileExistsError:
                pass
        try:
            fd = os.open(path.name, _DIR_FLAGS, dir_fd=parent)
        except OSError as err:
            if err.errno in {errno.ELOOP, errno.ENOTDIR} and _is_symlink(path.name, parent):
                raise OSError(errno.ELOOP, f"{name} is a symlink; not followed") from None
            raise
        self._folders[name] = fd
        return fd

    def write(self, name: str, data: bytes, report: ExportReport) -> None:
        """Put ``data`` at ``name`` unless it is there already; record what happened."""
        try:
            folder, base = self._split(name, create=True)
            if _holds(folder, base, data):
                report.unchanged.append(name)
                return
            _replace(folder, base, data)
        except OSError as err:
            report.failures.append(f"{name}: {err.strerror or err}")
            return
        report.written.append(name)

    def remove(self, name: str, report: ExportReport) -> bool:
        """Remove file ``name`` (a symlink there is removed, not followed)."""
        try:
            folder, base = self._split(name, create=False)
            os.unlink(base, dir_fd=folder)
        except FileNotFoundError:
            return True
        except OSError as err:
            report.failures.append(f"{name}: cannot remove: {err.strerror or err}")
            return False
        report.removed.append(name)
        return True

    def remove_empty_folders(self, names: Iterable[str]) -> None:
        """Remove folders of stale files that hold nothing now (deepest first); a folder
        with anything left in it, a user's file or not, stays."""
        for name in sorted(names, key=lambda n: -len(PurePosixPath(n).parts)):
            path = PurePosixPath(name)
            while name != ".":
                try:
                    os.rmdir(path.name, dir_fd=self.folder(str(path.parent), create=False))
                except OSError:
                    break
                fd = self._folders.pop(name, None)
                if fd is not None:
                    os.close(fd)
                path = path.parent
                name = str(path)

    def remove_leftover_temps(self, folders: Iterable[str]) -> None:
        """Temporary files of an export that was killed before it could rename them."""
        for name in folders:
            try:
                fd = self.folder(name, create=False)
                for entry in os.listdir(fd):
                    if _TEMP_NAME.fullmatch(entry):
                        os.unlink(entry, dir_fd=fd)
            except OSError:
                continue  # a missing folder holds no temporary files; a symlink is not ours

    def read_manifest(self) -> _Manifest:
        try:
            fd = os.open(
                MANIFEST, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=self.folder(".", create=False)
            )
            with os.fdopen(fd, "rb") as handle:
                data = json.loads(handle.read())
            files = {name for name in data.get("files", []) if isinstance(name, str) and _is_safe(name)}
            entries: dict[str, tuple[str, Stamp]] = {}
            for name, entry in data.get("entries", {}).items():
                fingerprint, stamp = entry
                if name in files and isinstance(fingerprint, str) and len(stamp) == 3:
                    entries[name] = (fingerprint, (int(stamp[0]), int(stamp[1]), int(stamp[2])))
        except (OSError, ValueError, AttributeError, TypeError):
            return _Manifest(set())
        return _Manifest(files, entries)

    def save_manifest(self, manifest: _Manifest, report: ExportReport) -> None:
        entries = {name: [fp, list(stamp)] for name, (fp, stamp) in sorted(manifest.entries.items())}
        data = json.dumps({"files": sorted(manifest.files), "entries": entries}, indent=1).encode() + b"\n"
        try:
            folder = self.folder(".", create=False)
            if not _holds(folder, MANIFEST, data):
                _replace(folder, MANIFEST, data)
        except OSError as err:
            report.failures.append(f"{MANIFEST}: {err.strerror or err}")

    def stamp(self, name: str) -> Stamp | None:
        """The stamp of regular file ``name``, or ``None`` (missing, a symlink, not a file)."""
        try:
            folder, base = self._split(name, create=False)
            info = os.stat(base, dir_fd=folder, follow_symlinks=False)
        except OSError:
            return None
        return (info.st_ino, info.st_size, info.st_mtime_ns) if stat.S_ISREG(info.st_mode) else None

    def holds(self, name: str, entry: tuple[str, Stamp] | None, fingerprint: str | None) -> bool:
        """Whether ``name`` is the file an earlier export made of the same parts, untouched
        since (same stamp): then it holds the bytes this export would write."""
        return (
            entry is not None
            and fingerprint is not None
            and entry[0] == fingerprint
            and self.stamp(name) == entry[1]
        )

    def sync(self) -> None:
        """Make the renames durable; a folder that cannot be synced is no failure."""
        for fd in self._folders.values():
            try:
                os.fsync(fd)
            except OSError:
                pass

    def _split(self, name: str, *, create: bool) -> tuple[int, str]:
        if not _is_safe(name):
            raise OSError(errno.EINVAL, f"unsafe file name {name!r}")
        path = PurePosixPath(name)
        return self.folder(str(path.parent), create=create), path.name


def _is_safe(name: str) -> bool:
    path = PurePosixPath(name)
    return bool(path.parts) and not path.is_absolute() and all(p not in {"", ".", ".."} for p in path.parts)


def _is_symlink(name: str, folder: int) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode)
    except OSError:
        return False


def _holds(folder: int, name: str, data: bytes) -> bool:
    """Whether ``name`` is a regular file (not a symlink) with exactly ``data``."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=folder)
    except OSError:
        return False
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size != len(data):
            return False
        return handle.read(len(data) + 1) == data


def _replace(folder: int, name: str, data: bytes) -> None:
    """Write ``data`` to a new temporary file in ``folder``, flush it to disk, and rename
    it over ``name``: readers see the old file or the new one, never a part."""
    temp = f".{name}.{secrets.token_hex(8)}{TEMP_SUFFIX}"
    fd = os.open(
        temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644, dir_fd=folder
    )
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(fd, 0o644)  # readable by the web server whatever the umask
            handle.write(data)
            handle.flush()
            os.fsync(fd)
        os.replace(temp, name, src_dir_fd=folder, dst_dir_fd=folder)
    except BaseException:
        try:
            os.unlink(temp, dir_fd=folder)
        except OSError:
            pass
        raise
