"""``GET /healthz``: 200 with a small JSON body once the index holds the corpus, 503 (and 503
for every feed, never an empty one) until then; cheap, with no parameters and no paths."""

from __future__ import annotations

import fcntl
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import feeds.corpus.reader
from feeds.config import Settings
from feeds.index import CorpusIndex
from feeds.web import create_app
from tests.conftest import NOW, ROOT, CorpusWriter, Lock, item_text, minimal_item
from tests.test_serve_process import fetch, free_port, serving
from tests.test_unattended import bound_by_permissions


def test_healthz_says_what_is_served_and_when_the_index_was_last_brought_up_to_date(
    settings: Settings, monkeypatch: Any, renders: list[str]
) -> None:
    app = create_app(settings, clock=lambda: NOW, watch=False)
    reads: list[str] = []
    real = feeds.corpus.reader.read_file
    monkeypatch.setattr(feeds.corpus.reader, "read_file", lambda *args: reads.append(args[0]) or real(*args))
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    body = json.loads(response.data)
    assert body["status"] == "ok" and body["index"]["state"] == "ready"
    assert (body["items"], body["topics"]) == (1, 2)  # the seeds: one published item in two topics
    assert isinstance(body["index"]["generation"], int)
    assert body["last_round"].endswith("Z") and body["last_round_age"] >= 0
    assert renders == [] and reads == []  # no feed rendered, no corpus file read


def test_healthz_takes_no_parameters_and_leaks_no_path(settings: Settings) -> None:
    client = create_app(settings, clock=lambda: NOW, watch=False).test_client()
    answer = client.get("/healthz?verbose=1")
    assert answer.status_code == 400 and answer.data == b"/healthz takes no parameters.\n"
    for path in ("/healthz/", "/healthz/../feeds/all.rss"):
        assert client.get(path).status_code == 404
    body = client.get("/healthz").data.decode()
    assert str(settings.corpus) not in body and ".sqlite3" not in body and "cache" not in body


def test_an_index_is_ready_once_it_holds_the_whole_corpus(write_corpus: CorpusWriter, tmp_path: Path) -> None:
    for files in ({"a.txt": item_text(minimal_item(1))}, {}):
        corpus = write_corpus(files)
        index = CorpusIndex(corpus, tmp_path / f"{corpus.name}.sqlite3")
        try:
            assert not index.ready
            before = index.generation
            index.refresh(paths=["a.txt"])  # a change notice's look is not the whole corpus
            assert not index.ready
            index.refresh()
            assert index.ready and index.generation > before  # servers take it up
            assert index.last_round() is not None
        finally:
            index.close()


def test_serve_answers_503_until_its_first_reading_is_done(
    write_corpus: CorpusWriter, tmp_path: Path
) -> None:
    corpus = write_corpus({f"{n}.txt": item_text(minimal_item(n), topics=["Alpha"]) for n in range(3)})
    index = tmp_path / "index.sqlite3"
    CorpusIndex(corpus, index).close()  # made, not read: as a first reading starts
    lock = os.open(f"{index}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.lockf(lock, fcntl.LOCK_EX)  # the first reading waits for this: the server is "starting"
    try:
        with serving([str(corpus)], cwd=tmp_path, env={"FEEDS_INDEX": str(index)}, ready=None) as server:
            status, headers, body = server.fetch("/healthz")
            assert status == 503, body
            state = json.loads(body)
            assert state["status"] == "starting" and state["index"]["state"] == "reading"
            status, headers, body = server.fetch("/feeds/alpha.rss")
            assert (status, headers["Retry-After"], headers["Cache-Control"]) == (503, "2", "no-store")
            assert server.fetch("/")[0] == 503
            fcntl.lockf(lock, fcntl.LOCK_UN)
            deadline = time.monotonic() + 20
            while server.fetch("/healthz")[0] != 200 and time.monotonic() < deadline:
                time.sleep(0.1)
            status, _, body = server.fetch("/healthz")
            assert status == 200 and json.loads(body)["items"] == 3
            assert server.fetch("/feeds/alpha.rss")[0] == 200
    finally:
        os.close(lock)


UNIT = ROOT / "docs" / "feeds.service"


def unit_service_section() -> dict[str, list[str]]:
    """The [Service] section of the documented unit: each key with its values, in order."""
    section: dict[str, list[str]] = {}
    current = None
    for line in UNIT.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            current = line
            continue
        if current == "[Service]":
            key, _, value = line.partition("=")
            section.setdefault(key, []).append(value)
    return section


def test_the_unit_is_a_dedicated_user_with_no_home_its_state_in_its_state_directory() -> None:
    service = unit_service_section()
    assert service["DynamicUser"] == ["yes"] and service["ProtectHome"] == ["yes"]
    assert service["ProtectSystem"] == ["strict"] and service["Restart"] == ["on-failure"]
    assert service["StateDirectory"] == ["feeds"]
    environment = dict(value.partition("=")[::2] for value in service["Environment"])
    assert environment["FEEDS_INDEX"].startswith("/var/lib/feeds/")
    assert environment["FEEDS_HUB_STORE"].startswith("/var/lib/feeds/")


def test_the_units_exec_start_serves_as_the_unit_runs_it(
    write_corpus: CorpusWriter, tmp_path: Path, lock: Lock
) -> None:
    """ExecStart as the unit runs it: its environment, a HOME it may not write, bound by file
    permissions, the state folder its only writable one; paths of the unit mapped to folders
    of the test."""
    service = unit_service_section()
    corpus = write_corpus({"a.txt": item_text(minimal_item(1), topics=["Alpha"])})
    state, etc, home = tmp_path / "var-lib-feeds", tmp_path / "etc-feeds", tmp_path / "home"
    for folder in (state, etc, home):
        folder.mkdir()
    lock(home, 0o555)
    port = free_port()
    (etc / "feeds.toml").write_text(f'corpus = "{corpus}"\nbase_url = "https://news.example/"\n')

    def mapped(text: str) -> str:
        return text.replace("/var/lib/feeds", str(state)).replace("/etc/feeds", str(etc))

    environment = {key: mapped(value) for key, _, value in (v.partition("=") for v in service["Environment"])}
    [exec_start] = service["ExecStart"]
    argv = shlex.split(exec_start)
    assert argv[:2] == ["/opt/feeds/.venv/bin/feeds", "serve"]
    argv = [*bound_by_permissions(), str(Path(sys.executable).parent / "feeds"), *argv[1:]]
    argv[argv.index("--port") + 1] = str(port)
    environ = {name: value for name, value in os.environ.items() if not name.startswith(("FEEDS_", "XDG_"))}
    environ |= environment | {"HOME": str(home)}
    process = subprocess.Popen(
        argv,
        cwd="/",
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        status = 0
        while status != 200 and time.monotonic() < deadline and process.poll() is None:
            try:
                status = fetch(port, "/healthz")[0]
            except OSError:
                time.sleep(0.2)
        assert status == 200, process.poll()
        status, _, body = fetch(port, "/feeds/alpha.rss")
        assert status == 200 and b"https://news.example/feeds/alpha.rss" in body
    finally:
        os.killpg(process.pid, getattr(signal, service["KillSignal"][0]))
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert all(
        json.loads(line)["level"] in {"info", "warning"} for line in stderr.splitlines() if line.strip()
    )
    assert (state / "index.sqlite3").is_file() and os.listdir(home) == []
