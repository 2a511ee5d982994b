"""The live corpus: files added, changed, removed or broken while serving, and the atomic swap."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

import feeds.index.rows
from feeds.config import Settings
from feeds.corpus.reader import read_file
from feeds.errors import FeedsError
from feeds.index import CorpusIndex
from feeds.live import Watcher
from feeds.web import create_app
from tests.conftest import NOW, CorpusWriter
from tests.test_web import feed_urls, story, url_of

DEADLINE = 10.0
"""Seconds a change may take to show; the watcher here scans every 0.1 s."""


def wait_for(condition: Callable[[], bool], what: str, timeout: float = DEADLINE) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout} s: {what}")
        time.sleep(0.05)


def write_atomically(path: Path, text: str) -> None:
    """Write beside, then rename over: how a careful writer replaces a file."""
    temporary = path.with_name(f".{path.name}.tmp")  # hidden: the scan skips it
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


@pytest.fixture
def corpus(write_corpus: CorpusWriter) -> Path:
    return write_corpus({f"{n:03}.txt": story(n, topics=["AI"]) for n in range(3)})


@pytest.fixture
def live_app(corpus: Path) -> Iterator[Flask]:
    settings = Settings(corpus=corpus, base_url="http://feeds.test/", watch_interval=0.1)
    app = create_app(settings, clock=lambda: NOW, watch=True)
    yield app
    app.extensions["feeds"].close()


@pytest.fixture
def http(live_app: Flask) -> FlaskClient:
    return live_app.test_client()


def urls(http: FlaskClient, path: str = "/feeds/all.json") -> list[str]:
    response = http.get(path)
    assert response.status_code == 200
    return feed_urls(path.rpartition(".")[2], response.data)


def titles(http: FlaskClient) -> list[str]:
    return [item["title"] for item in json.loads(http.get("/feeds/all.json").data)["items"]]


def test_an_added_file_shows_without_a_restart(http: FlaskClient, corpus: Path) -> None:
    assert url_of(10) not in urls(http)
    (corpus / "sub").mkdir()
    (corpus / "sub" / "010.md").write_text(story(10, topics=["Space"]), encoding="utf-8")
    wait_for(lambda: url_of(10) in urls(http), "the new item in the feed")
    assert url_of(10) in urls(http, "/feeds/space.rss")
    assert "feeds/space.atom" in http.get("/").get_data(as_text=True)


def test_a_changed_file_shows(http: FlaskClient, corpus: Path) -> None:
    assert "Story 1" in titles(http)
    # same length as before, so only the modification time tells the change
    (corpus / "001.txt").write_text(story(1, topics=["AI"], title="Tale 1!"), encoding="utf-8")
    wait_for(lambda: "Tale 1!" in titles(http), "the new title")
    assert "Story 1" not in titles(http)


def test_a_removed_file_goes(http: FlaskClient, corpus: Path) -> None:
    etag = http.get("/feeds/ai.rss").headers["ETag"]
    (corpus / "002.txt").unlink()
    wait_for(lambda: url_of(2) not in urls(http), "the item gone")
    assert http.get("/feeds/ai.rss", headers={"If-None-Match": etag}).status_code == 200


def test_a_removed_topic_disappears(http: FlaskClient, corpus: Path) -> None:
    (corpus / "009.txt").write_text(story(9, topics=["Space"]), encoding="utf-8")
    wait_for(lambda: http.get("/feeds/space.rss").status_code == 200, "the new topic's feed")
    (corpus / "009.txt").unlink()
    wait_for(lambda: http.get("/feeds/space.rss").status_code == 404, "the topic's feed gone")


def test_a_bad_file_is_logged_and_left_out_while_serving_goes_on(
    http: FlaskClient, corpus: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="feeds")
    before = urls(http)
    # whole files at once: a scan amid a plain write may first see an empty file (logged too)
    write_atomically(corpus / "666.txt", "---\ntitle: [unclosed\n---\n")
    write_atomically(corpus / "777.txt", story(7, topics=["AI"]))
    wait_for(lambda: url_of(7) in urls(http), "the good file that came with the bad one")
    assert sorted(urls(http)) == sorted([*before, url_of(7)])
    logged = [r.getMessage() for r in caplog.records if "666.txt" in r.getMessage()]
    assert len(logged) == 1, "logged once, not at every scan"
    assert str(corpus / "666.txt") in logged[0]
    assert http.get("/").status_code == 200

    write_atomically(corpus / "666.txt", story(66, topics=["AI"]))  # fixed
    wait_for(lambda: url_of(66) in urls(http), "the fixed file's item")


def test_an_unreadable_corpus_folder_keeps_the_last_corpus(
    http: FlaskClient, corpus: Path, caplog: pytest.LogCaptureFixture
) -> None:
    before = urls(http)
    moved = corpus.with_name(corpus.name + "-away")
    corpus.rename(moved)
    wait_for(lambda: "is missing" in caplog.text, "a warning about the folder")
    assert urls(http) == before
    moved.rename(corpus)
    (corpus / "004.txt").write_text(story(4, topics=["AI"]), encoding="utf-8")
    wait_for(lambda: url_of(4) in urls(http), "the corpus read again")


def test_the_first_request_sees_changes_made_since_the_app_loaded(corpus: Path) -> None:
    """A worker idle since it started answers its first request from the corpus as it is
    then, not as it was at start (its siblings have moved on)."""
    settings = Settings(corpus=corpus, watch_interval=3600)
    app = create_app(settings, clock=lambda: NOW, watch=True)
    try:
        (corpus / "005.txt").write_text(story(5, topics=["AI"]), encoding="utf-8")
        (corpus / "000.txt").unlink()
        assert urls(app.test_client()) == [url_of(5), url_of(2), url_of(1)]
    finally:
        app.extensions["feeds"].close()


def test_the_watcher_stops(live_app: Flask, http: FlaskClient, corpus: Path) -> None:
    http.get("/")  # the app starts watching at its first request
    site = live_app.extensions["feeds"]
    watcher = site._watcher
    assert watcher is not None and watcher.alive
    site.close()
    assert not watcher.alive


def test_no_request_sees_a_half_loaded_corpus(
    live_app: Flask, corpus: Path, write_corpus: CorpusWriter
) -> None:
    """Readers hammer the feeds while files are added and rewritten: every response is a
    whole, valid feed, no item ever goes missing, and one reader never sees fewer items
    than it saw before."""
    original = [url_of(n) for n in range(3)]
    errors: list[str] = []
    seen: list[int] = []
    stop = threading.Event()

    def read(fmt: str) -> None:
        client = live_app.test_client()
        last = 0
        while not stop.is_set():
            try:
                response = client.get(f"/feeds/all.{fmt}?limit=500")
                assert response.status_code == 200, response.status
                got = feed_urls(fmt, response.data)
                assert len(got) == len(set(got)), "an item twice"
                assert set(original) <= set(got), "an item missing"
                assert len(got) >= last, f"{len(got)} items after {last}"
                last = len(got)
                seen.append(last)
            except AssertionError as err:  # reported by the main thread
                errors.append(f"{fmt}: {err}")
                return

    readers = [threading.Thread(target=read, args=(fmt,)) for fmt in ("json", "rss", "json")]
    for reader in readers:
        reader.start()
    try:
        for n in range(10, 40):
            write_atomically(corpus / f"{n:03}.txt", story(n, topics=["AI", f"T{n % 4}"]))
            # rewrite an original item each time: it must never vanish while replaced
            write_atomically(
                corpus / f"{n % 3:03}.txt", story(n % 3, topics=["AI"], title=f"Story {n % 3} v{n}")
            )
            time.sleep(0.02)
        wait_for(lambda: bool(seen) and seen[-1] == 33 or bool(errors), "every item served")
    finally:
        stop.set()
        for reader in readers:
            reader.join(DEADLINE)
    assert not errors, errors
    assert seen[-1] == 33
    assert len(set(seen)) > 2, "the readers saw the corpus grow while they read"


# --- the index under the site -------------------------------------------------------------------


def indexed_titles(index: CorpusIndex) -> list[str]:
    return [item.title for item in index.items()]


def test_a_rewrite_within_the_timestamp_granularity_is_not_missed(write_corpus: CorpusWriter) -> None:
    root = write_corpus({"a.txt": story(1, topics=["AI"], title="Before")})
    path = root / "a.txt"
    index = CorpusIndex(root)
    index.refresh()
    assert indexed_titles(index) == ["Before"]
    stat = path.stat()
    # a second write in the same clock tick: same inode, size and modification time
    path.write_text(story(1, topics=["AI"], title="Second"), encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert (path.stat().st_ino, path.stat().st_size, path.stat().st_mtime_ns) == (
        stat.st_ino,
        stat.st_size,
        stat.st_mtime_ns,
    )
    assert index.refresh().changed is True
    assert indexed_titles(index) == ["Second"]
    assert index.refresh().changed is False  # reread, found the same: no new version
    index.close()


def test_settled_files_are_not_reread(write_corpus: CorpusWriter, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_corpus({f"{n}.txt": story(n, topics=["AI"]) for n in range(5)})
    future = time.time_ns() + 3_600 * 10**9  # an hour on, every file has settled
    index = CorpusIndex(root, wall_ns=lambda: future)
    index.refresh()
    reads: list[str] = []

    def counted(path: str, source: str, root: str) -> Any:
        reads.append(source)
        return read_file(path, source, root)

    monkeypatch.setattr(feeds.index.rows, "read_file", counted)
    assert index.refresh().changed is False
    assert reads == []
    (root / "3.txt").write_text(story(3, topics=["AI"], title="Changed"), encoding="utf-8")
    assert index.refresh().changed is True
    assert reads == ["3.txt"]
    index.close()


def test_a_missing_corpus_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FeedsError, match="corpus folder not found"):
        CorpusIndex(tmp_path / "nowhere")


def test_the_watcher_logs_a_failing_refresh_and_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[int] = []

    def refresh() -> bool:
        calls.append(1)
        if len(calls) == 1:
            raise OSError("disk trouble")
        return False

    watcher = Watcher(refresh, 0.1)
    try:
        wait_for(lambda: len(calls) >= 3, "refreshes after the failure")
    finally:
        watcher.stop()
    assert "disk trouble" in caplog.text


def test_a_scheduled_item_appears_when_due_without_a_scan(write_corpus: CorpusWriter) -> None:
    due = NOW + timedelta(minutes=5)
    root = write_corpus({"a.txt": story(1, topics=["AI"]), "b.txt": story(2, topics=["AI"], when=due)})
    clock = [NOW]
    app = create_app(Settings(corpus=root), clock=lambda: clock[0], watch=False)
    client = app.test_client()
    assert urls(client) == [url_of(1)]
    clock[0] = datetime(2026, 1, 1, 0, 5, tzinfo=UTC)
    assert urls(client) == [url_of(2), url_of(1)]
