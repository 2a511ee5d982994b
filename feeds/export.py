"""Write every document of the catalogue under a folder, as a static host will serve it.

Each file goes to a temporary file beside its target and is renamed into place, so a
reader (or a crash) sees the old file or the new one, never a part. A file whose bytes
are unchanged is not touched, so its modification time and every cache of it survive.
The list of files written lives in ``.feeds-export.json``; the next export removes the
ones it no longer makes and touches nothing else in the folder.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from .catalogue import file_path
from .config import Settings
from .corpus import load_corpus
from .errors import FeedsError, ItemError
from .publication import Publication, gzip_bytes

MANIFEST = ".feeds-export.json"
TEMP_SUFFIX = ".feeds-tmp"


@dataclass
class ExportReport:
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    problems: tuple[ItemError, ...] = ()

    @property
    def skipped(self) -> int:
        return len({p.path for p in self.problems if not p.warning})

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
    """Export the corpus of ``settings`` under ``out``. Raises FeedsError for an unusable
    ``out``; a file that cannot be written is a failure in the report, not an exception."""
    corpus_root = settings.corpus.resolve()
    target = out.resolve()
    if target == corpus_root or target.is_relative_to(corpus_root):
        raise FeedsError(f"refusing to export into the corpus: {out} is inside {settings.corpus}")
    if out.is_symlink():
        raise FeedsError(f"refusing to export through a symlink: {out}")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise FeedsError(f"cannot create {out}: {err.strerror}") from None
    corpus = load_corpus(settings.corpus)
    publication = Publication(corpus.items, settings, now)
    report = ExportReport(problems=corpus.problems)
    writer = _Writer(out, report)
    _remove_leftover_temps(out)
    previous = _read_manifest(out)
    paths = list(publication.paths())
    with progress(paths) as shown:
        for path in shown:
            document = publication.render(path)
            assert document is not None, path
            name = file_path(path)
            writer.write(name, document.body)
            if gzip_too:
                writer.write(name + ".gz", gzip_bytes(document.body))
    for name in sorted(previous - writer.names):
        writer.remove(name)
    writer.save_manifest()
    return report


class _Writer:
    """Writes files under one folder, never through a symlink and never outside it."""

    def __init__(self, out: Path, report: ExportReport) -> None:
        self.out = out
        self.report = report
        self.names: set[str] = set()

    def resolve(self, name: str) -> Path:
        """The path of ``name`` under ``out``; raise OSError if a folder on the way is a
        symlink or the name would leave ``out``."""
        parts = Path(name).parts
        if not parts or any(part in {"", ".", ".."} for part in parts) or Path(name).is_absolute():
            raise OSError(f"unsafe file name {name!r}")
        folder = self.out
        for part in parts[:-1]:
            folder = folder / part
            if folder.is_symlink():
                raise OSError(f"{folder} is a symlink; not followed")
            folder.mkdir(exist_ok=True)
        return folder / parts[-1]

    def write(self, name: str, data: bytes) -> None:
        self.names.add(name)
        try:
            path = self.resolve(name)
            if not path.is_symlink() and path.is_file() and _same_bytes(path, data):
                self.report.unchanged.append(name)
                return
            _atomic_write(path, data)
        except OSError as err:
            self.report.failures.append(f"{name}: {err.strerror or err}")
            return
        self.report.written.append(name)

    def remove(self, name: str) -> None:
        try:
            path = self.resolve(name)
            path.unlink(missing_ok=True)
        except OSError as err:
            self.report.failures.append(f"{name}: cannot remove: {err.strerror or err}")
            return
        self.report.removed.append(name)

    def save_manifest(self) -> None:
        data = json.dumps({"files": sorted(self.names)}, indent=1).encode() + b"\n"
        try:
            path = self.resolve(MANIFEST)
            if not (path.is_file() and _same_bytes(path, data)):
                _atomic_write(path, data)
        except OSError as err:
            self.report.failures.append(f"{MANIFEST}: {err.strerror or err}")


def _atomic_write(path: Path, data: bytes) -> None:
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o644)
            handle.write(data)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _same_bytes(path: Path, data: bytes) -> bool:
    try:
        return path.stat().st_size == len(data) and path.read_bytes() == data
    except OSError:
        return False


def _read_manifest(out: Path) -> set[str]:
    try:
        files = json.loads((out / MANIFEST).read_text(encoding="utf-8")).get("files", [])
    except (OSError, ValueError, AttributeError):
        return set()
    return {name for name in files if isinstance(name, str)}


def _remove_leftover_temps(out: Path) -> None:
    """Temporary files of an export that was killed before it could rename them."""
    for dirpath, _, filenames in os.walk(out):
        for name in filenames:
            if name.startswith(".") and name.endswith(TEMP_SUFFIX):
                Path(dirpath, name).unlink(missing_ok=True)
