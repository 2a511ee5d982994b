"""What every part of the bench measures with: separate processes, their wall time and
peak memory, medians, and the synthetic corpora."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .generate import generate

ROOT = Path(__file__).resolve().parent.parent
CORPORA = ROOT / "bench" / "corpora"
PYTHON = sys.executable


@dataclass
class Run:
    seconds: float
    peak_mb: float


def run(command: list[str], env: dict[str, str] | None = None, check: bool = True) -> Run:
    """Run a command to its end: wall time and the peak RSS of its largest process."""
    # stderr to a file, not a pipe: a pipe nobody reads until the end fills and stalls it.
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        errors.seek(0)
        stderr = errors.read().decode(errors="replace")
    process.returncode = os.waitstatus_to_exitcode(status)
    if check and process.returncode not in (0, 1):  # 1: some corpus files were bad, as planned
        raise SystemExit(f"{' '.join(command)} failed ({process.returncode}):\n{stderr}")
    return Run(seconds, usage.ru_maxrss / 1024)


def median(runs: list[Run]) -> Run:
    return Run(statistics.median(r.seconds for r in runs), max(r.peak_mb for r in runs))


def repeat(times: int, make: Callable[[], Run], before: Callable[[], None] | None = None) -> Run:
    runs = []
    for _ in range(times):
        if before:
            before()
        runs.append(make())
    return median(runs)


def environment(index: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDS_")}
    env["FEEDS_INDEX"] = str(index)
    env["FEEDS_BASE_URL"] = "http://127.0.0.1:8000/"
    return env


def corpus(size: int) -> Path:
    path = CORPORA / label(size)
    marker = path / ".complete"
    if not marker.exists():
        print(f"generating {label(size)} corpus ...", flush=True)
        generate(size, path)
        marker.write_text(str(size))
    return path


def label(size: int) -> str:
    return f"{size // 1000}k" if size % 1000 == 0 else str(size)



def paired(
    times: int, first: Callable[[], Run], second: Callable[[], Run], before: Callable[[], None]
) -> tuple[Run, Run]:
    """Two commands in turn, ``before`` each run: a difference between them is measured
    under the same load."""
    firsts, seconds = [], []
    for _ in range(times):
        before()
        firsts.append(first())
        before()
        seconds.append(second())
    return median(firsts), median(seconds)
