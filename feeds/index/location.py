"""Where the index of a corpus lives: the user's cache folder unless configured, or a
temporary file where that folder cannot be written (a service user with no home)."""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
from dataclasses import replace
from pathlib import Path

from ..config import Settings

log = logging.getLogger(__name__)


def cache_folder() -> Path:
    """``$XDG_CACHE_HOME/feeds``, or ``~/.cache/feeds``."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "feeds"


def default_index_path(root: Path) -> Path:
    """Where the index of ``root`` lives unless configured: the user's cache folder, one
    file per corpus folder."""
    resolved = root.resolve().as_posix()
    digest = hashlib.blake2b(resolved.encode(), digest_size=6).hexdigest()
    return cache_folder() / f"{Path(resolved).name or 'root'}-{digest}.sqlite3"


def with_usable_index(settings: Settings) -> Settings:
    """``settings``, with the index in ``memory`` (a temporary file, kept for this run only)
    if no index is configured and the cache folder cannot be written; it says so."""
    if settings.index:
        return settings
    path = default_index_path(settings.corpus)
    problem = _cannot_write(path.parent)
    if problem is None:
        return settings
    log.warning(
        "cannot write the index cache in %s (%s); using a temporary index for this run"
        " (set FEEDS_INDEX to a file this user may write, to keep it)",
        path.parent,
        problem,
    )
    return replace(settings, index="memory")


def _cannot_write(folder: Path) -> str | None:
    """Why files cannot be made in ``folder`` (made if missing), or ``None``."""
    probe = folder / f".probe-{secrets.token_hex(8)}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe.touch(exist_ok=False)
        probe.unlink()
    except OSError as err:
        return err.strerror or str(err)
    return None
