"""A newcomer's first steps: ``feeds init``, and the index cache that ``feeds cache`` shows
and prunes. Run as a user runs them, with the ``feeds`` command in a child process."""

from __future__ import annotations

import dataclasses
import os
import re
import sqlite3
import time
import tomllib
from pathlib import Path

from feeds.config import Settings, load_settings
from feeds.starter import ITEMS
from tests.conftest import Lock, log_messages
from tests.test_serve_process import serving
from tests.test_unattended import feeds, refused, tree


def test_init_makes_a_starter_that_check_passes_and_serve_serves(tmp_path: Path) -> None:
    folder = tmp_path / "mynews"
    result = feeds("init", folder, cwd=tmp_path)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert result.stdout.splitlines()[-1] == f"next: feeds check {folder}, then feeds serve {folder}"
    assert sorted(tree(folder)) == sorted(["pyproject.toml", *ITEMS])
    check = feeds("check", folder, cwd=tmp_path)
    assert check.returncode == 0, check.stdout
    assert check.stdout.splitlines()[-1] == "3 files, 3 items, 2 published, 0 rejected, 1 topics"
    inside = feeds("check", cwd=folder)  # its own configuration, found from inside it
    assert f"configuration: {folder / 'pyproject.toml'}" in inside.stdout
    assert inside.stdout.splitlines()[-1] == check.stdout.splitlines()[-1]
    with serving([str(folder)], cwd=tmp_path) as server:
        status, _, body = server.fetch("/feeds/example.rss")
        assert status == 200
        assert b"Welcome to your feeds" in body and b"A second story" in body
        assert b"not published yet" not in body


def test_the_starter_configuration_lists_every_setting_at_its_default(tmp_path: Path) -> None:
    folder = tmp_path / "mynews"
    assert feeds("init", folder, cwd=tmp_path).returncode == 0
    text = (folder / "pyproject.toml").read_text()
    names = [field.name for field in dataclasses.fields(Settings)]
    for name in names:
        assert re.search(rf"^(# )?{name} = ", text, re.MULTILINE), name
    settings = load_settings(pyproject=folder / "pyproject.toml")
    assert settings.corpus == folder and settings.site_title == "My news"
    # Every line taken in as it is written (but those of settings unset by default) gives
    # the defaults: each comment tells the truth.
    taken = [
        line.removeprefix("# ")
        for line in text.splitlines()
        if not line.startswith("# ") or "(unset by default)" not in line
    ]
    lines = [line for line in taken if "=" in line or line.startswith("[")]
    (tmp_path / "all.toml").write_text("\n".join(lines))
    assert tomllib.loads((tmp_path / "all.toml").read_text())["tool"]["feeds"]
    every = load_settings(pyproject=tmp_path / "all.toml")
    assert dataclasses.replace(every, corpus=folder, site_title="feeds") == Settings(corpus=folder)


def test_init_refuses_a_folder_that_is_not_empty_and_writes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "full"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    line = refused(feeds("init", folder, cwd=tmp_path))
    assert line == f"refusing to make a starter in {folder}: it is not an empty folder"
    assert tree(folder) == {"notes.txt": b"mine"}
    (tmp_path / "file").write_text("x")
    assert "is a file" in refused(feeds("init", tmp_path / "file", cwd=tmp_path))


def test_init_in_a_folder_it_cannot_write_is_one_line(tmp_path: Path, lock: Lock) -> None:
    parent = tmp_path / "closed"
    parent.mkdir()
    lock(parent, 0o555)
    line = refused(feeds("init", parent / "mynews", cwd=tmp_path, unprivileged=True))
    assert line == f"cannot make a starter in {parent / 'mynews'}: Permission denied"
    assert os.listdir(parent) == []
    empty = tmp_path / "empty"
    empty.mkdir()
    lock(empty, 0o555)
    assert refused(feeds("init", empty, cwd=tmp_path, unprivileged=True)).endswith("Permission denied")
    assert os.listdir(empty) == []


def _age(path: Path, days: float) -> None:
    then = time.time() - days * 86_400
    for part in path.parent.glob(path.name + "*"):
        os.utime(part, (then, then))


def test_cache_lists_prunes_and_clears_the_indexes(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    env = {"XDG_CACHE_HOME": str(cache)}
    corpora = []
    for name in ("old", "new", "gone"):
        assert feeds("init", tmp_path / name, cwd=tmp_path).returncode == 0
        assert feeds("check", tmp_path / name, cwd=tmp_path, env=env).returncode == 0
        corpora.append(tmp_path / name)
    listing = feeds("cache", cwd=tmp_path, env=env)
    assert listing.returncode == 0 and listing.stderr == ""
    lines = listing.stdout.splitlines()
    assert re.fullmatch(rf"{cache / 'feeds'}: 3 indexes, [\d.]+ kB", lines[0]), lines[0]
    assert [line.split()[-1] for line in lines[1:]] == [str(tmp_path / n) for n in ("gone", "new", "old")]
    indexes = sorted((cache / "feeds").glob("*.sqlite3"))
    by_corpus = {_root(path): path for path in indexes}
    _age(by_corpus[str(tmp_path / "old")], 40)
    for part in sorted((tmp_path / "gone").rglob("*"), reverse=True):
        part.unlink() if part.is_file() else part.rmdir()
    (tmp_path / "gone").rmdir()

    prune = feeds("cache", "prune", cwd=tmp_path, env=env)
    assert prune.returncode == 0, prune.stderr
    assert prune.stdout.splitlines()[-1].startswith("2 removed, 0 kept, ")
    assert [_root(path) for path in (cache / "feeds").glob("*.sqlite3")] == [str(tmp_path / "new")]
    assert sorted(os.listdir(cache / "feeds")) == sorted(
        name for name in os.listdir(cache / "feeds") if name.startswith(by_corpus[str(tmp_path / "new")].name)
    )  # nothing of the removed ones is left beside the kept one

    with serving([str(tmp_path / "new")], cwd=tmp_path, env=env):  # a server has it open
        clear = feeds("cache", "clear", cwd=tmp_path, env=env)
        assert clear.returncode == 0
        assert clear.stdout.splitlines()[-2:] == [
            f"kept {by_corpus[str(tmp_path / 'new')].name}: a running process has it open",
            "0 removed, 1 kept, 0 B freed",
        ]
    clear = feeds("cache", "clear", cwd=tmp_path, env=env)
    assert clear.stdout.splitlines()[-1].startswith("1 removed, 0 kept, ")
    assert list((cache / "feeds").glob("*.sqlite3")) == []
    assert log_messages(clear.stderr) == []


def _root(path: Path) -> str:
    db = sqlite3.connect(path)
    try:
        return str(db.execute("SELECT value FROM meta WHERE key = 'root'").fetchone()[0])
    finally:
        db.close()
