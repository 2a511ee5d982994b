"""Each command imports only what it needs: reading a corpus never loads the web or XML stack."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import SEEDS

_PROBE = """
import atexit, json, sys
atexit.register(lambda: print(json.dumps(sorted(sys.modules)), file=sys.stderr))
from feeds.cli import main
sys.argv = ["feeds", *sys.argv[1:]]
main()
"""
HEAVY = {"flask", "werkzeug", "jinja2", "gunicorn", "feedgen", "lxml", "markdown_it"}


def loaded(tmp_path: Path, *args: str) -> set[str]:
    env = {"XDG_CACHE_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, env=env, timeout=120
    )
    modules = json.loads(result.stderr.strip().splitlines()[-1])
    return {name.split(".")[0] for name in modules}


@pytest.mark.parametrize("command", ["check", "topics"])
def test_reading_a_corpus_loads_neither_the_web_nor_the_xml_stack(tmp_path: Path, command: str) -> None:
    assert loaded(tmp_path, command, str(SEEDS)) & HEAVY == set()


def test_an_export_loads_the_builders_but_not_the_web_stack(tmp_path: Path) -> None:
    modules = loaded(tmp_path, "export", str(SEEDS), str(tmp_path / "out"))
    assert {"feedgen", "lxml", "jinja2"} <= modules
    assert modules & {"flask", "werkzeug", "gunicorn"} == set()


READING = {"yaml", "yaml_rs", "msgspec", "sqlite3", "watchfiles"}
"""What reading a corpus, or its index, takes."""


@pytest.mark.parametrize("args", [["--help"], ["export", "--help"], ["init", "starter"]])
def test_help_and_a_starter_load_no_reader_of_a_corpus(tmp_path: Path, args: list[str]) -> None:
    if args[0] == "init":
        args = ["init", str(tmp_path / "starter")]
    assert loaded(tmp_path, *args) & (READING | HEAVY) == set()
