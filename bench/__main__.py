"""Measure `feeds` on synthetic corpora and write BENCHMARKS.md.

    python -m bench                      # 1k, 10k and 100k items; needs Debian's wrk and hugo
    python -m bench --sizes 1000 --repeat 1 --out /tmp/b.md   # a quick look
    python -m bench --only pages --sizes 1000 --out /tmp/b.md # a feed's page against its RSS

Every figure stands beside a baseline measured in the same run, as a ratio: the machine
is shared and its speed varies, ratios much less. Each timing is the median of --repeat
runs of a separate process; memory is the peak resident set of the largest process.
"""

from __future__ import annotations

import argparse
import http.client
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from feeds.builders import Format
from feeds.catalogue import FeedSpec
from feeds.config import Settings
from feeds.index import open_index
from feeds.publication import Publication
from feeds.server import THREADS

from .exports import ExportFigures, export_figures, export_report
from .hugo import find_hugo, version
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

NOTES = "<!-- notes: kept by python -m bench -->"
PARTS = ("exports", "server", "live", "pages")
PAGE_RENDERS = 200





# -- the server -------------------------------------------------------------------------


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

    def answers() -> bool:
        try:
            return get(port, "/")[0] == 200
        except OSError:
            return False

    with running(command, env, ROOT, answers) as (process, ready_cold):
        get(port, "/feeds/all.json")
        edit = edit_file(root)
        served = latencies(edit, lambda marker: marker in get(port, "/feeds/all.json")[1])
        remove_edit(root)
        time.sleep(3)  # the removal taken up, the workers settled
        idle = idle_percent(process.pid)
    with running(command, env, ROOT, answers) as (_, ready_warm):
        pass
    return LiveFigures(
        export_watch_latency=watching,
        serve_latency=statistics.median(served),
        ready_cold=ready_cold,
        ready_warm=ready_warm,
        idle_percent=idle,
    )


# -- pages ------------------------------------------------------------------------------


@dataclass
class PageFigures:
    items: int
    page_ms: float
    rss_ms: float
    page_bytes: int
    rss_bytes: int


def page_figures(size: int, work: Path, renders: int) -> PageFigures:
    """The page of the feed of every topic (its first ``feed_limit``, 50, items) and its RSS
    twin, each rendered ``renders`` times in turn from the same selection and channel: the
    median of each. The selection is asked for once first, so only rendering is timed."""
    settings = Settings(corpus=corpus(size), base_url="http://127.0.0.1:8000/", index=str(work / "pages.db"))
    index = open_index(settings)
    try:
        index.refresh()
        publication = Publication.from_source(index.selection(datetime.now(UTC)), settings)
        spec = FeedSpec()
        items = publication.items(spec)
        page, rss = publication.page(spec), publication.feed(spec, Format.RSS)  # warm: bodies rendered
        timings: dict[str, list[float]] = {"page": [], "rss": []}
        for _ in range(renders):
            started = time.perf_counter()
            publication.page(spec)
            timings["page"].append(time.perf_counter() - started)
            started = time.perf_counter()
            publication.feed(spec, Format.RSS)
            timings["rss"].append(time.perf_counter() - started)
    finally:
        index.close()
    return PageFigures(
        items=len(items),
        page_ms=statistics.median(timings["page"]) * 1000,
        rss_ms=statistics.median(timings["rss"]) * 1000,
        page_bytes=len(page.body),
        rss_bytes=len(rss.body),
    )


# -- the report -------------------------------------------------------------------------


def machine() -> str:
    cpu = "unknown CPU"
    try:
        found = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
        cpu = found[1].strip() if found else cpu
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{os.cpu_count()} cores ({cpu}), {memory:.0f} GiB, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def report(
    sizes: list[int],
    exports: dict[int, ExportFigures],
    servers: dict[int, ServerFigures],
    lives: dict[int, LiveFigures],
    pages: dict[int, PageFigures],
    command: str,
    hugo: str | None,
) -> str:
    lines = [
        "# Benchmarks",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d} by `{command}` on {machine()}.",
        "Synthetic corpora from `bench/generate.py` (about 40 Zipf-weighted topics, 70% published,",
        "heat mostly unscored, related stories, images, some bodies, one bad file in 200). Each",
        "time is the median of separate processes; memory is the peak resident set of the largest",
        "process. The machine is shared, so every figure stands beside a baseline measured in the",
        "same run.",
        "",
    ]
    if exports:
        lines += export_report(sizes, exports, hugo)
    if servers:
        lines += server_report(servers)
    if lives:
        lines += live_report(lives)
    if pages:
        lines += page_report(pages)
    return "\n".join(lines)


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


def page_report(pages: dict[int, PageFigures]) -> list[str]:
    lines = ["## Pages", ""]
    lines += ["| | " + " | ".join(label(s) for s in pages) + " |", "|---|" + "---|" * len(pages)]
    rows: list[tuple[str, Callable[[PageFigures], str]]] = [
        ("items of the feed (all)", lambda f: str(f.items)),
        ("its page (all.html), per render", lambda f: f"{f.page_ms:.2f} ms, {f.page_bytes:,} bytes"),
        ("its RSS twin (all.rss), per render", lambda f: f"{f.rss_ms:.2f} ms, {f.rss_bytes:,} bytes"),
        ("page / RSS", lambda f: f"{f.page_ms / f.rss_ms:.2f}"),
    ]
    for name, show in rows:
        lines.append(f"| {name} | " + " | ".join(show(pages[s]) for s in pages) + " |")
    return lines + [
        "",
        "The median of 200 renders of each, in turn, in one process, from the same selection",
        "(`Publication.page` and `Publication.feed`: channel, template or builder, bytes).",
        "",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--load-seconds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument("--only", choices=PARTS, action="append", help="measure only this part (repeatable)")
    args = parser.parse_args()
    parts = args.only or list(PARTS)
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:  # started in the background
        signal.signal(signal.SIGINT, signal.default_int_handler)  # the watchers are stopped by Ctrl-C
    if "server" in parts and shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk")
    hugo = find_hugo()
    hugo_version = version(hugo) if hugo else None
    print(
        hugo_version or "Hugo is missing (not on PATH, and not installable here): the Hugo rows are skipped"
    )
    exports: dict[int, ExportFigures] = {}
    servers: dict[int, ServerFigures] = {}
    pages: dict[int, PageFigures] = {}
    lives: dict[int, LiveFigures] = {}
    for size in args.sizes:
        with tempfile.TemporaryDirectory(prefix="feeds-bench-") as folder:
            work = Path(folder)
            if {"exports", "server", "live"} & set(parts):  # the later parts need the export's index
                print(f"{label(size)}: exports ...", flush=True)
                exports[size] = export_figures(size, args.repeat, work, hugo)
            if "server" in parts:
                print(f"{label(size)}: server ...", flush=True)
                servers[size] = server_figures(size, work, args.load_seconds)
            if "live" in parts:
                print(f"{label(size)}: live ...", flush=True)
                lives[size] = live_figures(size, work)
            if "pages" in parts:
                print(f"{label(size)}: pages ...", flush=True)
                pages[size] = page_figures(size, work, PAGE_RENDERS)
    command = (
        "python -m bench"
        + "".join(
            f" {flag} {value}"
            for flag, value, default in (
                ("--sizes", " ".join(map(str, args.sizes)), "1000 10000 100000"),
                ("--repeat", str(args.repeat), "3"),
                ("--load-seconds", str(args.load_seconds), "5"),
            )
            if value != default
        )
        + "".join(f" --only {part}" for part in args.only or [])
    )
    text = report(args.sizes, exports, servers, lives, pages, command, hugo_version)
    # What follows the marker is written by hand (the analysis, the load test): kept.
    if args.out.exists() and NOTES in (old := args.out.read_text(encoding="utf-8")):
        text += "\n" + NOTES + old.split(NOTES, 1)[1]
    args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
