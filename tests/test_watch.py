"""Watching a corpus: change notices where they work, polling where they do not, no change
lost; ``feeds export --watch`` and ``feeds serve`` take changes up from them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from feeds import watch
from feeds.clock import utc_now
from feeds.config import Settings
from feeds.export import MANIFEST, export_site
from feeds.watch import Mode, changes, choose

from .conftest import ROOT, CorpusWriter, item_text, minimal_item
from .test_serve_process import serving
from .test_web import feed_urls


class Batches:
    """The batches :func:`changes` yields, gathered by a thread; ``slow`` seconds of work
    after each (a refresh taking its time)."""

    def __init__(self, root: Path, mode: Mode, *, slow: float = 0.0, interval: float = 0.3) -> None:
        self.stop = threading.Event()
        self.batches: list[set[str] | None] = []
        self.lock = threading.Lock()
        self.slow = slow
        self.thread = threading.Thread(target=self._run, args=(root, mode, interval), daemon=True)
        self.thread.start()
        self.wait_for(lambda: len(self.batches) >= 1)  # the first look at every file

    def _run(self, root: Path, mode: Mode, interval: float) -> None:
        for batch in changes(root, mode, interval, self.stop):
            with self.lock:
                self.batches.append(batch)
            time.sleep(self.slow)

    def seen(self) -> set[str]:
        with self.lock:
            return {path for batch in self.batches if batch for path in batch}

    def wait_for(self, condition: object, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while not condition():  # type: ignore[operator]
            assert time.monotonic() < deadline, f"not seen in {timeout} s: {self.batches[-5:]}"
            time.sleep(0.02)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)


@pytest.fixture
def notices(tmp_path: Path) -> Iterator[tuple[Path, Batches]]:
    root = tmp_path / "corpus"
    (root / "a").mkdir(parents=True)
    watched = Batches(root, Mode.NOTIFY)
    yield root, watched
    watched.close()


def test_a_notice_names_a_new_file_at_once(notices: tuple[Path, Batches]) -> None:
    root, watched = notices
    written = time.monotonic()
    (root / "a" / "x.txt").write_text("x")
    watched.wait_for(lambda: "a/x.txt" in watched.seen())
    assert time.monotonic() - written < 1.0
    assert watched.batches[0] is None  # the first batch: look at every file


def test_a_burst_comes_in_a_few_batches_and_loses_nothing(notices: tuple[Path, Batches]) -> None:
    root, watched = notices
    names = {f"a/f{n}.txt" for n in range(1500)}
    for name in sorted(names):
        (root / name).write_text("x")
    watched.wait_for(lambda: names <= watched.seen() or None in watched.batches[1:])
    time.sleep(0.3)
    assert len(watched.batches) - 1 <= 6  # gathered, not one batch a file


def test_a_change_while_a_batch_is_taken_up_is_in_the_next(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    root.mkdir()
    watched = Batches(root, Mode.NOTIFY, slow=1.0)
    try:
        (root / "first.txt").write_text("x")
        watched.wait_for(lambda: "first.txt" in watched.seen())
        (root / "during.txt").write_text("x")  # while the consumer is busy
        watched.wait_for(lambda: "during.txt" in watched.seen())
    finally:
        watched.close()


def test_polling_looks_at_every_file_each_interval(tmp_path: Path) -> None:
    watched = Batches(tmp_path, Mode.POLL, interval=0.2)
    try:
        watched.wait_for(lambda: len(watched.batches) >= 4, timeout=5)
        assert set(watched.batches) == {None}
    finally:
        watched.close()


def test_auto_polls_where_notices_do_not_work_or_do_not_suffice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for folder in range(12):
        (tmp_path / f"d{folder}").mkdir()
    assert choose(tmp_path, Mode.AUTO)[0] is Mode.NOTIFY
    assert choose(tmp_path, Mode.POLL) == (Mode.POLL, "the watcher setting says poll")
    monkeypatch.setattr(watch, "_watch_limit", lambda: 20)
    assert choose(tmp_path, Mode.AUTO) == (Mode.POLL, "too few inotify watches (13 folders, a limit of 20)")
    assert choose(tmp_path, Mode.NOTIFY)[0] is Mode.NOTIFY  # forced: as asked
    for kind in ("nfs4", "cifs", "fuse.sshfs"):
        monkeypatch.setattr(watch, "filesystem_type", lambda _, kind=kind: kind)
        chosen, why = choose(tmp_path, Mode.AUTO)
        assert chosen is Mode.POLL and kind in why
    monkeypatch.setattr(watch, "filesystem_type", lambda _: None)
    assert choose(tmp_path, Mode.AUTO) == (Mode.POLL, "this system gives no change notices")


def test_the_file_system_of_a_folder_is_read_from_the_mount_table(tmp_path: Path) -> None:
    found = watch.filesystem_type(tmp_path)
    assert found is not None and found == watch.filesystem_type(tmp_path / "no-such-child")


# -- feeds export --watch ----------------------------------------------------------------


def start_export(corpus: Path, out: Path, *args: str) -> tuple[subprocess.Popen[str], list[str]]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")  # no FEEDS_* (conftest scrubs them)
    process = subprocess.Popen(
        [sys.executable, "-m", "feeds", "export", str(corpus), str(out), "--watch", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    assert process.stdout is not None
    threading.Thread(target=lambda: lines.extend(iter(process.stdout.readline, "")), daemon=True).start()
    return process, lines


def wait(condition: object, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def exported(out: Path) -> dict[str, bytes]:
    return {
        path.relative_to(out).as_posix(): path.read_bytes()
        for path in sorted(out.rglob("*"))
        if path.is_file() and path.name != MANIFEST
    }


@pytest.mark.parametrize("mode", ["notify", "poll"])
def test_export_watch_exports_each_change_as_a_one_off_export_would(
    write_corpus: CorpusWriter, tmp_path: Path, mode: str
) -> None:
    corpus = write_corpus({f"s{n}.txt": item_text(minimal_item(n)) for n in range(5)})
    out = tmp_path / "out"
    process, lines = start_export(corpus, out, "--watcher", mode, "--watch-interval", "0.2")
    try:
        wait(lambda: len(lines) >= 1)
        assert "written" in lines[0]

        def shows(number: int) -> bool:
            feed = out / "feeds" / "all.json"
            return feed.exists() and f"https://news.example/{number}" in feed_urls("json", feed.read_bytes())

        (corpus / "new.txt").write_text(item_text(minimal_item(9)))
        wait(lambda: shows(9))
        (corpus / "s1.txt").unlink()
        wait(lambda: not shows(1))
        wait(lambda: len(lines) >= 3)  # the first round, then one a change at least
        rounds = len(lines)
        process.send_signal(signal.SIGINT)
        assert process.wait(15) == 0
        assert process.stderr is not None and "Traceback" not in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
    assert rounds >= 3 and all(" written, " in line for line in lines)  # one line a round
    once = tmp_path / "once"
    export_site(Settings(corpus=corpus, index="memory"), once, now=utc_now())
    assert exported(out) == exported(once)
    manifests = [json.loads((folder / MANIFEST).read_text())["files"] for folder in (out, once)]
    assert manifests[0] == manifests[1]


# -- feeds serve ----------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["notify", "poll"])
def test_serve_says_how_it_watches_and_takes_changes_up(
    write_corpus: CorpusWriter, tmp_path: Path, mode: str
) -> None:
    corpus = write_corpus({"a.txt": item_text(minimal_item(1))})
    with serving([str(corpus), "--watcher", mode, "--watch-interval", "0.3"], cwd=tmp_path) as server:
        (corpus / "b.txt").write_text(item_text(minimal_item(2)))
        deadline = time.monotonic() + 10
        while "https://news.example/2" not in feed_urls("json", server.fetch("/feeds/all.json")[2]):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        said = "by change notices" if mode == "notify" else "by looking at every file every 0.3 s"
        assert said in server.log()
