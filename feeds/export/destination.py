"""Where an export round goes: what a folder and an object store both do for it, and a dry
run, which does everything but write."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from .manifest import Manifest, Stamp
from .report import ExportReport


class Destination(Protocol):
    """An open output. A round reads its manifest, writes files in stages (each
    :meth:`commit` puts every file written before it in place, before anything written after
    it), removes what it no longer makes, and saves the manifest again."""

    def descriptors(self) -> list[int]:
        """File descriptors a worker process must close (a folder's lock)."""
        ...

    def read_manifest(self) -> Manifest: ...

    def save_manifest(self, manifest: Manifest, report: ExportReport) -> None: ...

    def check_writable(self, folders: Iterable[str]) -> None: ...

    def remove_leftover_temps(self, folders: Iterable[str]) -> None: ...

    def holds(self, name: str, entry: tuple[str, Stamp] | None, fingerprint: str | None) -> bool:
        """Whether ``name`` holds what an earlier export made of the same parts, untouched."""
        ...

    def differs(self, name: str, data: bytes) -> bool:
        """Whether ``data`` differs from what ``name`` holds (without writing)."""
        ...

    def write(
        self, name: str, data: bytes, report: ExportReport, *, content_type: str, cache_control: str
    ) -> None:
        """Write ``data`` to ``name`` unless it holds it already; it is in place after the
        next :meth:`commit`, which reports it written or failed."""
        ...

    def commit(self, report: ExportReport) -> None: ...

    def stamp(self, name: str) -> Stamp | None:
        """What ``name`` is now, for the manifest; ``None`` if it is not in place."""
        ...

    def remove_all(self, names: Iterable[str], report: ExportReport) -> set[str]:
        """Remove files ``names``; those that could not be removed."""
        ...

    def remove_empty_folders(self, names: Iterable[str]) -> None: ...

    def sync(self) -> None: ...


class DryRun:
    """A destination that is read and never written: the report of a round says what it
    would write (``written``) and remove (``removed``)."""

    def __init__(self, target: Destination) -> None:
        self.target = target

    def descriptors(self) -> list[int]:
        return self.target.descriptors()

    def read_manifest(self) -> Manifest:
        return self.target.read_manifest()

    def save_manifest(self, manifest: Manifest, report: ExportReport) -> None:
        pass

    def check_writable(self, folders: Iterable[str]) -> None:
        self.target.check_writable(folders)

    def remove_leftover_temps(self, folders: Iterable[str]) -> None:
        pass

    def holds(self, name: str, entry: tuple[str, Stamp] | None, fingerprint: str | None) -> bool:
        return self.target.holds(name, entry, fingerprint)

    def differs(self, name: str, data: bytes) -> bool:
        return self.target.differs(name, data)

    def write(
        self, name: str, data: bytes, report: ExportReport, *, content_type: str, cache_control: str
    ) -> None:
        (report.written if self.target.differs(name, data) else report.unchanged).append(name)

    def commit(self, report: ExportReport) -> None:
        pass

    def stamp(self, name: str) -> Stamp | None:
        return None

    def remove_all(self, names: Iterable[str], report: ExportReport) -> set[str]:
        report.removed.extend(names)
        return set()

    def remove_empty_folders(self, names: Iterable[str]) -> None:
        pass

    def sync(self) -> None:
        pass
