"""What every command shares: the options of its settings, and settings resolved once, at
the edge, with the log set up and every warning about them said on stderr."""

from __future__ import annotations

import ipaddress
import logging
import os
from collections.abc import Callable, Mapping
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import click

from .. import logs
from ..config import (
    CONFIG_VARIABLE,
    LOG_FORMATS,
    LOG_LEVELS,
    Settings,
    bundled_seeds,
    find_config,
    load_settings,
    unknown_variables,
)
from ..config.values import PARSERS
from ..watch import Mode

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("feeds")

CONFIG_KEY = "feeds.config"
"""Where a command's context keeps the configuration file it used (or ``None``)."""


class UrlType(click.ParamType):  # type: ignore[type-arg]
    """An absolute URL (checked with the setting it is the flag of)."""

    name = "URL"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        return value


URL = UrlType()
FOLDER = click.Path(file_okay=False, readable=False, path_type=Path)
"""A folder: whether it can be read is told by the command, in its words."""

corpus_argument = click.argument("corpus", required=False, type=FOLDER)


def setting_option(
    *names: str, key: str, help: str, shown: str | None = None, **options: Any
) -> Callable[[F], F]:
    """A flag of the setting ``key``: not given, it leaves the setting to the variable, the
    file or the default, which its help names (``shown``, or the default of Settings)."""
    default = shown if shown is not None else _shown(getattr(Settings(), key))
    variable = f"FEEDS_{key.upper()}"
    option: Callable[[F], F] = click.option(
        *names, help=f"{help} (also {variable}) [default: {default}]", **options
    )
    return option


def _shown(value: Any) -> str:
    if isinstance(value, Mapping):
        return ",".join(f"{name}={heat}" for name, heat in value.items()) or "none"
    if isinstance(value, tuple):
        return " ".join(value) or "none"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "none" if value is None else str(value)


def common_options(command: F) -> F:
    """``--config``, the log's options, ``-q`` and ``-v``: on every command."""
    options = [
        click.option(
            "--config",
            "config_file",
            metavar="PATH",
            type=click.Path(dir_okay=False, path_type=Path),
            help=f"The configuration file (also {CONFIG_VARIABLE}) [default: the nearest pyproject.toml"
            " with [tool.feeds], from here upwards]",
        ),
        setting_option(
            "--log-level", key="log_level", type=click.Choice(LOG_LEVELS), help="The least level logged."
        ),
        setting_option(
            "--log-format",
            key="log_format",
            type=click.Choice(LOG_FORMATS),
            help="Log lines as text or JSON.",
        ),
        click.option(
            "--quiet",
            "-q",
            is_flag=True,
            help="Log warnings and errors only; export prints no summary (for cron).",
        ),
        click.option("--verbose", "-v", is_flag=True, help="Log everything, debug lines included."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def watch_options(watching: str) -> Callable[[F], F]:
    """``--watcher`` and ``--watch-interval``, for what ``watching`` (a command, or its
    ``--watch``) watches."""

    def add(command: F) -> F:
        options = [
            setting_option(
                "--watcher",
                key="watcher",
                type=click.Choice([mode.value for mode in Mode]),
                help=f"How {watching} learns of changes of the corpus.",
            ),
            setting_option(
                "--watch-interval",
                key="watch_interval",
                type=click.FloatRange(0.1, 3600),
                help=f"Seconds between two looks at every file, where {watching} polls.",
            ),
        ]
        for option in reversed(options):
            command = option(command)
        return command

    return add


def site_options(command: F) -> F:
    """Flags for the settings that shape published documents (see the README's table)."""
    options = [
        setting_option(
            "--base-url",
            key="base_url",
            type=URL,
            help="Absolute URL the feeds are published under.",
            shown="http://127.0.0.1:8000/; serve: the address it listens on",
        ),
        setting_option("--site-title", key="site_title", help="Title of the site and prefix of feed titles."),
        setting_option("--site-description", key="site_description", help="One line about the site."),
        setting_option(
            "--language", key="language", help="BCP 47 language tag of the feeds, like en or pt-BR."
        ),
        setting_option(
            "--feed-limit",
            key="feed_limit",
            type=click.IntRange(1, 10_000),
            help="Items in a feed by default.",
        ),
        setting_option(
            "--selections", key="selections", metavar="NAME=HEAT,...", help="Named heat selections."
        ),
        setting_option(
            "--collapse/--no-collapse",
            key="collapse",
            default=None,
            help="Show one story told by several providers as one item.",
        ),
        setting_option(
            "--collapse-days",
            key="collapse_days",
            type=click.IntRange(0, 3650),
            help="The most days apart two linked tellings may be and still be one story.",
        ),
        setting_option(
            "--archives/--no-archives",
            key="archives",
            default=None,
            help="Give every feed whose items do not all fit in it archives (RFC 5005).",
        ),
        setting_option(
            "--archive-size",
            key="archive_size",
            type=click.IntRange(1, 10_000),
            help="The most items an archive holds.",
        ),
        setting_option(
            "--hub-url",
            "hubs",
            key="hubs",
            type=URL,
            multiple=True,
            help="A WebSub hub to name and ping (repeat it).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def configure_early() -> None:
    """The log as the environment asks for it, until the settings are resolved: so that a
    usage or configuration error is told in the format the operator chose."""
    level = os.environ.get("FEEDS_LOG_LEVEL", "").strip().lower()
    fmt = os.environ.get("FEEDS_LOG_FORMAT", "").strip().lower()
    logs.configure(level if level in LOG_LEVELS else "info", fmt if fmt in LOG_FORMATS else "text")


def resolve_settings(
    corpus: Path | None, *, config_file: Path | None = None, sample_notice: bool = True, **flags: Any
) -> Settings:
    """Flags, then FEEDS_* variables, then the configuration file, then defaults; the log
    set up by them. Raises FeedsError."""
    quiet, verbose = flags.pop("quiet", False), flags.pop("verbose", False)
    if flags.get("log_level") is None and (quiet or verbose):
        flags["log_level"] = "warning" if quiet else "debug"
    for name, value in flags.items():
        if value == ():  # a repeatable flag not given
            flags[name] = None
    flags["corpus"] = corpus
    environ = os.environ
    config = find_config(config_file, environ, Path.cwd())
    settings = load_settings(flags, environ, config)
    logs.configure(settings.log_level, settings.log_format)
    click.get_current_context().meta[CONFIG_KEY] = config
    for warning in unknown_variables(environ, PARSERS, {CONFIG_VARIABLE}):
        log.warning("%s", warning)
    if sample_notice and settings.corpus == bundled_seeds():
        log.warning(
            "no corpus given or configured: using the bundled sample, %s (give CORPUS, or set corpus)",
            settings.corpus,
        )
    return settings


def is_local_url(url: str) -> bool:
    """Whether ``url`` points at this machine (a loopback or unspecified address, or a
    ``localhost`` name): no reader elsewhere can follow it."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def config_path() -> Path | None:
    """The configuration file this command used, if any."""
    found: Path | None = click.get_current_context().meta.get(CONFIG_KEY)
    return found


def config_used() -> str:
    """The configuration file of this command, for a person to read."""
    found = config_path()
    return str(found) if found else "none (flags, FEEDS_* variables and defaults only)"
