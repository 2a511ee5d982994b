"""A killed export leaves every file whole: the old version or the new one, never a part."""

from __future__ import annotations

import gzip
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from lxml import etree, html

from feeds.archives import OPEN_MARKER
from feeds.config import Settings
from feeds.export import MANIFEST, TEMP_SUFFIX, export_site
from tests.conftest import NOW, CorpusWriter, item_text, log_messages, minimal_item

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_TEMP_NAME = re.compile(r"\.[^/]+\.[0-9a-f]{16}" + re.escape(TEMP_SUFFIX))
_recording: list[list[tuple[str, tuple[Any, ...]]]] = []


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _recording and event in {"open", "os.rename", "os.remove"}:
        _recording[-1].append((event, args))


sys.addaudithook(_audit)  # audit hooks cannot be removed; this one records only inside audited()


@contextmanager
def audited() -> Iterator[list[tuple[str, tuple[Any, ...]]]]:
    """The file opens, renames and removals (os.replace is a rename) made inside the block."""
    events: list[tuple[str, tuple[Any, ...]]] = []
    _recording.append(events)
    try:
        yield events
    finally:
        _recording.pop()


ITEMS = 1500
TOPICS = 120
KILLS = 6
BASES = ("http://a.test/", "http://b.test/")
"""Exports alternate between two base URLs, so that every file changes on every run."""


def big_corpus(write_corpus: CorpusWriter) -> Path:
    """Enough items and topics (about 1,500 files with --gzip) for an export to take a while."""
    rng = random.Random(7)
    files: dict[str, str | bytes] = {}
    for n in range(ITEMS):
        topics = sorted({f"Topic {rng.randrange(TOPICS)}" for _ in range(rng.randint(1, 3))})
        front = minimal_item(n) | {"topics": topics, "heat": rng.randrange(-1, 100)}
        files[f"{n:05}.txt"] = item_text(front, body=f"Body of story {n}. " * 20)
    files["bad.txt"] = "no front matter\n"
    return write_corpus(files)


def read_all(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` but the manifest, whose stamps differ from folder to folder."""
    found = {}
    for dirpath, _, filenames in os.walk(folder):
        for name in filenames:
            path = Path(dirpath, name)
            if path != folder / MANIFEST:
                found[path.relative_to(folder).as_posix()] = path.read_bytes()
    return found


def is_temp(name: str) -> bool:
    return name.rsplit("/", 1)[-1].startswith(".") and name.endswith(TEMP_SUFFIX)


def parse(name: str, data: bytes) -> None:
    """Raise unless ``data`` is a whole document of the kind its name says."""
    if name.endswith(".gz"):
        parse(name[: -len(".gz")], gzip.decompress(data))  # EOFError if cut short
    elif name.endswith(".json"):
        json.loads(data)
    elif name.endswith(".html"):
        assert data.rstrip().endswith(b"</html>"), name
        html.document_fromstring(data)
    elif name.rsplit("/", 1)[-1].startswith(OPEN_MARKER):
        assert data == b"", name
    else:
        etree.fromstring(data)  # .rss, .atom, opml.xml


def export_command(corpus: Path, out: Path, base: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "feeds",
        "export",
        str(corpus),
        str(out),
        "--gzip",
        "--quiet",
        "--base-url",
        base,
    ]


def test_files_are_written_only_under_temporary_names_then_renamed_into_place(
    settings: Settings, tmp_path: Path
) -> None:
    """Whatever the moment of a crash: no served file is ever opened for writing, so none can
    be cut short. Seen from Python's audit events, which every open and rename raises."""
    out = tmp_path / "out"
    export_site(Settings(corpus=settings.corpus, base_url="http://old.test/"), out, now=NOW, gzip_too=True)
    with audited() as events:
        report = export_site(settings, out, now=NOW, gzip_too=True)
    assert report.unchanged == ["index.html", "index.html.gz"]  # relative links; all else changed
    opened_for_writing = []
    for event, args in events:
        if event == "open":
            path, mode, flags = args
            if isinstance(path, int):
                continue  # os.fdopen of a descriptor opened (and seen) before
            if os.path.isabs(path) and not Path(path).is_relative_to(out):
                continue  # the corpus index's lock file, in the cache folder
            if (mode is not None and set(mode) & set("wax+")) or (flags or 0) & _WRITE_FLAGS:
                opened_for_writing.append(Path(str(path)).name)
    renames = [(str(args[0]), str(args[1])) for event, args in events if event == "os.rename"]
    assert opened_for_writing and all(_TEMP_NAME.fullmatch(name) for name in opened_for_writing), (
        opened_for_writing
    )
    assert len(renames) == len(opened_for_writing)  # every temporary file became a served one
    served = sorted(dst for _, dst in renames if dst != MANIFEST)  # the manifest records the new stamps
    assert served == sorted(name.rsplit("/", 1)[-1] for name in report.written)
    assert all(src == opened for (src, _), opened in zip(renames, opened_for_writing, strict=True))
    assert [args for event, args in events if event == "os.remove"] == []


@pytest.mark.slow
def test_an_export_killed_at_random_moments_never_leaves_a_broken_file(
    write_corpus: CorpusWriter, tmp_path: Path
) -> None:
    corpus = big_corpus(write_corpus)
    refs = {}
    for base in BASES:
        export_site(Settings(corpus=corpus, base_url=base), tmp_path / base[7], now=NOW, gzip_too=True)
        refs[base] = read_all(tmp_path / base[7])
    names = set(refs[BASES[0]])
    assert names == set(refs[BASES[1]]) and len(names) > 1000
    differ = {name for name in names if refs[BASES[0]][name] != refs[BASES[1]][name]}
    same = {name for name in names - differ if OPEN_MARKER not in name}  # markers are empty
    assert same == {"index.html", "index.html.gz"}  # relative links

    out = tmp_path / "out"
    started = time.monotonic()
    subprocess.run(export_command(corpus, out, BASES[0]), cwd=tmp_path, check=True, capture_output=True)
    duration = time.monotonic() - started
    assert read_all(out) == refs[BASES[0]]

    rng = random.Random()
    seed = rng.randrange(1 << 32)
    rng.seed(seed)
    mixed = temps_seen = 0
    for run in range(KILLS):
        base = BASES[(run + 1) % 2]
        delay = rng.uniform(0.3, 0.95) * duration
        process = subprocess.Popen(
            export_command(corpus, out, base),
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            process.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
        process.wait()

        json.loads((out / MANIFEST).read_bytes())  # whole, whatever the moment
        found = read_all(out)
        temps = {name for name in found if is_temp(name)}
        temps_seen += bool(temps)
        for name, data in found.items():
            if name in temps:
                continue
            where = f"{name} after kill {run} at {delay:.2f}s (seed {seed})"
            assert name in names, where
            assert data in (refs[BASES[0]][name], refs[BASES[1]][name]), where
            parse(name, data)
        states = {base for base in BASES for name in differ if found.get(name) == refs[base][name]}
        mixed += len(states) == 2
    # Otherwise every kill came before the first rename or after the last: nothing was proved.
    assert mixed >= 1, f"no kill landed while files were being replaced (seed {seed}, export {duration:.2f}s)"

    finish = subprocess.run(
        export_command(corpus, out, BASES[0]), cwd=tmp_path, capture_output=True, text=True
    )
    assert finish.returncode == 0, finish.stderr
    assert finish.stdout == ""
    assert log_messages(finish.stderr) == [
        f"{corpus / 'bad.txt'}:1: no front matter: the file must start with a '---' line"
    ]
    assert read_all(out) == refs[BASES[0]]  # every leftover temporary file is gone
    print(f"seed {seed}: export {duration:.2f}s, {mixed}/{KILLS} kills mid-write, {temps_seen} left temps")
