"""Settings, resolved once: command-line flags, then ``FEEDS_*`` variables, then
``[tool.feeds]`` in ``pyproject.toml``, then defaults."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .errors import ConfigError
from .watch import Mode

ENV_PREFIX = "FEEDS_"
_SELECTION_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
_NO_INDEX = frozenset({"memory", ":memory:"})
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")


def bundled_seeds() -> Path:
    """The sample corpus: inside the installed package, or beside it in a checkout."""
    here = Path(__file__).resolve().parent
    packaged = here / "_seeds"
    return packaged if packaged.is_dir() else here.parent / "seeds"


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything configurable. Field names are the keys of ``[tool.feeds]``; the
    environment variable of each is ``FEEDS_`` plus the name in capitals."""

    corpus: Path = field(default_factory=bundled_seeds)
    site_title: str = "feeds"
    site_description: str = "News, by topic."
    base_url: str = "http://127.0.0.1:8000/"
    """Absolute links (self links, ids, OPML) are made from this; it ends in a slash."""
    language: str = "en"
    feed_limit: int = 50
    """Items in a feed when the request gives no ``limit``."""
    max_limit: int = 500
    """The largest ``limit`` a request may ask for."""
    cache_max_age: int = 300
    """Seconds a client or proxy may reuse a feed without asking again."""
    icon: str | None = None
    logo: str | None = None
    selections: Mapping[str, int] = field(default_factory=lambda: {"hot": 50})
    """Named heat selections: each name gets a feed per topic of items with heat >= N."""
    watch_interval: float = 2.0
    """Seconds between two scans of the corpus for changes, where it is watched by polling."""
    watcher: Mode = Mode.AUTO
    """How a watched corpus is watched: by change notices, by polling, or ``auto``."""
    index: str | None = None
    """The index file of the corpus; unset, one per corpus in the user's cache folder
    (``$XDG_CACHE_HOME/feeds``); ``memory``, none kept between runs."""
    hubs: tuple[str, ...] = ()
    """WebSub hubs: named in every feed and told of every change of one."""
    ping_batch: bool = True
    """Whether one ping tells a hub of every feed that changed (``hub.url`` repeated)."""
    hub: bool = False
    """Whether ``feeds serve`` is a WebSub hub of its own feeds, at ``/websub``."""
    hub_private_callbacks: bool = False
    """Whether the built-in hub may call back to loopback, private and other
    non-public addresses (an intranet, the tests)."""
    hub_store: str | None = None
    """The built-in hub's SQLite file; unset, beside the index."""
    hub_lease_min: int = 3600
    hub_lease_default: int = 864_000
    hub_lease_max: int = 2_592_000
    """Seconds a subscription lasts: as asked within these bounds, the default if not asked."""
    hub_max_per_topic: int = 1000
    hub_max_per_host: int = 100
    """Subscriptions (pending or active) a topic, or a callback host, may have."""

    def with_overrides(self, **changes: Any) -> Settings:
        """These settings with ``changes`` parsed and checked as flag values."""
        parsed = {name: _parse(name, value, _flag(name)) for name, value in changes.items()}
        settings = replace(self, **parsed)
        _check_limits(settings, {name: _flag(name) for name in parsed})
        return settings


def load_settings(
    flags: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    pyproject: Path | None = None,
) -> Settings:
    """Resolve settings from ``flags`` (``None`` values ignored), ``environ`` and the
    ``[tool.feeds]`` table of ``pyproject`` (if the file exists). Raises ConfigError naming
    where a bad value came from. A relative ``corpus`` in ``pyproject`` is relative to the
    folder of that file; elsewhere, to the current folder."""
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    if pyproject is not None and pyproject.is_file():
        for name, value in _tool_table(pyproject).items():
            key = name.replace("-", "_")
            if key not in _PARSERS:
                raise ConfigError(f"{pyproject}: unknown setting [tool.feeds] {name}")
            origins[key] = f"{pyproject} [tool.feeds] {name}"
            values[key] = _parse(key, value, origins[key])
            if key == "corpus":
                values[key] = pyproject.parent / values[key]
            elif (key == "index" and values[key] not in _NO_INDEX) or key == "hub_store":
                values[key] = str(pyproject.parent / values[key])
    for name, value in (environ or {}).items():
        if name.startswith(ENV_PREFIX):
            key = name[len(ENV_PREFIX) :].lower()
            if key in _PARSERS:
                origins[key] = name
                values[key] = _parse(key, value, name)
    for key, value in (flags or {}).items():
        if value is not None:
            origins[key] = _flag(key)
            values[key] = _parse(key, value, origins[key])
    settings = Settings(**values)
    _check_limits(settings, origins)
    return settings


def _tool_table(pyproject: Path) -> Mapping[str, Any]:
    try:
        document = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"{pyproject}: {err}") from None
    except OSError as err:
        raise ConfigError(f"{pyproject}: cannot read: {err.strerror or err}") from None
    tool = document.get("tool", {})
    table = tool.get("feeds", {}) if isinstance(tool, dict) else None
    if not isinstance(table, dict):
        raise ConfigError(f"{pyproject}: [tool.feeds] must be a table")
    return table


_FLAGS = {"hubs": "--hub-url"}


def _flag(name: str) -> str:
    return _FLAGS.get(name) or f"--{name.replace('_', '-')}"


def _check_limits(settings: Settings, origins: Mapping[str, str]) -> None:
    if settings.feed_limit > settings.max_limit:
        where = origins.get("feed_limit") or origins.get("max_limit") or "defaults"
        raise ConfigError(
            f"{where}: feed_limit ({settings.feed_limit}) must not exceed max_limit ({settings.max_limit})"
        )
    leases = ("hub_lease_min", "hub_lease_default", "hub_lease_max")
    low, default, high = (getattr(settings, name) for name in leases)
    if not low <= default <= high:
        where = next((origins[name] for name in leases if name in origins), "defaults")
        raise ConfigError(
            f"{where}: hub leases must be hub_lease_min ({low}) <= hub_lease_default ({default})"
            f" <= hub_lease_max ({high})"
        )


def _parse(name: str, value: Any, origin: str) -> Any:
    try:
        return _PARSERS[name](value)
    except (ValueError, TypeError) as err:
        raise ConfigError(f"{origin}: {err}") from None
    except KeyError:
        raise ConfigError(f"{origin}: unknown setting {name!r}") from None


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
        if not isinstance(name, str) or not _SELECTION_NAME.fullmatch(name) or name == "all":
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


_PARSERS: dict[str, Callable[[Any], Any]] = {
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
}
