"""Shared fixtures: the seeds, corpora written to disk, settings, and the Flask app."""

from __future__ import annotations

import os
import re
import shutil
import signal
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

import feeds.publication
from feeds.config import Settings
from feeds.web import create_app

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SCHEMAS = Path(__file__).resolve().parent / "schemas"
"""Atom's RELAX NG grammar (RFC 4287) and the JSON Feed 1.1 schema; see its README."""
NOW = datetime(2026, 1, 1, tzinfo=UTC)
"""The fixed clock of the tests: after every seed and fixture date."""


def pytest_configure(config: pytest.Config) -> None:
    # A run started in the background (``cmd &`` in a script, nohup) inherits SIGINT
    # ignored, and every process it starts would too: the tests that stop a command with
    # Ctrl-C, as a person would, need it delivered. A handler (unlike "ignored") is reset
    # to the default in each program the tests start.
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def _scrub_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    for name in list(os.environ):
        if name.startswith("FEEDS_"):
            monkeypatch.delenv(name)
    # Indexes of test corpora go to a folder of the test run, not the user's cache.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture
def seeds_dir(tmp_path: Path) -> Path:
    """A private copy of the bundled seeds, safe to change."""
    target = tmp_path / "seeds"
    shutil.copytree(SEEDS, target)
    return target


def item_text(front: dict[str, Any] | None = None, body: str = "", **fields: Any) -> str:
    """An item file: ``front`` (or a minimal valid item) updated with ``fields``, as YAML."""
    data: dict[str, Any] = dict(front) if front is not None else minimal_item()
    data.update(fields)
    data = {k: v for k, v in data.items() if v is not None}
    dumped = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    return f"---\n{dumped}---\n\n{body}"


def minimal_item(number: int = 0) -> dict[str, Any]:
    return {
        "title": f"Story {number}",
        "excerpt": f"Excerpt of story {number}.",
        "publishedDateTime": datetime(2024, 1, 1 + number % 28, 12, 0, tzinfo=UTC),
        "webUrl": f"https://news.example/{number}",
        "published": True,
        "heat": -1,
        "quality": 50,
        "topics": ["AI"],
    }


LOG_LINE = re.compile(
    r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+: (.*)"
)


def log_messages(stderr: str, level: str | None = None) -> list[str]:
    """The messages of the log lines on ``stderr`` (of ``level`` only, if given); a line
    that is not a log line fails the test, since every line on stderr must be one."""
    found = []
    for line in stderr.splitlines():
        if not line.strip():
            continue  # the new line a terminal's Ctrl-C is answered with
        match = LOG_LINE.fullmatch(line)
        assert match, f"not a log line: {line!r}"
        if level is None or match[1] == level:
            found.append(match[2])
    return found


Lock = Callable[[Path, int], None]


@pytest.fixture
def lock() -> Iterator[Lock]:
    """``lock(folder, mode)``: the folder's mode set for a test, and set back after it."""
    locked: list[tuple[Path, int]] = []

    def set_mode(folder: Path, mode: int) -> None:
        locked.append((folder, folder.stat().st_mode))
        folder.chmod(mode)

    yield set_mode
    for folder, mode in reversed(locked):
        folder.chmod(mode)


CorpusWriter = Callable[..., Path]


@pytest.fixture
def write_corpus(tmp_path: Path) -> CorpusWriter:
    """``write_corpus({"a.txt": text, ...})`` writes files (str or bytes) to a new folder."""
    counter = iter(range(1_000_000))

    def write(files: dict[str, str | bytes], root: Path | None = None) -> Path:
        folder = root or tmp_path / f"corpus{next(counter)}"
        folder.mkdir(parents=True, exist_ok=True)
        for name, content in files.items():
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
        return folder

    return write


@pytest.fixture
def settings(seeds_dir: Path) -> Settings:
    return Settings(corpus=seeds_dir, base_url="http://feeds.test/")


@pytest.fixture
def app(settings: Settings) -> Iterator[Any]:
    app = create_app(settings, clock=lambda: NOW, watch=False)
    app.config["TESTING"] = True
    yield app


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each feed build and page, index and OPML render, by kind, as publication.py makes
    them (the names it renders through, wrapped around the real functions)."""
    calls: list[str] = []

    def counted(kind: str, real: Callable[..., bytes]) -> Callable[..., bytes]:
        def wrapper(*args: Any, **kwargs: Any) -> bytes:
            calls.append(kind)
            return real(*args, **kwargs)

        return wrapper

    names = {"feed": "build", "page": "render_page", "index": "render_index", "opml": "render_opml"}
    for kind, name in names.items():
        monkeypatch.setattr(feeds.publication, name, counted(kind, getattr(feeds.publication, name)))
    return calls


@pytest.fixture
def fingerprints(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The path of each document whose fingerprint is found (``Publication.fingerprint``,
    wrapped around the real method)."""
    asked: list[str] = []
    real = feeds.publication.Publication.fingerprint

    def counted(self: feeds.publication.Publication, path: str, *rest: Any) -> str | None:
        asked.append(path)
        return real(self, path, *rest)

    monkeypatch.setattr(feeds.publication.Publication, "fingerprint", counted)
    return asked
