"""`feeds serve` measured: a server under load beside a constant body, and a watched corpus
(how soon an edit shows, how soon a server answers, what it costs idle)."""

from __future__ import annotations

import http.client
import re
import socket
import statistics
import subprocess
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from feeds.server import THREADS

from .live import (
    LiveFigures,
    Started,
    edit_file,
    export_watch_latency,
    idle_percent,
    latencies,
    remove_edit,
    running,
)
from .runs import PYTHON, ROOT, corpus, environment, label


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, dict[str, str]]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read(), dict(response.getheaders())
    finally:
        connection.close()


def server(command: list[str], env: dict[str, str], port: int) -> AbstractContextManager[Started]:
    """Start a server; yield it with the seconds it took to answer its first request."""

    def answers() -> bool:
        try:
            return get(port, "/")[0] == 200
        except OSError:
            return False

    return running(command, env, ROOT, answers)


def peak_mb(pid: int) -> list[float]:
    """VmHWM of a process, then of its children by pid, in MB (for `feeds serve`: the
    server, its corpus watcher, forked first, then gunicorn's workers)."""
    found = []
    pids = [pid]
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            pids += sorted(int(child) for child in (task / "children").read_text().split())
    except OSError:
        pass
    for each in pids:
        try:
            status = Path(f"/proc/{each}/status").read_text()
        except OSError:
            continue
        match = re.search(r"VmHWM:\s+(\d+) kB", status)
        if match:
            found.append(int(match[1]) / 1024)
    return found


def wrk(port: int, path: str, headers: dict[str, str], seconds: int) -> float:
    command = ["wrk", "-t2", "-c32", f"-d{seconds}s", "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    command.append(f"http://127.0.0.1:{port}{path}")
    output = subprocess.run(command, capture_output=True, text=True, check=True)
    match = re.search(r"Requests/sec:\s+([\d.]+)", output.stdout)
    if not match or ("Non-2xx" in output.stdout and "If-None-Match" not in headers):
        raise SystemExit(f"wrk failed:\n{output.stdout}{output.stderr}")
    return float(match[1])


@dataclass
class ServerFigures:
    ready: float
    first_request: float
    cached_request: float
    feed_rps: float
    feed_304_rps: float
    constant_rps: float
    constant_304_rps: float
    body_bytes: int
    master_mb: float
    watcher_mb: float
    worker_mb: float


def server_figures(size: int, work: Path, load_seconds: int) -> ServerFigures:
    root = corpus(size)
    env = environment(work / "index.sqlite3")
    port, constant_port = free_port(), free_port()
    command = [PYTHON, "-m", "feeds", "serve", str(root), "--port", str(port), "--workers", "2"]
    # The same server as `feeds serve` runs: gthread workers, access log on stdout.
    gunicorn = [PYTHON, "-m", "gunicorn", "--workers", "2", "--worker-class", "gthread"]
    gunicorn += ["--threads", str(THREADS), "--access-logfile", "-"]
    gunicorn += ["--bind", f"127.0.0.1:{constant_port}", "bench.constant:app"]
    with server(command, env, port) as (process, ready):
        topic = re.findall(rb'href="feeds/([a-z0-9-]+)\.rss"', get(port, "/")[1])[1].decode()
        started = time.perf_counter()
        get(port, f"/feeds/{topic}.atom")
        first = time.perf_counter() - started
        for _ in range(10):
            get(port, f"/feeds/{topic}.atom")  # both workers have it now
        timings = []
        for _ in range(50):
            started = time.perf_counter()
            get(port, f"/feeds/{topic}.atom")
            timings.append(time.perf_counter() - started)
        status, body, headers = get(port, "/feeds/all.rss")
        assert status == 200
        etag = headers["ETag"]
        constant_env = dict(env, BENCH_BODY_SIZE=str(len(body)))
        # Both servers run side by side and are measured in turn, three times each: the
        # machine's mood then weighs on both alike.
        with server(gunicorn, constant_env, constant_port):
            rates: dict[str, list[float]] = {"feed": [], "feed 304": [], "constant": [], "constant 304": []}
            for _ in range(3):
                rates["feed"].append(wrk(port, "/feeds/all.rss", {}, load_seconds))
                rates["constant"].append(wrk(constant_port, "/", {}, load_seconds))
                rates["feed 304"].append(wrk(port, "/feeds/all.rss", {"If-None-Match": etag}, load_seconds))
                rates["constant 304"].append(
                    wrk(constant_port, "/", {"If-None-Match": '"constant"'}, load_seconds)
                )
        memory = peak_mb(process.pid)
    return ServerFigures(
        ready=ready,
        first_request=first,
        cached_request=statistics.median(timings),
        feed_rps=statistics.median(rates["feed"]),
        feed_304_rps=statistics.median(rates["feed 304"]),
        constant_rps=statistics.median(rates["constant"]),
        constant_304_rps=statistics.median(rates["constant 304"]),
        body_bytes=len(body),
        master_mb=memory[0] if memory else 0.0,
        watcher_mb=memory[1] if len(memory) > 1 else 0.0,
        worker_mb=max(memory[2:], default=0.0),
    )


def live_figures(size: int, work: Path) -> LiveFigures:
    """How soon edits show (export --watch, serve), how soon a server answers from an empty
    and from a warm index, and what it costs idle."""
    root = corpus(size)
    warm = environment(work / "index.sqlite3")
    watching = export_watch_latency(PYTHON, root, work / "watch-out", warm, ROOT)
    env = environment(work / "cold.sqlite3")
    port = free_port()
    command = [PYTHON, "-m", "feeds", "serve", str(root), "--port", str(port), "--workers", "2"]
    with server(command, env, port) as (process, ready_cold):
        get(port, "/feeds/all.json")
        edit = edit_file(root)
        served = latencies(edit, lambda marker: marker in get(port, "/feeds/all.json")[1])
        remove_edit(root)
        time.sleep(3)  # the removal taken up, the workers settled
        idle = idle_percent(process.pid)
    with server(command, env, port) as (_, ready_warm):
        pass
    return LiveFigures(
        export_watch_latency=watching,
        serve_latency=statistics.median(served),
        ready_cold=ready_cold,
        ready_warm=ready_warm,
        idle_percent=idle,
    )


def live_report(lives: dict[int, LiveFigures]) -> list[str]:
    lines = ["## A watched corpus", ""]
    lines += ["| | " + " | ".join(label(s) for s in lives) + " |", "|---|" + "---|" * len(lives)]
    rows: list[tuple[str, Callable[[LiveFigures], str]]] = [
        ("`feeds export --watch`: an edit in the exported feed (median of 20)",
         lambda f: f"{f.export_watch_latency:.2f} s"),
        ("`feeds serve`: an edit in the served feed (median of 20)", lambda f: f"{f.serve_latency:.2f} s"),
        ("`feeds serve` ready: start to first answer, empty index", lambda f: f"{f.ready_cold:.2f} s"),
        ("`feeds serve` ready: start to first answer, warm index", lambda f: f"{f.ready_warm:.2f} s"),
        ("`feeds serve` idle for 60 s: processor time of all its processes",
         lambda f: f"{f.idle_percent:.2f}% of one core"),
    ]  # fmt: skip
    for name, show in rows:
        lines.append(f"| {name} | " + " | ".join(show(lives[s]) for s in lives) + " |")
    return lines + [
        "",
        "Each edit writes one file, dated a minute ago so that it heads `all.json`; the time runs",
        "from just before the write to the moment its title is in the exported file (polled every",
        "2 ms) or in the served document (asked for again and again). Change notices (inotify), 2",
        "workers; the idle figure is the user and system time of the server, its watcher and its",
        "workers, read from /proc, over 60 s without a request.",
        "",
    ]


def server_report(servers: dict[int, ServerFigures]) -> list[str]:
    lines = ["## Server", ""]
    lines += ["| | " + " | ".join(label(s) for s in servers) + " |", "|---|" + "---|" * len(servers)]
    rows: list[tuple[str, Callable[[ServerFigures], str]]] = [
        ("ready: start to first response, warm index", lambda f: f"{f.ready:.2f} s"),
        ("first request of a feed", lambda f: f"{f.first_request * 1000:.0f} ms"),
        ("cached request (median of 50)", lambda f: f"{f.cached_request * 1000:.1f} ms"),
        ("cached feed, requests/s", lambda f: f"{f.feed_rps:.0f}"),
        ("constant body of the same size, requests/s", lambda f: f"{f.constant_rps:.0f}"),
        ("cached feed / constant body", lambda f: f"{f.feed_rps / f.constant_rps:.2f}"),
        ("304s, requests/s", lambda f: f"{f.feed_304_rps:.0f}"),
        ("constant 304s, requests/s", lambda f: f"{f.constant_304_rps:.0f}"),
        ("304s / constant 304s", lambda f: f"{f.feed_304_rps / f.constant_304_rps:.2f}"),
        ("feed body (all.rss)", lambda f: f"{f.body_bytes:,} bytes"),
        ("peak memory: master", lambda f: f"{f.master_mb:.0f} MB"),
        ("peak memory: corpus watcher", lambda f: f"{f.watcher_mb:.0f} MB"),
        ("peak memory: largest worker", lambda f: f"{f.worker_mb:.0f} MB"),
    ]
    for name, show in rows:
        lines.append(f"| {name} | " + " | ".join(show(servers[s]) for s in servers) + " |")
    lines += [
        "",
        "Load: `wrk -t2 -c32`, the median of three runs, on the same two cores as the server,",
        "against `feeds serve --workers 2`",
        "and, as the baseline, the same gunicorn (2 gthread workers of 8 threads, access log on)",
        "serving a constant body of the feed's size (`bench/constant.py`).",
        "",
    ]
    return lines
