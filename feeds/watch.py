"""Learn of changes to a corpus: from the operating system (inotify, through watchfiles),
or, where that is not available or not enough, by looking at every file on a timer.

:func:`changes` yields one batch per round: the relative paths a notice named, or
``None``, meaning "look at every file" (the first round, each polling round, a periodic
look in case a notice was lost, and a burst too big to be worth following path by path).
A burst of changes (a ``git pull`` of thousands of files) is gathered into a few batches;
what changes while a batch is being taken up is in the next one, so no change is lost.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path

log = logging.getLogger(__name__)

STEP_MS = 50
"""A batch is yielded once the corpus has been quiet this long."""
GATHER_MS = 1000
"""... or once it has been gathering this long, however busy the corpus."""
LOOK_AGAIN = 3600.0
"""Seconds between two looks at every file while notices come: a notice lost by the
kernel (a queue overflow) costs at most this long."""
MANY = 2000
"""A batch naming more paths than this is taken up by looking at every file: quicker."""
NETWORK_FILESYSTEMS = frozenset(
    {"nfs", "nfs4", "cifs", "smb3", "smbfs", "ncpfs", "afs", "9p", "ceph", "glusterfs", "lustre",
     "gpfs", "beegfs", "vboxsf", "davfs", "sshfs", "fuse.sshfs", "fuse.rclone", "fuse.s3fs",
     "fuse.gcsfuse", "fuse.glusterfs", "fuse.cephfs"}
)  # fmt: skip
"""File systems whose changes on other machines no local notice reports."""


class Mode(StrEnum):
    AUTO = "auto"
    """Notices where they work, else polling."""
    NOTIFY = "notify"
    POLL = "poll"


def changes(root: Path, mode: Mode, interval: float, stop: threading.Event) -> Iterator[set[str] | None]:
    """Batches of changes below ``root`` until ``stop`` is set (see the module)."""
    chosen, why = choose(root, mode)
    while chosen is Mode.NOTIFY and not stop.is_set():
        try:
            yield from _notices(root, stop)  # returns when the folder itself was replaced
        except FileNotFoundError:  # gone for a moment, a deploy replacing it, say
            if not stop.wait(interval):
                yield None
        except OSError as err:  # no inotify instance left, say
            chosen, why = Mode.POLL, f"change notices failed ({err})"
    if stop.is_set():
        return
    log.info("watching %s by looking at every file every %g s: %s", root, interval, why)
    yield None
    while not stop.wait(interval):
        yield None


def choose(root: Path, mode: Mode) -> tuple[Mode, str]:
    """How to watch ``root`` under ``mode``, and why."""
    if mode is Mode.POLL:
        return Mode.POLL, "the watcher setting says poll"
    if mode is Mode.NOTIFY:
        return Mode.NOTIFY, "the watcher setting says notify"
    kind = filesystem_type(root)
    if kind is None:
        return Mode.POLL, "this system gives no change notices"
    if kind in NETWORK_FILESYSTEMS or kind.startswith("fuse"):
        return Mode.POLL, f"the corpus is on a {kind} file system, whose changes elsewhere no notice reports"
    folders, limit = _folder_count(root), _watch_limit()
    if limit is not None and folders > limit // 2:
        return Mode.POLL, f"too few inotify watches ({folders:,} folders, a limit of {limit:,})"
    return Mode.NOTIFY, f"a {kind} file system"


def filesystem_type(path: Path) -> str | None:
    """The type of the file system holding ``path`` (Linux), or ``None`` where unknown."""
    try:
        mounts = Path("/proc/self/mountinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    target = os.path.realpath(path)
    best, kind = "", None
    for line in mounts.splitlines():
        fields, _, rest = line.partition(" - ")
        parts = fields.split()
        if len(parts) < 5 or not rest:
            continue
        point = parts[4].replace("\\040", " ")
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, rest.split()[0]
    return kind


def _folder_count(root: Path) -> int:
    count = 0
    for _, folders, _ in os.walk(root):
        folders[:] = [name for name in folders if not name.startswith(".")]
        count += 1
    return count


def _watch_limit() -> int | None:
    try:
        return int(Path("/proc/sys/fs/inotify/max_user_watches").read_text())
    except (OSError, ValueError):
        return None


def _notices(root: Path, stop: threading.Event) -> Iterator[set[str] | None]:
    from watchfiles._rust_notify import RustNotify  # only the watching processes load it

    # Notices start before the first look at every file, so nothing falls between the two.
    notify = RustNotify([str(root)], False, False, 0, True, True)
    try:
        log.info("watching %s by change notices (inotify)", root)
        base = os.path.realpath(root)
        folder = _inode(root)
        yield None
        looked = time.monotonic()
        while not stop.is_set():
            found = notify.watch(GATHER_MS, STEP_MS, int(LOOK_AGAIN * 1000), stop)
            if found == "signal":
                raise KeyboardInterrupt
            if found == "stop":
                return
            if _inode(root) != folder:
                log.info("corpus folder %s was replaced; watching the new one", root)
                return
            named = found if isinstance(found, set) else set()
            paths = {_relative(path, str(root), base) for _, path in named}
            if not paths or "." in paths or len(paths) > MANY or time.monotonic() - looked >= LOOK_AGAIN:
                looked = time.monotonic()
                yield None
                continue
            yield {path for path in paths if path is not None}
    finally:
        notify.close()


def _inode(path: Path) -> int | None:
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def _relative(path: str, root: str, base: str) -> str | None:
    """``path`` relative to the corpus folder (``.`` for the folder itself), or ``None``."""
    for prefix in (root, base):
        relative = os.path.relpath(path, prefix)
        if not relative.startswith(".."):
            return relative.replace(os.sep, "/")
    return None
