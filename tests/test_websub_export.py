"""``feeds export`` writes the hub links into the files and tells the hubs of ``hubs`` of
exactly the feeds whose files it wrote; a hub that fails or is slow is a warning, never a
failed or stalled export."""

from __future__ import annotations

import json
import time
from pathlib import Path

from click.testing import CliRunner, Result

from feeds.cli import main
from feeds.cli.export import EXPORT_PING_WAIT
from tests import test_serve_process
from tests.conftest import log_messages
from tests.test_web import story
from tests.websub_peers import Seen, StandInHub, closed_port

BASE = "https://news.example/"
BOUND = EXPORT_PING_WAIT + 10
"""Seconds an export with a hub that fails may take at most, a small corpus and all."""


corpus = test_serve_process.corpus  # the serve tests' three stories


def export(corpus: Path, out: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    argv = ["export", str(corpus), str(out), "--base-url", BASE, *args]
    return CliRunner().invoke(main, argv, env=env, catch_exceptions=False)


def feed_files(out: Path) -> dict[str, bytes]:
    """The topic URL and bytes of every feed file of an export."""
    return {
        BASE + path.relative_to(out).as_posix(): path.read_bytes()
        for path in sorted((out / "feeds").rglob("*"))
        if path.suffix in {".rss", ".atom", ".json"}
    }


def test_export_pings_exactly_the_feeds_it_wrote(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with StandInHub() as hub:
        first = export(corpus, out, "--hub-url", hub.url)
        assert first.exit_code == 0, first.output
        files = feed_files(out)
        assert sorted(hub.topics()) == sorted(files)  # every feed once: all were written
        assert len(hub.seen) == 1  # in one request
        assert f"told 1 hubs of {len(files)} changed feeds" in first.stdout
        for topic, body in files.items():  # and each file names the hub
            assert f'"{hub.url}"'.encode() in body or f'href="{hub.url}"'.encode() in body, topic

        unchanged = export(corpus, out, "--hub-url", hub.url)
        assert unchanged.exit_code == 0 and "told" not in unchanged.stdout
        assert len(hub.seen) == 1  # nothing written, no ping

        (corpus / "d.txt").write_text(story(4, topics=["Space"]), encoding="utf-8")
        changed = export(corpus, out, "--hub-url", hub.url)
        assert changed.exit_code == 0, changed.output
        now = feed_files(out)
        rewritten = {topic for topic in now if files.get(topic) != now[topic]}
        assert rewritten and f"{BASE}feeds/ai.rss" not in rewritten
        assert sorted(hub.topics()[len(files) :]) == sorted(rewritten)

        (corpus / "e.txt").write_text(story(5, topics=["AI"]), encoding="utf-8")
        quiet = export(corpus, out, "--hub-url", hub.url, "--no-ping")
        assert quiet.exit_code == 0 and len(hub.seen) == 2  # --no-ping: no ping


def test_export_with_no_hub_pings_nothing_and_writes_no_hub_link(corpus: Path, tmp_path: Path) -> None:
    with StandInHub() as hub:
        result = export(corpus, tmp_path / "out")
        assert result.exit_code == 0 and "told" not in result.stdout
        assert hub.seen == []
    feed = json.loads((tmp_path / "out" / "feeds" / "all.json").read_bytes())
    assert "hubs" not in feed


def test_one_feed_a_ping_when_asked(corpus: Path, tmp_path: Path) -> None:
    with StandInHub() as hub:
        result = export(corpus, tmp_path / "out", env={"FEEDS_HUBS": hub.url, "FEEDS_PING_BATCH": "0"})
        assert result.exit_code == 0, result.output
        files = feed_files(tmp_path / "out")
        assert len(hub.seen) == len(files) and sorted(hub.topics()) == sorted(files)


class RefusesBatches(StandInHub):
    """A hub that takes only one ``hub.url`` a request."""

    def answer(self, seen: Seen) -> tuple[int, list[tuple[str, str]], bytes]:
        urls = [value for name, value in seen.form if name == "hub.url"]
        return (204 if len(urls) == 1 else 400), [], b""


def test_a_hub_that_refuses_a_batch_gets_one_feed_a_ping(corpus: Path, tmp_path: Path) -> None:
    with RefusesBatches() as hub:
        result = export(corpus, tmp_path / "out", "--hub-url", hub.url)
        assert result.exit_code == 0 and "warning" not in result.stderr, result.output
        files = feed_files(tmp_path / "out")
        assert len(hub.seen) == 1 + len(files)  # the batch refused, then each feed alone
        assert sorted(hub.topics()[len(files) :]) == sorted(files)


def test_a_hub_that_is_down_is_a_warning(corpus: Path, tmp_path: Path) -> None:
    down = f"http://127.0.0.1:{closed_port()}/"
    with StandInHub() as up:
        started = time.monotonic()
        result = export(corpus, tmp_path / "out", "--hub-url", down, "--hub-url", up.url)
        took = time.monotonic() - started
        assert result.exit_code == 0, result.output
        assert took < BOUND, f"took {took:.1f} s"
        files = feed_files(tmp_path / "out")
        assert sorted(up.topics()) == sorted(files)  # the other hub was told all the same
    [warning] = [line for line in log_messages(result.stderr, "WARNING") if line.startswith("hub ")]
    assert warning.startswith(f"hub {down}: not told of {len(files)} feeds: ")
    assert warning.endswith("(3 attempts)")


def test_a_hub_that_is_slow_is_given_up_on(corpus: Path, tmp_path: Path) -> None:
    with StandInHub(delay=30) as slow:
        started = time.monotonic()
        result = export(corpus, tmp_path / "out", "--hub-url", slow.url, "--quiet")
        took = time.monotonic() - started
        assert result.exit_code == 0, result.output
        assert took < BOUND, f"took {took:.1f} s"
    files = feed_files(tmp_path / "out")
    assert result.stdout == ""  # --quiet: nothing but the warnings, on stderr
    assert [line for line in log_messages(result.stderr, "WARNING") if line.startswith("hub ")] == [
        f"hub {slow.url}: no answer within {EXPORT_PING_WAIT:g} s;"
        f" gave up on telling it of {len(files)} feeds"
    ]
