"""Crash safety: ``feeds export`` killed at 50 random moments never leaves a partial or
invalid file.

Exports alternate between two base URLs, so that every file changes on every run. After
each kill, every file in OUT but temporary ones is whole: byte for byte the file of one
complete export or of the other, and it parses. Most kills are SIGKILL; some are SIGTERM
and SIGINT, which Python meets in other ways. ``test_export_kill.py`` does a few kills of
a big export; this does many of a small one, so that kills land in every phase.
"""

from __future__ import annotations

import itertools
import os
import random
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from feeds.export import MANIFEST, TEMP_SUFFIX
from tests.conftest import item_text, minimal_item
from tests.test_export_kill import export_command, is_temp, parse
from tests.test_hostile import child_env

KILLS = 50
ITEMS = 40
TOPICS = 8
BASES = ("http://a.test/", "http://b.test/")
SIGNALS = [signal.SIGKILL] * 6 + [signal.SIGTERM, signal.SIGINT]
_TEMP = re.compile(r"\..+\.[0-9a-f]{16}" + re.escape(TEMP_SUFFIX))


def write_corpus(root: Path) -> None:
    rng = random.Random(3)
    root.mkdir()
    for n in range(ITEMS):
        topics = sorted({f"Topic {rng.randrange(TOPICS)}" for _ in range(rng.randint(1, 2))})
        front = minimal_item(n) | {"topics": topics, "heat": rng.randrange(-1, 100)}
        (root / f"{n:03}.txt").write_text(
            item_text(front, body=f"Body of story {n}. " * 30), encoding="utf-8"
        )
    (root / "bad.txt").write_text("no front matter\n", encoding="utf-8")


def read_tree(folder: Path) -> dict[str, bytes]:
    found = {}
    for dirpath, _, filenames in os.walk(folder):
        for name in filenames:
            path = Path(dirpath, name)
            found[path.relative_to(folder).as_posix()] = path.read_bytes()
    return found


@pytest.mark.slow
def test_an_export_killed_at_50_random_moments_never_leaves_a_partial_or_invalid_file(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    write_corpus(corpus)
    env = child_env(tmp_path / "cache")
    refs = {}
    for base in BASES:
        folder = tmp_path / f"ref-{base[7]}"
        subprocess.run(export_command(corpus, folder, base), cwd=tmp_path, env=env, check=True, timeout=60)
        refs[base] = read_tree(folder)
    names = set(refs[BASES[0]]) - {MANIFEST}
    assert names == set(refs[BASES[1]]) - {MANIFEST} and len(names) > 100
    differ = {name for name in names if refs[BASES[0]][name] != refs[BASES[1]][name]}
    assert len(differ) == len(names) - 2  # all but the index page and its .gz (relative links)

    out = tmp_path / "out"
    started = time.monotonic()
    subprocess.run(export_command(corpus, out, BASES[0]), cwd=tmp_path, env=env, check=True, timeout=60)
    subprocess.run(export_command(corpus, out, BASES[1]), cwd=tmp_path, env=env, check=True, timeout=60)
    duration = (time.monotonic() - started) / 2  # an export that rewrites every file

    seed = random.randrange(1 << 32)
    rng = random.Random(seed)
    mixed = finished = 0
    # At least KILLS kills; more, up to four times as many, while too few of them have come
    # while files were being replaced (a short part of an export, at its end).
    for run in itertools.count():
        if run >= KILLS and (mixed >= 3 or run >= 4 * KILLS):
            break
        base = BASES[run % 2]
        delay = rng.uniform(0.3, 1.05) * duration
        chosen = rng.choice(SIGNALS)
        process = subprocess.Popen(
            export_command(corpus, out, base),
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            process.wait(timeout=delay)
            finished += 1
        except subprocess.TimeoutExpired:
            process.send_signal(chosen)
        _, stderr = process.communicate(timeout=30)
        where = f"run {run}, {chosen.name} at {delay:.3f} s (seed {seed})"
        if process.returncode == 0:
            assert b"Traceback" not in stderr, where
        else:
            assert process.returncode in {-chosen, 1, 130}, (where, process.returncode, stderr[-2000:])
            assert b"another export" not in stderr, where  # a killed export's lock dies with it

        found = read_tree(out)
        for name, data in found.items():
            if is_temp(name):
                continue
            assert name in names or name == MANIFEST, f"{name}: {where}"
            parse(name, data)
            if name != MANIFEST:  # the manifest records stamps, which differ between folders
                assert data in (refs[BASES[0]][name], refs[BASES[1]][name]), f"{name}: {where}"
        assert names <= set(found), f"a file went missing: {where}"
        states = {b for b in BASES for name in differ if found.get(name) == refs[b][name]}
        mixed += len(states) == 2

    # Otherwise every kill came before the first rename or after the last: nothing was proved.
    assert mixed >= 3, f"only {mixed} kills landed while files were being replaced (seed {seed})"
    final = subprocess.run(
        export_command(corpus, out, BASES[0]),
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert final.returncode == 0, final.stderr
    found = read_tree(out)
    assert {name: data for name, data in found.items() if name != MANIFEST} == {
        name: data for name, data in refs[BASES[0]].items() if name != MANIFEST
    }  # every leftover temporary file is gone too
    print(f"seed {seed}: export {duration:.2f} s, {mixed}/{KILLS} kills mid-write, {finished} finished first")
