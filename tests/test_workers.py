"""Worker processes never outlive the command that started them: a first reading in bulk
and the rendering of an export each run in a pool of worker processes, and killing the
export at those moments leaves none of them behind (a worker left waiting for work would
live on, holding the command's output open, so that whoever reads it, cron say, waits
forever)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import CorpusWriter, item_text, minimal_item
from tests.test_hostile import child_env

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")

TWO_CORES = "import os; os.cpu_count = lambda: 2; from feeds.cli import main; main(prog_name='feeds')"
"""``feeds`` as if on two cores, so that it starts its worker pools on any machine."""


def children(pid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry))
    return found


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie has ended: it waits only to be reaped)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def kill_once_it_has_workers(command: list[str], env: dict[str, str]) -> set[int]:
    """Start ``command``, SIGKILL it as soon as it has two children; its children."""
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        workers: set[int] = set()
        while len(workers) < 2:
            assert process.poll() is None, "it ended before it started two workers"
            assert time.monotonic() < deadline, "no two workers within 60 s"
            workers = children(process.pid)
            time.sleep(0.002)
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
    return workers


def assert_all_end(workers: set[int]) -> None:
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in workers):
        left = sorted(pid for pid in workers if alive(pid))
        assert time.monotonic() < deadline, f"workers {left} still run 10 s after their export was killed"
        time.sleep(0.02)


def corpus_of(write_corpus: CorpusWriter, items: int, topics: int) -> Path:
    return write_corpus(
        {
            f"{n:05}.txt": item_text(minimal_item(n) | {"topics": [f"Topic {n % topics}"]})
            for n in range(items)
        }
    )


def test_an_export_killed_while_it_reads_a_corpus_in_bulk_leaves_no_reader(
    write_corpus: CorpusWriter, tmp_path: Path
) -> None:
    corpus = corpus_of(write_corpus, 3000, 10)  # a first reading in bulk, in worker processes
    env = child_env(tmp_path / "cache")
    command = [sys.executable, "-c", TWO_CORES, "export", str(corpus), str(tmp_path / "out"), "--quiet"]
    assert_all_end(kill_once_it_has_workers(command, env))


def test_an_export_killed_while_it_renders_leaves_no_renderer(
    write_corpus: CorpusWriter, tmp_path: Path
) -> None:
    corpus = corpus_of(write_corpus, 400, 60)  # 120 feeds and pages to render, in worker processes
    env = child_env(tmp_path / "cache")
    out = tmp_path / "out"
    export = [sys.executable, "-c", TWO_CORES, "export", str(corpus), str(out), "--quiet", "--gzip"]
    subprocess.run([*export, "--base-url", "http://a.test/"], env=env, check=True, capture_output=True)
    # The index is warm now: the next export's workers are its renderers.
    assert_all_end(kill_once_it_has_workers([*export, "--base-url", "http://b.test/"], env))


@pytest.mark.parametrize("own_parent", [True, False])
def test_a_worker_whose_parent_is_gone_before_it_asks_to_end_with_it_ends_at_once(own_parent: bool) -> None:
    script = (
        "import os, sys; from feeds.processes import end_with_parent;"
        f" parent = os.getppid() if {own_parent} else os.getppid() + 1;"
        " print(end_with_parent(parent, 15))"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    if own_parent:
        assert (result.returncode, result.stdout) == (0, "True\n")
    else:  # as if the parent had ended between the fork and the request: the signal comes now
        assert result.returncode == -signal.SIGTERM, result.stderr
