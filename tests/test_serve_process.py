"""A real ``feeds serve`` process on a loopback port: gunicorn, its workers, HTTP, Ctrl-C.

``serving`` (a context manager) and ``fetch`` are shared with the browser test.
"""

from __future__ import annotations

import gzip
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from pathlib import Path

import feedparser
import pytest
from gunicorn import version_info as gunicorn_version
from lxml import etree, html

from feeds.corpus import load_corpus
from feeds.select import Selection
from tests.conftest import SEEDS, CorpusWriter
from tests.test_web import MEDIA_TYPES, feed_urls, story, url_of

START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
HTTP_TIMEOUT = 5.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Server:
    process: subprocess.Popen[str]
    port: int
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def fetch(
        self, path: str, method: str = "GET", headers: dict[str, str] | None = None
    ) -> tuple[int, Message, bytes]:
        return fetch(self.port, path, method, headers)

    def workers(self) -> list[int]:
        """Pids of gunicorn's workers that are running: children of the server that gunicorn
        said it booted (the server's other child is its corpus watcher)."""
        booted = {int(pid) for pid in re.findall(r"Booting worker with pid: (\d+)", self.log())}
        children = []
        for pid in sorted(booted):
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue  # gone
            # the command name may hold spaces; the fields after its ")" are plain
            fields = stat.rpartition(")")[2].split()
            if int(fields[1]) == self.process.pid and fields[0] != "Z":
                children.append(pid)
        return children

    def log(self) -> str:
        return "".join(self.stdout) + "".join(self.stderr)


def fetch(
    port: int, path: str, method: str = "GET", headers: dict[str, str] | None = None
) -> tuple[int, Message, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=HTTP_TIMEOUT)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.msg, response.read()
    finally:
        connection.close()


def _pump(stream: object, into: list[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        into.append(line)


@contextmanager
def serving(
    args: Sequence[str],
    *,
    cwd: Path,
    workers: int = 2,
    command: Sequence[str] | None = None,
    port: int | None = None,
    env: dict[str, str] | None = None,
    ready: int | None = 200,
) -> Iterator[Server]:
    """Run ``feeds serve ARGS`` on ``port`` (a free loopback port by default) until it
    answers (with ``ready``, or anything if ``None``); stop it after."""
    port = port or free_port()
    extra = env or {}
    env = {name: value for name, value in os.environ.items() if not name.startswith("FEEDS_")}
    env |= {"PYTHONUNBUFFERED": "1"} | extra
    argv = [*(command or [sys.executable, "-m", "feeds"]), "serve", *args]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    process = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a shell gives a foreground job
    )
    server = Server(process, port)
    pumps = [
        threading.Thread(target=_pump, args=(process.stdout, server.stdout), daemon=True),
        threading.Thread(target=_pump, args=(process.stderr, server.stderr), daemon=True),
    ]
    for pump in pumps:
        pump.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"feeds serve exited with {process.returncode}:\n{server.log()}")
            try:
                status = fetch(port, "/")[0]
                if (ready is None or status == ready) and len(server.workers()) == workers:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"feeds serve did not answer within {START_TIMEOUT} s:\n{server.log()}")
            time.sleep(0.1)
        yield server
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(STOP_TIMEOUT)
        for pump in pumps:
            pump.join(STOP_TIMEOUT)


@pytest.fixture
def corpus(write_corpus: CorpusWriter) -> Path:
    return write_corpus(
        {
            "a.txt": story(1, topics=["AI"], heat=80),
            "b.txt": story(2, topics=["AI", "Space"], heat=20),
            "c.txt": story(3, topics=["Space"], heat=60),
        }
    )


@pytest.fixture
def server(corpus: Path, tmp_path: Path) -> Iterator[Server]:
    with serving([str(corpus), "--watch-interval", "0.2", "--cache-max-age", "77"], cwd=tmp_path) as running:
        yield running


def test_serve_prints_its_urls(server: Server) -> None:
    printed = "".join(server.stdout)
    assert f"at {server.base} " in printed
    assert f"{server.base}opml.xml" in printed
    assert f"{server.base}feeds/all.rss" in printed


def test_serve_runs_gunicorn_with_several_workers(server: Server) -> None:
    status, headers, _ = server.fetch("/")
    assert status == 200
    assert headers["Server"].startswith("gunicorn")  # the development server says Werkzeug
    assert len(server.workers()) == 2
    log = server.log()
    assert "Using worker: gthread" in log
    assert log.count("Booting worker") == 2
    assert "development server" not in log


@pytest.mark.parametrize("fmt", list(MEDIA_TYPES))
def test_a_real_server_answers_feeds_with_the_headers_pollers_need(server: Server, fmt: str) -> None:
    status, headers, body = server.fetch(f"/feeds/ai.{fmt}")
    assert status == 200
    assert headers["Content-Type"] == f"{MEDIA_TYPES[fmt]}; charset=utf-8"
    assert feed_urls(fmt, body) == [url_of(2), url_of(1)]
    assert re.fullmatch(r'"[^"\s]+"', headers["ETag"])
    assert headers["Last-Modified"] == "Wed, 03 Jan 2024 00:00:00 GMT"  # story 2, the newest of AI
    assert headers["Cache-Control"] == "public, max-age=77"
    assert headers["Vary"] == "Accept-Encoding, Sec-Fetch-Dest"
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert f'<{server.base}feeds/ai.{fmt}>; rel="self"' in headers["Link"]
    assert int(headers["Content-Length"]) == len(body)


def test_a_second_poll_with_the_validators_gets_304(server: Server) -> None:
    for encoding in ("identity", "gzip"):
        status, headers, body = server.fetch("/feeds/all.atom", headers={"Accept-Encoding": encoding})
        assert status == 200
        if encoding == "gzip":
            assert headers["Content-Encoding"] == "gzip"
            body = gzip.decompress(body)
        feed_urls("atom", body)
        for validators in (
            {"If-None-Match": headers["ETag"]},
            {"If-Modified-Since": headers["Last-Modified"]},
            {"If-None-Match": headers["ETag"], "If-Modified-Since": headers["Last-Modified"]},
        ):
            # several polls, so that more than one worker answers
            for _ in range(4):
                again, again_headers, again_body = server.fetch(
                    "/feeds/all.atom", headers={"Accept-Encoding": encoding, **validators}
                )
                assert again == 304, validators
                assert again_body == b""
                assert again_headers["ETag"] == headers["ETag"]


def test_head_and_other_methods_on_a_real_server(server: Server) -> None:
    status, get_headers, body = server.fetch("/feeds/all.json")
    head, head_headers, head_body = server.fetch("/feeds/all.json", method="HEAD")
    assert (head, head_body) == (200, b"")
    assert head_headers["Content-Length"] == str(len(body))
    assert head_headers["ETag"] == get_headers["ETag"]
    for method in ("POST", "PUT", "DELETE", "OPTIONS"):
        status, headers, _ = server.fetch("/feeds/all.json", method=method)
        assert status == 405, method
        assert headers["Allow"] == "GET, HEAD"


def test_a_reader_pointed_at_the_opml_gets_every_feed(server: Server) -> None:
    status, headers, body = server.fetch("/opml.xml")
    assert status == 200
    outlines = etree.fromstring(body).findall("body/outline")
    # all, AI, Space, and the same three for the default "hot" selection
    assert len(outlines) == 6
    for outline in outlines:
        url = outline.get("xmlUrl")
        assert url.startswith(server.base)
        status, headers, feed = server.fetch("/" + url.removeprefix(server.base))
        assert status == 200, url
        assert headers["Content-Type"] == "application/rss+xml; charset=utf-8"
        parsed = feedparser.parse(feed)
        assert not parsed.bozo and parsed.feed.title == outline.get("title")


def test_a_real_server_sees_corpus_changes(server: Server, corpus: Path) -> None:
    (corpus / "d.txt").write_text(story(4, topics=["AI"]), encoding="utf-8")
    deadline = time.monotonic() + 15
    streak = 0  # consecutive answers with the new item: every worker has it
    while streak < 6:
        status, _, body = server.fetch("/feeds/ai.json")
        streak = streak + 1 if url_of(4) in feed_urls("json", body) else 0
        assert time.monotonic() < deadline, "the new item did not show in every worker"
        time.sleep(0.05)


@pytest.mark.parametrize("target", ["group", "server"])
def test_ctrl_c_stops_the_server_cleanly(corpus: Path, tmp_path: Path, target: str) -> None:
    with serving([str(corpus)], cwd=tmp_path, workers=2) as server:
        workers = server.workers()
        assert len(workers) == 2
        started = time.monotonic()
        if target == "group":  # what Ctrl-C in a terminal does: every process of the job
            os.killpg(server.process.pid, signal.SIGINT)
        else:
            server.process.send_signal(signal.SIGINT)
        try:
            status = server.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running {STOP_TIMEOUT} s after SIGINT:\n{server.log()}")
        elapsed = time.monotonic() - started
        assert status == 0, server.log()
        assert elapsed < 5, f"took {elapsed:.1f} s to stop"
        for pid in workers:
            assert not Path(f"/proc/{pid}").exists() or "zombie" in _state(pid), f"worker {pid} left running"
        assert "Traceback" not in server.log(), server.log()


def test_ctrl_c_lets_a_request_in_flight_finish(corpus: Path, tmp_path: Path) -> None:
    with serving([str(corpus)], cwd=tmp_path, workers=1) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=HTTP_TIMEOUT) as client:
            client.sendall(b"GET /feeds/all.json HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # not ended yet
            time.sleep(0.2)  # for the worker to accept the connection
            os.killpg(server.process.pid, signal.SIGINT)
            deadline = time.monotonic() + STOP_TIMEOUT
            while "Handling signal: int" not in server.log():
                assert time.monotonic() < deadline, server.log()
                time.sleep(0.02)
            client.sendall(b"Connection: close\r\n\r\n")
            answer = b""
            while chunk := client.recv(65536):
                answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 "), answer[:200]
        assert feed_urls("json", body) == [url_of(3), url_of(2), url_of(1)]
        assert server.process.wait(STOP_TIMEOUT) == 0


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return "zombie"


def test_feeds_serve_with_no_argument_serves_the_bundled_seeds(tmp_path: Path) -> None:
    """The README's quick start: ``feeds serve`` in any folder."""
    script = Path(sys.executable).with_name("feeds")
    command = [str(script)] if script.exists() else None
    with serving([], cwd=tmp_path, command=command) as server:
        assert str(SEEDS) in "".join(server.stdout) or "_seeds" in "".join(server.stdout)
        status, _, body = server.fetch("/")
        assert status == 200
        page = html.fromstring(body)
        rows = {
            row.xpath("./td")[0].text_content(): int(row.xpath("./td")[1].text)
            for row in page.xpath("//tbody/tr")
        }
        topics = Selection(load_corpus(SEEDS).items, datetime.now(UTC)).topics
        assert len(topics) > 0
        for topic in topics:
            assert rows[topic.name] == topic.count
            status, headers, feed = server.fetch(f"/feeds/{topic.slug}.atom")
            assert status == 200 and len(feed_urls("atom", feed)) == topic.count


def test_feeds_serve_refuses_a_missing_corpus(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "feeds", "serve", str(tmp_path / "nowhere"), "--port", str(free_port())],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "corpus folder not found" in result.stderr and result.stdout == ""


def test_the_wsgi_module_runs_under_plain_gunicorn(corpus: Path, tmp_path: Path) -> None:
    """``gunicorn wsgi:app`` (any WSGI server), with settings from the environment."""
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent))
    if gunicorn is None:
        pytest.skip("the gunicorn script is not installed beside this Python")
    root = Path(__file__).resolve().parent.parent
    port = free_port()
    env = {name: value for name, value in os.environ.items() if not name.startswith("FEEDS_")}
    env |= {"FEEDS_CORPUS": str(corpus), "FEEDS_BASE_URL": "https://feeds.example/"}
    argv = [gunicorn, "--bind", f"127.0.0.1:{port}", "--workers", "2", "--preload", "wsgi:app"]
    if gunicorn_version >= (25, 1):
        argv.insert(1, "--no-control-socket")  # one per user by default, shared with other servers
    process = subprocess.Popen(
        argv,
        cwd=root,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                status, _, body = fetch(port, "/feeds/space.json")
                break
            except OSError:
                assert process.poll() is None, process.communicate(timeout=STOP_TIMEOUT)[1]
                assert time.monotonic() < deadline, "gunicorn wsgi:app did not answer"
                time.sleep(0.1)
        assert status == 200
        assert b'"feed_url": "https://feeds.example/feeds/space.json"' in body
        # preloaded and forked: each worker still watches the corpus
        (corpus / "e.txt").write_text(story(5, topics=["Space"]), encoding="utf-8")
        streak = 0
        while streak < 6:
            assert time.monotonic() < deadline + 15, "the change did not show in every worker"
            body = fetch(port, "/feeds/space.json")[2]
            streak = streak + 1 if url_of(5) in feed_urls("json", body) else 0
            time.sleep(0.05)
        os.killpg(process.pid, signal.SIGTERM)
        assert process.wait(STOP_TIMEOUT) == 0
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(STOP_TIMEOUT)


def test_a_server_with_no_index_kept_serves_the_corpus_from_every_worker(
    corpus: Path, tmp_path: Path
) -> None:
    """``index = "memory"``: one index, shared by the server's processes."""
    (tmp_path / "pyproject.toml").write_text('[tool.feeds]\nindex = "memory"\n', encoding="utf-8")
    with serving([str(corpus)], cwd=tmp_path, workers=2) as server:
        for _ in range(6):
            assert url_of(1) in feed_urls("json", server.fetch("/feeds/all.json")[2])
        (corpus / "d.txt").write_text(story(4, topics=["AI"]), encoding="utf-8")
        deadline = time.monotonic() + 10
        while url_of(4) not in feed_urls("json", server.fetch("/feeds/all.json")[2]):
            assert time.monotonic() < deadline
            time.sleep(0.05)


@pytest.mark.parametrize(
    ("failure", "said"),
    [
        (
            "raise FeedsError('cannot open the index x')",
            "the server's first reading stopped: cannot open the index x",
        ),
        ("1 / 0", "ZeroDivisionError"),
    ],
)
def test_a_server_process_that_fails_says_why_in_the_log(failure: str, said: str) -> None:
    # The first reading and the watcher run in forked processes: what stops one must
    # reach the log, not vanish with the process (the server would answer 503 forever).
    script = (
        "import logging, os, sys\n"
        "from feeds.errors import FeedsError\n"
        "from feeds.server import _in_child\n"
        "logging.basicConfig(stream=sys.stderr, format='%(levelname)s %(message)s')\n"
        "def fail():\n"
        f"    {failure}\n"
        "pid = _in_child('first reading', fail)\n"
        "sys.exit(os.waitpid(pid, 0)[1] >> 8)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.startswith("ERROR ") and said in result.stderr
