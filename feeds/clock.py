"""The clock, read only at the edges: the command line and the web app pass the time in."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)
