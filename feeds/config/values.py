"""How each setting's value is read and checked: from TOML, a variable or a flag alike."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..watch import Mode

SELECTION_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"must be non-empty text, got {value!r}")
    if _CONTROL.search(value):
        raise ValueError(f"must not contain control characters, got {value!r}")
    return value.strip()


def _count(low: int, high: int) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError(f"must be a whole number, got {value!r}")
        try:
            number = int(value)
        except ValueError:
            raise ValueError(f"must be a whole number, got {value!r}") from None
        if not low <= number <= high:
            raise ValueError(f"must be from {low} to {high}, got {number}")
        return number

    return parse


def _seconds(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"must be a number of seconds, got {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"must be a number of seconds, got {value!r}") from None
    if not 0.1 <= number <= 3600:
        raise ValueError(f"must be from 0.1 to 3600 seconds, got {value!r}")
    return number


def _http_url(value: Any, *, query: bool, ascii_only: bool, rule: str) -> str:
    """An absolute http(s) URL with no fragment or space (``query`` allowed or not)."""
    url = _text(value)
    parts = urlsplit(url)
    try:
        _ = parts.port
    except ValueError:
        raise ValueError(f"must be an absolute http(s) URL, got {url!r} (bad port)") from None
    if (
        parts.scheme not in {"http", "https"}
        or not parts.hostname
        or (parts.query and not query)
        or parts.fragment
        or (ascii_only and not url.isascii())
        or any(ch.isspace() for ch in url)
    ):
        raise ValueError(f"must be an absolute http(s) URL {rule}, got {url!r}")
    if parts.username is not None or parts.password is not None:
        # It would be published in every feed; and a URL is no place for a secret.
        raise ValueError("must not hold a user name or password (it would be published in every feed)")
    return url


def _absolute_url(value: Any) -> str:
    url = _http_url(value, query=False, ascii_only=False, rule="with no query")
    return url if url.endswith("/") else url + "/"


def _hub_url(value: Any) -> str:
    return _http_url(value, query=True, ascii_only=True, rule="of ASCII characters with no fragment")


def _hubs(value: Any) -> tuple[str, ...]:
    """Hub URLs: a TOML list, a space-separated string (``FEEDS_HUBS``), or the values of
    repeated ``--hub-url`` flags; each once, in the order given."""
    if isinstance(value, str):
        urls = value.split()
    elif isinstance(value, list | tuple):
        urls = list(value)
    else:
        raise ValueError(f"must be a list of hub URLs, got {value!r}")
    return tuple(dict.fromkeys(_hub_url(url) for url in urls))


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError(f"must be true or false (or 1 or 0), got {value!r}")


def _optional_url(value: Any) -> str | None:
    return None if value in (None, "") else _absolute_url(value).rstrip("/")


def _language(value: Any) -> str:
    tag = _text(value)
    if not _LANGUAGE.fullmatch(tag):
        raise ValueError(f"must be a BCP 47 language tag like 'en' or 'pt-BR', got {tag!r}")
    return tag


def _selections(value: Any) -> dict[str, int]:
    """``{"hot": 50}`` from TOML, or ``hot=50,top=80`` from a flag or the environment."""
    if isinstance(value, str):
        pairs: list[tuple[str, Any]] = []
        for part in filter(None, (p.strip() for p in value.split(","))):
            name, equals, heat = part.partition("=")
            if not equals:
                raise ValueError(f"must look like 'hot=50,top=80', got {value!r}")
            pairs.append((name.strip(), heat.strip()))
    elif isinstance(value, Mapping):
        pairs = list(value.items())
    else:
        raise ValueError(f"must be a table of names to minimum heats, got {value!r}")
    selections = {}
    for name, heat in pairs:
        if not isinstance(name, str) or not SELECTION_NAME.fullmatch(name) or name == "all":
            raise ValueError(f"selection name {name!r} must be lowercase letters, digits and '-'")
        selections[name] = _count(0, 1_000_000)(heat)
    return dict(sorted(selections.items()))


def _path_text(value: Any) -> str:
    return _text(os.fspath(value) if isinstance(value, os.PathLike) else value)


def _watcher(value: Any) -> Mode:
    try:
        return Mode(value)
    except ValueError:
        raise ValueError(f"must be one of {', '.join(mode.value for mode in Mode)}, got {value!r}") from None


@dataclass(frozen=True, slots=True)
class DeleteLimit:
    """How many of the files of the last export one export may remove: a number of files,
    or a share of them (``50%``)."""

    files: int | None = None
    share: float | None = None

    def allows(self, removed: int, previous: int) -> bool:
        if self.files is not None:
            return removed <= self.files
        assert self.share is not None
        return removed <= self.share * previous

    def __str__(self) -> str:
        if self.files is not None:
            return f"{self.files} files"
        return f"{(self.share or 0) * 100:g}% of them"


def _max_deletes(value: Any) -> DeleteLimit:
    """``10`` files, or ``"50%"`` of the last export's."""
    if isinstance(value, DeleteLimit):
        return value
    wrong = f"must be a number of files or a percentage like '50%', got {value!r}"
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            percent = float(value.strip()[:-1])
        except ValueError:
            raise ValueError(wrong) from None
        if not 0 <= percent <= 100:
            raise ValueError(f"must be from 0% to 100%, got {value!r}")
        return DeleteLimit(share=percent / 100)
    try:
        return DeleteLimit(files=_count(0, 100_000_000)(value))
    except ValueError:
        raise ValueError(wrong) from None


LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("text", "json")


def _choice(choices: tuple[str, ...]) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        word = value.strip().lower() if isinstance(value, str) else value
        if word not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}, got {value!r}")
        return str(word)

    return parse


PARSERS: dict[str, Callable[[Any], Any]] = {
    "corpus": lambda value: Path(_path_text(value)),
    "site_title": _text,
    "site_description": _text,
    "base_url": _absolute_url,
    "language": _language,
    "feed_limit": _count(1, 10_000),
    "max_limit": _count(1, 10_000),
    "cache_max_age": _count(0, 31_536_000),
    "icon": _optional_url,
    "logo": _optional_url,
    "selections": _selections,
    "collapse": _bool,
    "collapse_days": _count(0, 3650),
    "archives": _bool,
    "archive_size": _count(1, 10_000),
    "watch_interval": _seconds,
    "watcher": _watcher,
    "index": _path_text,
    "hubs": _hubs,
    "ping_batch": _bool,
    "hub": _bool,
    "hub_private_callbacks": _bool,
    "hub_store": _path_text,
    "hub_lease_min": _count(1, 31_536_000),
    "hub_lease_default": _count(1, 31_536_000),
    "hub_lease_max": _count(1, 31_536_000),
    "hub_max_per_topic": _count(1, 1_000_000),
    "hub_max_per_host": _count(1, 1_000_000),
    "max_deletes": _max_deletes,
    "log_level": _choice(LOG_LEVELS),
    "log_format": _choice(LOG_FORMATS),
}
