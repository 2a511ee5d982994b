"""The committed lock pins what pyproject.toml asks for, and CI installs from it as the README says."""

from __future__ import annotations

import re
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from .conftest import ROOT

LOCK = ROOT / "requirements" / "test.txt"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.MULTILINE)


def pins() -> dict[str, str]:
    return {canonicalize_name(name): version for name, version in _PIN.findall(LOCK.read_text())}


def declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    build = (ROOT / "requirements" / "build.in").read_text().splitlines()
    extras = project["project"]["optional-dependencies"]
    texts = [
        *project["project"]["dependencies"],
        *extras["test"],
        *project["build-system"]["requires"],
        *(line for line in build if line.strip() and not line.startswith("#")),
    ]
    found = [Requirement(text) for text in texts]
    ours = [req for req in found if req.name == "feeds"]  # the extras the test one takes in
    return [req for req in found if req.name != "feeds"] + [
        Requirement(text) for req in ours for extra in sorted(req.extras) for text in extras[extra]
    ]


def test_the_lock_pins_every_declared_dependency_inside_its_range() -> None:
    pinned = pins()
    outside = {
        str(req): pinned.get(canonicalize_name(req.name))
        for req in declared()
        if pinned.get(canonicalize_name(req.name)) not in req.specifier
        or canonicalize_name(req.name) not in pinned
    }
    assert outside == {}, "requirements/test.txt is stale: run requirements/lock"


def test_every_pin_of_the_lock_carries_hashes() -> None:
    blocks = re.split(r"\n(?=[A-Za-z0-9])", LOCK.read_text())
    entries = [block for block in blocks if _PIN.match(block)]
    assert len(entries) == len(pins()) > 20
    assert [block.split(" ")[0] for block in entries if "--hash=sha256:" not in block] == []


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"^python3 -m venv \.venv && .*pytest$", readme, re.MULTILINE)
    assert commands, "the README shows no test command"
    assert len(set(commands)) == 1, "the README shows two different test commands"
    assert "--require-hashes -r requirements/test.txt" in commands[0]
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert commands[0] in ci
