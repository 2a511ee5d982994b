"""Exceptions: one root, and an item error that names its file and line."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path


class FeedsError(Exception):
    """Root of every error this package raises on purpose: what a command refuses to do,
    told in one line, with exit status ``exit_code``."""

    exit_code = 2


class ConfigError(FeedsError):
    """A setting is missing or has a value we cannot use."""


class Refusal(FeedsError):
    """What a command will not do because it could cost a published site."""


class BadFiles(FeedsError):
    """Bad corpus files where none may be (``export --strict``)."""

    exit_code = 1


class ItemError(FeedsError):
    """A problem with one corpus file, printed as ``path:line: message``.

    ``line`` is 1-based, or ``None`` where the problem has no line (an empty file, one
    too big to read, a duplicate story). ``warning`` problems keep the item; others
    reject it.
    """

    def __init__(
        self,
        path: Path | str,
        message: str,
        line: int | None = None,
        *,
        warning: bool = False,
        field: str | None = None,
    ) -> None:
        self.path = Path(path)
        self.line = line
        self.message = message
        self.warning = warning
        self.field = field
        """The field path the problem is about (``images[0].url``), where there is one."""
        super().__init__(str(self))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ItemError):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def _key(self) -> tuple[Path, int | None, str, bool]:
        return (self.path, self.line, self.message, self.warning)

    def __str__(self) -> str:
        path = printable(str(self.path))
        where = f"{path}:{self.line}" if self.line is not None else path
        return f"{where}: {'warning: ' if self.warning else ''}{self.message}"


class ItemErrors(ItemError):
    """Every problem of one file that rejects it, its warnings too: raised as the first
    error, holding them all."""

    def __init__(self, errors: Sequence[ItemError], warnings: Sequence[ItemError] = ()) -> None:
        first = errors[0]
        self.problems = tuple(sorted((*errors, *warnings), key=lambda p: p.line or 0))
        super().__init__(first.path, first.message, first.line, field=first.field)


def every_problem(err: ItemError) -> tuple[ItemError, ...]:
    """The problems an error raised for a file stands for, in the order of their lines."""
    return err.problems if isinstance(err, ItemErrors) else (err,)


_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")


def rejected_files(problems: Iterable[ItemError]) -> int:
    """How many files the errors among ``problems`` (not the warnings) name."""
    return len({problem.path for problem in problems if not problem.warning})


def printable(text: str) -> str:
    """``text`` on one line, as it reads: controls, bidi marks and undecodable bytes of a
    file name shown as escapes, so a name cannot forge or disguise a line of output."""
    return _UNSAFE.sub(
        lambda found: found[0].encode("unicode_escape", "backslashreplace").decode("ascii"), text
    )
