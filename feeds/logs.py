"""One log on stderr for every part of feeds: the commands, the server and its workers,
the watcher and the hub, and gunicorn's own lines. Each line has its time and level; in the
``json`` format each line is one JSON object."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

log = logging.getLogger("feeds")

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


def _utc(record: logging.LogRecord) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
    return f"{seconds}.{int(record.msecs):03d}Z"


class TextFormatter(logging.Formatter):
    """``2026-12-03T07:30:00.123Z WARNING feeds: message``, the traceback (of a bug) below."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{_utc(record)} {record.levelname} {record.name}: {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """``{"time": …, "level": "warning", "logger": "feeds", "message": …}`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _utc(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure(level: str = "info", fmt: str = "text") -> None:
    """Send every logger's records to stderr in ``fmt`` from ``level`` up, replacing what
    was set before (a command configures once it knows its settings)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.setLevel(_LEVELS.get(level, logging.INFO))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(handler.level)
    logging.captureWarnings(True)


def gunicorn_logger() -> type:
    """A gunicorn logger class whose error and access lines go to our log."""
    from gunicorn.glogging import Logger

    class _Logger(Logger):  # type: ignore[misc]
        def setup(self, cfg: Any) -> None:
            super().setup(cfg)
            for logger in (self.error_log, self.access_log):
                for handler in list(logger.handlers):
                    logger.removeHandler(handler)
                logger.propagate = True

    return _Logger
