"""What an export round did, file by file."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ItemError, rejected_files


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
    dry_run: bool = False
    """Whether nothing was written: ``written`` and ``removed`` are what would be."""

    @property
    def skipped(self) -> int:
        return rejected_files(self.problems)

    def summary(self) -> str:
        if self.dry_run:
            return (
                f"dry run: {len(self.written)} to write, {len(self.unchanged)} unchanged,"
                f" {len(self.removed)} to remove, {self.skipped} bad files skipped"
            )
        text = (
            f"{len(self.written)} written, {len(self.unchanged)} unchanged, "
            f"{len(self.removed)} removed, {self.skipped} bad files skipped"
        )
        return text + (f", {len(self.failures)} failed" if self.failures else "")
