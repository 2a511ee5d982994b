"""Measure `feeds` on synthetic corpora and write BENCHMARKS.md.

    python -m bench                      # 1k, 10k and 100k items; needs Debian's wrk and hugo
    python -m bench --sizes 1000 --repeat 1 --out /tmp/b.md   # a quick look
    python -m bench --only pages --sizes 1000 --out /tmp/b.md # a feed's page against its RSS
    python -m bench --only store --out /tmp/b.md              # into an object store (rclone serve s3)

Every figure stands beside a baseline measured in the same run, as a ratio: the machine
is shared and its speed varies, ratios much less. Each timing is the median of --repeat
runs of a separate process; memory is the peak resident set of the largest process.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import signal
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from feeds.builders import Format
from feeds.catalogue import FeedSpec
from feeds.config import Settings
from feeds.index import open_index
from feeds.publication import Publication

from .exports import ExportFigures, export_figures, export_report
from .hugo import find_hugo, version
from .live import LiveFigures
from .runs import ROOT, corpus, label
from .serving import ServerFigures, live_figures, live_report, server_figures, server_report
from .store import StoreFigures, store_figures, store_report

NOTES = "<!-- notes: kept by python -m bench -->"
PARTS = ("exports", "server", "live", "pages", "store")
PAGE_RENDERS = 200


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
    stores: dict[int, StoreFigures],
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
    if stores:
        lines += store_report(stores)
    return "\n".join(lines)


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
    stores: dict[int, StoreFigures] = {}
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
            if "store" in parts:
                print(f"{label(size)}: object storage ...", flush=True)
                stores[size] = store_figures(size, args.repeat, work)
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
    text = report(args.sizes, exports, servers, lives, pages, stores, command, hugo_version)
    # What follows the marker is written by hand (the analysis, the load test): kept.
    if args.out.exists() and NOTES in (old := args.out.read_text(encoding="utf-8")):
        text += "\n" + NOTES + old.split(NOTES, 1)[1]
    args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
