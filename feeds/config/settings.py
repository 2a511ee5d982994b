"""Settings, resolved once: command-line flags, then ``FEEDS_*`` variables, then the
configuration file (see :mod:`.sources`), then defaults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..stories import Collapse
from ..watch import Mode
from .sources import ENV_PREFIX, did_you_mean, read_table
from .values import PARSERS, DeleteLimit

_NO_INDEX = frozenset({"memory", ":memory:"})
_PATHS = frozenset({"corpus", "index", "hub_store"})
"""Settings that name files: in a configuration file, relative to that file's folder."""


def bundled_seeds() -> Path:
    """The sample corpus: inside the installed package, or beside it in a checkout."""
    here = Path(__file__).resolve().parent.parent
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
    collapse: bool = True
    """Whether the tellings of one story by several providers are shown as one item."""
    collapse_days: int = 7
    """The most days apart two linked tellings may be and still be one story."""
    archives: bool = True
    """Whether every feed whose items do not fit in it has archives (RFC 5005)."""
    archive_size: int = 50
    """The most items an archive holds (unless they were published in the same second), and
    never more than ``feed_limit``."""
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
    max_deletes: DeleteLimit = DeleteLimit(share=0.5)
    """How many of the files of its last export an export may remove without ``--force``."""
    log_level: str = "info"
    log_format: str = "text"
    """How the log is written on stderr: ``text`` lines or one ``json`` object a line."""

    @property
    def collapsing(self) -> Collapse | None:
        """How stories are collapsed; ``None`` when they are not."""
        return Collapse(self.collapse_days) if self.collapse else None

    def documents_key(self) -> str:
        """These settings as far as they can change a document: without how the command
        runs (its log, its guards), so that changing those renders nothing anew."""
        return repr(replace(self, log_level="info", log_format="text", max_deletes=DeleteLimit(share=0.5)))

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
    configuration file ``pyproject`` (its ``[tool.feeds]`` table; see
    :func:`.sources.read_table`), if it exists. Raises ConfigError naming where a bad value
    came from. A relative path in the file is relative to the file's folder; elsewhere, to
    the current folder."""
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    if pyproject is not None and pyproject.is_file():
        table, where = read_table(pyproject)
        for name, value in table.items():
            key = name.replace("-", "_")
            origins[key] = f"{pyproject} {where}{name}"
            values[key] = _parse(key, value, origins[key])
            if key in _PATHS and not (key == "index" and values[key] in _NO_INDEX):
                values[key] = type(values[key])(pyproject.parent / values[key])
    for name, value in (environ or {}).items():
        key = name[len(ENV_PREFIX) :].lower()
        if name.startswith(ENV_PREFIX) and key in PARSERS:
            origins[key] = name
            values[key] = _parse(key, value, name)
    for key, value in (flags or {}).items():
        if value is not None:
            origins[key] = _flag(key)
            values[key] = _parse(key, value, origins[key])
    settings = Settings(**values)
    _check_limits(settings, origins)
    return settings


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
        return PARSERS[name](value)
    except (ValueError, TypeError) as err:
        raise ConfigError(f"{origin}: {err}") from None
    except KeyError:
        raise ConfigError(f"{origin}: unknown setting{did_you_mean(name, PARSERS)}") from None
