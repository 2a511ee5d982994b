"""Where settings come from besides flags: the configuration file, found wherever a command
runs, and the ``FEEDS_*`` variables."""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from ..errors import ConfigError

ENV_PREFIX = "FEEDS_"
CONFIG_VARIABLE = "FEEDS_CONFIG"
"""Names the configuration file, as ``--config`` does."""
PYPROJECT = "pyproject.toml"


def find_config(explicit: Path | None, environ: Mapping[str, str], cwd: Path) -> Path | None:
    """The configuration file of a command: ``--config`` (``explicit``), else
    ``FEEDS_CONFIG``, else the nearest ``pyproject.toml`` with a ``[tool.feeds]`` table in
    ``cwd`` or a folder above it; ``None`` if there is none. A file named explicitly must
    exist. Raises ConfigError."""
    named = explicit or (Path(environ[CONFIG_VARIABLE]) if environ.get(CONFIG_VARIABLE) else None)
    if named is not None:
        where = "--config" if explicit else CONFIG_VARIABLE
        if not named.is_file():
            raise ConfigError(f"{where}: no configuration file at {named}")
        read_table(named)  # a file named on purpose must hold settings
        return named.absolute()
    for folder in (cwd, *cwd.parents):
        candidate = folder / PYPROJECT
        if candidate.is_file() and _has_feeds_table(candidate):
            return candidate
    return None


def _has_feeds_table(path: Path) -> bool:
    """Whether ``path`` has ``[tool.feeds]``: a quick look at its text, then the parse."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return False
    except OSError as err:  # it may be ours: passing it over could publish the defaults
        raise ConfigError(f"{path}: cannot read: {err.strerror or err}") from None
    if "feeds" not in text:
        return False
    try:
        tool = tomllib.loads(text).get("tool", {})
    except tomllib.TOMLDecodeError:
        return "[tool.feeds]" in text  # ours, but broken: reading it says how
    return isinstance(tool, dict) and "feeds" in tool


def read_table(path: Path) -> tuple[Mapping[str, Any], str]:
    """The settings of the file ``path`` and how its keys are named in messages: its
    ``[tool.feeds]`` table (``pyproject.toml`` or any TOML file), or, in a file of another
    name that has no ``[tool]`` table, the whole file. Raises ConfigError."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: {err}") from None
    except OSError as err:
        raise ConfigError(f"{path}: cannot read: {err.strerror or err}") from None
    tool = document.get("tool")
    if tool is None:
        return ({}, "[tool.feeds] ") if path.name == PYPROJECT else (document, "")
    table = tool.get("feeds") if isinstance(tool, dict) else None
    if table is None and isinstance(tool, dict):
        if path.name == PYPROJECT:
            return {}, "[tool.feeds] "
        raise ConfigError(f"{path}: no [tool.feeds] table")
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.feeds] must be a table")
    return table, "[tool.feeds] "


def unknown_variables(
    environ: Mapping[str, str], settings: Collection[str], others: Collection[str]
) -> list[str]:
    """A warning for each ``FEEDS_*`` variable that names no setting (nor one of ``others``,
    variables read elsewhere), with the nearest name it may have meant."""
    known = {ENV_PREFIX + name.upper() for name in settings} | set(others)
    return [
        f"{name} is not a setting of feeds; ignored{did_you_mean(name, known)}"
        for name in sorted(environ)
        if name.startswith(ENV_PREFIX) and name not in known
    ]


def did_you_mean(word: str, choices: Collection[str]) -> str:
    """``"; did you mean X?"`` for the choice nearest to ``word``, or nothing."""
    near = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f"; did you mean {near[0]}?" if near else ""
