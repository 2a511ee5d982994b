"""An export's output folder, written safely.

Each file goes to a temporary file beside its target and is renamed into place, so a
reader (or a crash) sees the old file or the new one, never a part. Every file operation
goes through a descriptor of its folder, each folder opened with ``O_NOFOLLOW`` from its
parent's descriptor: a symlink anywhere below the output is never followed, even one that
appears while the export runs. A lock on the folder keeps a second export out.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import re
import secrets
import stat
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from ..errors import FeedsError, Refusal
from .manifest import MANIFEST, Manifest, Stamp, is_safe
from .report import ExportReport

TEMP_SUFFIX = ".feeds-tmp"
_TEMP_NAME = re.compile(r"\..+\.[0-9a-f]{16}" + re.escape(TEMP_SUFFIX))
STAGED_AT_MOST = 64
"""Files written before they are made durable together and renamed into place: one sync
for many files, and a reader sees a large export's files arrive as it goes."""
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class FolderTree:
    """The folders of OUT, opened by descriptor without following symlinks, while a lock
    on OUT keeps a second export out."""

    def __init__(self, out: Path, *, missing_ok: bool = False) -> None:
        self.out = out
        self.missing_ok = missing_ok
        """Whether OUT may be missing (for a dry run, which creates nothing): then it holds nothing."""
        self._folders: dict[str, int] = {}
        self._staged: list[tuple[str, int, str, str]] = []
        """Files written, not yet in place: name, folder, base name, temporary name."""

    def __enter__(self) -> FolderTree:
        try:
            fd = os.open(self.out, _DIR_FLAGS)
        except FileNotFoundError:
            if self.missing_ok:
                return self
            raise FeedsError(f"cannot open {self.out}: {os.strerror(errno.ENOENT)}") from None
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
        for _name, folder, _base, temp in self._staged:  # a round stopped before its commit
            with contextlib.suppress(OSError):
                os.unlink(temp, dir_fd=folder)
        self._staged.clear()
        for fd in self._folders.values():  # closing OUT's descriptor releases the lock
            os.close(fd)
        self._folders.clear()

    def folder(self, name: str, *, create: bool) -> int:
        """A descriptor of folder ``name`` (relative, ``.`` for OUT). Raises OSError if a
        part is a symlink or not a folder, or (unless ``create``) is missing."""
        if name in self._folders:
            return self._folders[name]
        if name == ".":  # OUT is missing (a dry run's)
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(self.out))
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

    def differs(self, name: str, data: bytes) -> bool:
        try:
            folder, base = self._split(name, create=False)
            return not _holds(folder, base, data)
        except OSError:
            return True

    def write(self, name: str, data: bytes, report: ExportReport, **_headers: str) -> None:
        """Stage ``data`` for ``name`` unless it is there already: written to a temporary
        file beside it, put in place by :meth:`commit` with the other files staged. A static
        host finds a file's headers from its name (see ``docs/nginx.conf``)."""
        try:
            folder, base = self._split(name, create=True)
            if _holds(folder, base, data):
                report.unchanged.append(name)
                return
            self._staged.append((name, folder, base, _write_temporary(folder, base, data)))
        except OSError as err:
            report.failures.append(f"{name}: {err.strerror or err}")
        if len(self._staged) >= STAGED_AT_MOST:
            self.commit(report)

    def commit(self, report: ExportReport) -> None:
        """Make every staged file durable at once, then rename each into place: a reader or
        a crash sees each file old or new, never a part, and after this every one is on
        disk. One sync of the file system (``syncfs``) where there is one, else one
        ``fsync`` a file, all before the first rename."""
        staged, self._staged = self._staged, []
        if not staged:
            return
        if not _sync_file_system(self._folders["."]):
            for _, folder, _, temp in staged:
                _fsync_at(folder, temp)
        for name, folder, base, temp in staged:
            try:
                os.replace(temp, base, src_dir_fd=folder, dst_dir_fd=folder)
            except OSError as err:
                with contextlib.suppress(OSError):
                    os.unlink(temp, dir_fd=folder)
                report.failures.append(f"{name}: {err.strerror or err}")
                continue
            report.written.append(name)

    def remove_all(self, names: Iterable[str], report: ExportReport) -> set[str]:
        return {name for name in names if not self.remove(name, report)}

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

    def read_manifest(self) -> Manifest:
        try:
            fd = os.open(
                MANIFEST, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=self.folder(".", create=False)
            )
            with os.fdopen(fd, "rb") as handle:
                return Manifest.decode(handle.read())
        except OSError:
            return Manifest(set())

    def save_manifest(self, manifest: Manifest, report: ExportReport) -> None:
        data = manifest.encode()
        try:
            folder = self.folder(".", create=False)
            if not _holds(folder, MANIFEST, data):
                _replace(folder, MANIFEST, data)
        except OSError as err:
            report.failures.append(f"{MANIFEST}: {err.strerror or err}")

    def check_writable(self, folders: Iterable[str]) -> None:
        """Refuse, before anything is written, an output whose folders (those of ``folders``
        that exist) this process may not write: one line, not one failure per file."""
        for name in sorted(set(folders)):
            try:
                fd = self.folder(name, create=False)
            except OSError:
                continue  # made when written, or reported then
            where = self.out if name == "." else self.out / name
            if os.statvfs(fd).f_flag & os.ST_RDONLY:
                raise Refusal(f"cannot write into {where}: {os.strerror(errno.EROFS)}")
            if not os.access(".", os.W_OK | os.X_OK, dir_fd=fd, effective_ids=True):
                raise Refusal(f"cannot write into {where}: {os.strerror(errno.EACCES)}")

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
        if not is_safe(name):
            raise OSError(errno.EINVAL, f"unsafe file name {name!r}")
        parent, _, base = name.rpartition("/")  # a safe name has no empty part
        return self.folder(parent or ".", create=create), base


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


def _write_temporary(folder: int, name: str, data: bytes) -> str:
    """``data`` in a new temporary file beside ``name`` in ``folder``; its name."""
    temp = f".{name}.{secrets.token_hex(8)}{TEMP_SUFFIX}"
    fd = os.open(
        temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644, dir_fd=folder
    )
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(fd, 0o644)  # readable by the web server whatever the umask
            handle.write(data)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp, dir_fd=folder)
        raise
    return temp


def _fsync_at(folder: int, name: str) -> None:
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=folder)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sync_file_system(fd: int) -> bool:
    """Flush every written file of the file system that holds ``fd`` (Linux's syncfs);
    whether it could."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.syncfs(fd) == 0)
    except (OSError, AttributeError):
        return False


def _replace(folder: int, name: str, data: bytes) -> None:
    """One file (the manifest) written, made durable and renamed over ``name`` at once:
    readers see the old file or the new one, never a part."""
    temp = _write_temporary(folder, name, data)
    try:
        _fsync_at(folder, temp)
        os.replace(temp, name, src_dir_fd=folder, dst_dir_fd=folder)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp, dir_fd=folder)
        raise
