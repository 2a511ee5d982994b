"""Figures of a watched corpus: how soon an edit shows in ``feeds export --watch`` and in
``feeds serve``, how soon a server answers, and what an idle server costs.

Each edit writes one file whose title carries a new marker, dated a minute ago so that it
is the newest item of every feed it is in; the time runs from just before the write to the
moment the marker is in ``all.json`` (the exported file, or the served document).
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

EDITS = 20
IDLE_SECONDS = 60
_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class LiveFigures:
    export_watch_latency: float
    """Median seconds from writing a file to its item in the exported all.json."""
    serve_latency: float
    """Median seconds from writing a file to its item in the served all.json."""
    ready_cold: float
    ready_warm: float
    idle_percent: float
    """Processor time of the whole server while idle, in percent of one core."""


def edit_file(root: Path) -> Callable[[int], bytes]:
    """Write the edit numbered ``n``; give the marker to look for."""
    source = sorted(root.glob("000/*.txt"))[5].read_text(encoding="utf-8")
    target = root / "000" / "zz_live_edit.txt"

    def edit(number: int) -> bytes:
        marker = f"Live edit {number} {time.monotonic_ns()}"
        moment = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        lines = []
        for line in source.splitlines():
            if line.startswith("title: "):
                line = f'title: "{marker}"'
            elif line.startswith("publishedDateTime: "):
                line = f"publishedDateTime: {moment}"
            elif line.startswith("published: "):
                line = "published: true"
            elif line.startswith(("originalUrl: ", "webUrl: ")):
                line = line.replace("https://", "https://live-edit.", 1)
            lines.append(line)
        target.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return marker.encode()

    return edit


def remove_edit(root: Path) -> None:
    (root / "000" / "zz_live_edit.txt").unlink(missing_ok=True)


def latencies(
    edit: Callable[[int], bytes], shows: Callable[[bytes], bool], edits: int = EDITS
) -> list[float]:
    found = []
    for number in range(edits):
        started = time.perf_counter()
        marker = edit(number)
        deadline = started + 30
        while not shows(marker):
            if time.perf_counter() > deadline:
                raise SystemExit(f"edit {number} did not show in 30 s")
            time.sleep(0.002)
        found.append(time.perf_counter() - started)
        time.sleep(0.3)  # apart, as edits come
    return found


def export_watch_latency(python: str, root: Path, out: Path, env: dict[str, str], cwd: Path) -> float:
    process = subprocess.Popen(
        [python, "-m", "feeds", "export", str(root), str(out), "--watch"],
        env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        process.stdout.readline()  # the first round is done
        stdout = process.stdout
        threading.Thread(target=stdout.read, daemon=True).start()  # later rounds' lines
        feed = out / "feeds" / "all.json"
        edit = edit_file(root)
        return statistics.median(latencies(edit, lambda marker: marker in _read(feed)))
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(30)
        remove_edit(root)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


Started = tuple[subprocess.Popen[bytes], float]
"""A server's process, and the seconds from its start to its first answer."""


@contextmanager
def running(
    command: list[str], env: dict[str, str], cwd: Path, answers: Callable[[], bool]
) -> Iterator[Started]:
    """A server, with the seconds from its start to its first answer."""
    started = time.perf_counter()
    quiet = subprocess.DEVNULL
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=quiet, stderr=quiet)
    try:
        while not answers():
            if process.poll() is not None or time.perf_counter() - started > 300:
                raise SystemExit(f"server did not start: {' '.join(command)}")
            time.sleep(0.005)
        yield process, time.perf_counter() - started
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def processor_seconds(pid: int) -> float:
    """User and system time of a process and all its descendants now alive."""
    total = 0.0
    pending = [pid]
    while pending:
        each = pending.pop()
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rpartition(")")[2].split()
            total += (int(fields[11]) + int(fields[12])) / _TICKS
            for task in Path(f"/proc/{each}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return total


def idle_percent(pid: int, seconds: int = IDLE_SECONDS) -> float:
    before = processor_seconds(pid)
    time.sleep(seconds)
    return (processor_seconds(pid) - before) / seconds * 100
