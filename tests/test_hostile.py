"""The hostile corpus of ``tests/hostile.py`` against the reader, ``feeds check``, ``feeds
export`` and the server: no crash, no hang; each file an item or an error naming it; the
good files among them read exactly as they read alone.

Everything that could hang or crash the process runs first in a child process with a
timeout (``feeds check``, ``feeds export``); only then is the corpus read in this one.
Cases that expose a known bug are left out of the shared run and each has its own test,
marked ``xfail(strict=True)``, below.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import feedparser
import pytest
from lxml import etree, html

from feeds.builders import FEED_FORMATS, Format, build
from feeds.config import Settings
from feeds.corpus import Corpus, load_corpus, parse_item
from feeds.errors import ItemError, printable
from feeds.model import Channel, Item, Link
from feeds.web import create_app
from tests import hostile
from tests.conftest import ROOT, item_text, log_messages, minimal_item
from tests.test_feed_validity import check_atom, check_json, check_rss

BASE_URL = "http://feeds.test/"
LIMIT = 10_000
"""Feeds hold every visible item, so that each one is built and checked."""
CHECK_TIMEOUT = 120
EXPORT_TIMEOUT = 240

CRASHERS = {
    "tags/plain-bad-timestamp.txt": "publishedDateTime: !!timestamp yesterday",
    "tags/plain-bool-word.txt": "published: !!bool maybe",
    "tags/plain-empty-int.txt": "heat: !!int ''",
    "tags/plain-empty-float.txt": "heat: !!float ''",
}
"""Cases whose explicit plain-type tag the reader cannot build: see the xfail test."""
HEAVY = {case.name for case in hostile.heavy_cases()}
INDEX_CRASHERS = {"names/latin1-\udce9.txt", "wrong-type/heat=huge.txt", "wrong-type/quality=huge.txt"}
"""Cases the reader takes but the corpus index cannot store: see the xfail tests."""
LEFT_OUT = set(CRASHERS) | HEAVY | INDEX_CRASHERS
MAIN = [case for case in hostile.cases() if case.name not in LEFT_OUT]

GOOD = {
    "000-good.txt": item_text(minimal_item(1), topics=["Good"]),
    "markup/zz-good.txt": item_text(minimal_item(2), topics=["Good", "Hostile markup"]),
    "symlinks/good.md": item_text(minimal_item(3), topics=["Good"]),
    "zzz/good.txt": item_text(minimal_item(4), topics=["Good"], body="A *good* body."),
}
"""Good files among the hostile ones: they must read exactly as they do alone."""


def child_env(cache: Path, **extra: str) -> dict[str, str]:
    """The environment of a child ``feeds``: no FEEDS_* of ours, its index in ``cache``."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("FEEDS_")}
    env.update(XDG_CACHE_HOME=str(cache), PYTHONUTF8="1", **extra)
    return env


def feeds_cli(
    args: Sequence[str], *, cwd: Path, timeout: float, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """Run ``feeds ARGS`` in a child process; a hang fails the test at ``timeout``."""
    command = [sys.executable, "-m", "feeds", *args]
    try:
        return subprocess.run(
            command, cwd=cwd, env=env, capture_output=True, text=True, errors="replace", timeout=timeout
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"feeds {' '.join(args)} did not finish within {timeout} s")


def read_tree(folder: Path) -> dict[str, bytes]:
    """Every regular file below ``folder`` by relative path, ``.gz`` files decompressed."""
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            found[path.relative_to(folder).as_posix()] = (
                gzip.decompress(data) if path.suffix == ".gz" else data
            )
    return found


def parse_document(name: str, data: bytes) -> Any:
    """Parse an exported or served document by its name; raises if it is not whole."""
    if name.endswith(".gz"):
        return parse_document(name[:-3], data)
    if name.endswith(".json"):
        return json.loads(data)
    if name.endswith(".html") or name in {"", "/"}:
        assert data.rstrip().endswith(b"</html>"), name
        return html.document_fromstring(data)
    return etree.fromstring(data)


@dataclass
class Run:
    root: Path
    out: Path
    cwd: Path
    check: subprocess.CompletedProcess[str]
    export: subprocess.CompletedProcess[str]
    corpus: Corpus
    alone: Corpus
    now: datetime

    @cached_property
    def items(self) -> dict[str, Item]:
        return {item.source: item for item in self.corpus.items}

    @cached_property
    def _by_path(self) -> dict[Path, list[ItemError]]:
        found: dict[Path, list[ItemError]] = {}
        for problem in self.corpus.problems:
            found.setdefault(problem.path, []).append(problem)
        return found

    def problems(self, name: str) -> tuple[list[ItemError], list[ItemError]]:
        """The errors and the warnings about file ``name``."""
        found = self._by_path.get(self.root / name, [])
        return [p for p in found if not p.warning], [p for p in found if p.warning]

    @property
    def visible(self) -> list[Item]:
        return [item for item in self.corpus.items if item.published and item.published_at <= self.now]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    base = tmp_path_factory.mktemp("hostile")
    root, out, cwd, cache = base / "corpus", base / "out", base / "cwd", base / "cache"
    cwd.mkdir()
    hostile.write(root, MAIN)
    for name, text in GOOD.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
        (base / "alone" / name).parent.mkdir(parents=True, exist_ok=True)
        (base / "alone" / name).write_text(text, encoding="utf-8")
    env = child_env(cache, FEEDS_MAX_LIMIT=str(LIMIT))
    check = feeds_cli(["check", str(root)], cwd=cwd, timeout=CHECK_TIMEOUT, env=env)
    # Each file's item as it is, to hold the export to carrying every field of every one; the
    # collapsing of its stories told more than once is the check's and test_stories.py's.
    export = feeds_cli(
        ["export", str(root), str(out), "--gzip", "--feed-limit", str(LIMIT), "--base-url", BASE_URL]
        + ["--no-collapse"],
        cwd=cwd,
        timeout=EXPORT_TIMEOUT,
        env=env,
    )
    now = datetime.now(UTC)
    assert not [name for name in hostile.PWNED if (cwd / name).exists()], "a YAML tag ran code"
    with contextlib.chdir(cwd):  # were a tag to run code here after all, it would land in cwd
        corpus = load_corpus(root)
    return Run(root, out, cwd, check, export, corpus, load_corpus(base / "alone"), now)


# -- the generator -------------------------------------------------------------------------


def test_the_corpus_is_generated_deterministically_and_covers_every_kind(tmp_path: Path) -> None:
    cases = hostile.cases()
    assert [(c.name, c.data, c.target, c.size) for c in cases] == [
        (c.name, c.data, c.target, c.size) for c in hostile.cases()
    ]
    names = [case.name for case in cases]
    assert len(names) == len(set(names))
    by_category: dict[str, int] = {}
    for case in cases:
        by_category[case.category] = by_category.get(case.category, 0) + 1
    assert set(by_category) == set(hostile.CATEGORIES)

    # A wrong type for every field of a full item, and each field missing.
    fields = [path for path, _ in hostile.field_paths(hostile.base_front("x", "x"))]
    assert len(fields) >= 40
    wrong = [case.name for case in cases if case.category == "wrong-type"]
    for path in fields:
        variants = [name for name in wrong if name.startswith(f"wrong-type/{path}=")]
        assert f"wrong-type/{path}=missing.txt" in variants and len(variants) >= 6, path
    # Text payloads in every text field.
    for category in ("markup", "cdata", "bidi"):
        assert {c.name for c in cases if c.category == category} == {
            f"{category}/{path}.txt" for path in hostile.TEXT_FIELDS
        }
    # Sizes around the bound, and over it by megabytes.
    sizes = {case.name: case.size or len(case.data) for case in cases if case.category == "big"}
    assert sizes["big/body-at-bound.txt"] == hostile.MAX_FILE_BYTES
    assert hostile.MAX_FILE_BYTES - 1000 < sizes["big/excerpt-under.txt"] < hostile.MAX_FILE_BYTES
    assert sizes["big/over-by-one.txt"] == hostile.MAX_FILE_BYTES + 1
    assert sizes["big/excerpt-3mib.txt"] > 3_000_000 and sizes["big/body-5mib.txt"] > 5_000_000

    # The module writes the same corpus from a shell.
    out = tmp_path / "cli"
    child = subprocess.run(
        [sys.executable, "-m", "tests.hostile", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert child.returncode == 0, child.stderr
    assert f"{len(cases)} hostile files in {out}" in child.stdout
    written = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_symlink() or not p.is_dir()}
    assert written == {case.name for case in cases}
    for case in cases:
        written_path = out / case.name
        if case.node == "symlink":
            assert written_path.is_symlink()
        elif case.node == "file" and case.size is None:
            assert written_path.read_bytes() == case.data, case.name
    assert (hostile.outside_of(out) / "secret.txt").is_file()


# -- every case ----------------------------------------------------------------------------


def _case_id(case: hostile.Case) -> str:
    return case.name.encode("unicode_escape").decode("ascii")[:80]


@pytest.mark.parametrize("case", MAIN, ids=_case_id)
def test_each_hostile_file_gives_an_item_or_an_error_naming_it(case: hostile.Case, run: Run) -> None:
    errors, warnings = run.problems(case.name)
    item = run.items.get(case.name)
    path = printable(str(run.root / case.name))  # as problems print a file name
    for problem in errors + warnings:
        assert str(problem).startswith(f"{path}:") and problem.message.strip(), str(problem)
    got = "item" if item is not None else "error" if errors else "other"
    if case.expect == "duplicate":
        assert item is None and not errors
        (duplicate,) = [w for w in warnings if "same story" in w.message]
        winner = duplicate.message.split(" as ", 1)[1].split(", which is used instead", 1)[0]
        assert winner in run.items, duplicate
        return
    if case.expect == "absent":
        assert item is None and not errors and not warnings
        assert not any(p.path.is_relative_to(run.root / case.name) for p in run.corpus.problems)
        return
    assert got in (("item", "error") if case.expect == "either" else (case.expect,)), (got, errors)
    if item is not None:
        assert not errors, errors
        for field, value in case.fields.items():
            assert hostile.get_path(item, field) == value, field
    else:
        assert len(errors) == 1, errors
        if case.mention is not None:
            assert case.mention in errors[0].message, errors[0]


def test_good_files_among_hostile_ones_read_as_they_do_alone(run: Run) -> None:
    assert len(run.alone.items) == len(GOOD) and run.alone.problems == ()
    for item in run.alone.items:
        assert run.items[item.source] == item
    assert not [p for p in run.corpus.problems if p.path.relative_to(run.root).as_posix() in GOOD]


def test_feeds_check_reads_the_hostile_corpus_without_crashing(run: Run) -> None:
    check = run.check
    assert check.returncode == 1, check.stderr[-3000:]
    assert "Traceback" not in check.stderr + check.stdout
    *_, summary, stories = check.stdout.strip().splitlines()
    published = sum(1 for item in run.corpus.items if item.published and item.published_at <= run.now)
    told = r"\d+ published items are \d+ stories told more than once, each shown as one item"
    assert re.fullmatch(told, stories), stories
    assert summary.startswith(
        f"{run.corpus.files} files, {len(run.corpus.items)} items, {published} published, "
        f"{run.corpus.rejected} rejected, "
    ), summary
    assert run.corpus.files == sum(1 for c in MAIN if c.expect != "absent") + len(GOOD)
    for problem in run.corpus.problems:
        if not problem.warning and str(problem).isprintable():
            assert str(problem) in check.stdout, problem


def problem_lines(output: str, root: Path) -> set[str]:
    return {line for line in output.splitlines() if line.startswith(f"{root}/")}


def test_check_and_export_report_the_same_problems(run: Run) -> None:
    check = problem_lines(run.check.stdout + run.check.stderr, run.root)
    export = problem_lines("\n".join(log_messages(run.export.stderr)), run.root)
    assert len(check) > 500
    assert export == check


def test_nothing_outside_the_corpus_is_read_and_no_tag_runs_code(run: Run) -> None:
    for item in run.corpus.items:
        assert hostile.OUTSIDE_SECRET not in item.title
    for name, data in read_tree(run.out).items():
        assert hostile.OUTSIDE_SECRET.encode() not in data, name
        assert b"root:x:0:0" not in data, name
    assert sorted(p.name for p in run.cwd.iterdir()) == []


def test_the_export_of_the_hostile_corpus_is_whole_and_valid(run: Run) -> None:
    export = run.export
    assert export.returncode == 0, export.stderr[-3000:]
    assert "Traceback" not in export.stderr
    files = read_tree(run.out)
    for name, data in files.items():
        parse_document(name, data)
        if name.endswith(".gz"):
            assert data == files[name[:-3]], name
    visible = run.visible
    assert len(visible) > 300
    ids = {item.id for item in visible}
    feeds = {fmt: files[f"feeds/all.{fmt.value}"] for fmt in FEED_FORMATS}
    check_rss(feeds[Format.RSS], f"{BASE_URL}feeds/all.rss", strict_text=False)
    check_atom(feeds[Format.ATOM], f"{BASE_URL}feeds/all.atom", strict_text=False)
    document = check_json(feeds[Format.JSON], f"{BASE_URL}feeds/all.json")
    assert {entry["id"] for entry in document["items"]} == ids
    for fmt in (Format.RSS, Format.ATOM):
        parsed = feedparser.parse(feeds[fmt])
        assert parsed.bozo == 0, parsed.get("bozo_exception")
        assert {entry.id for entry in parsed.entries} == ids
    carried_exactly(visible, feeds)


def carried_exactly(items: Sequence[Item], feeds: dict[Format, bytes]) -> None:
    """Each item's title, excerpt and topics, as the XML and JSON parsers read them back."""
    by_id = {item.id: item for item in items}
    channel = etree.fromstring(feeds[Format.RSS]).find("channel")
    for element in channel.iterfind("item"):
        item = by_id[element.findtext("guid")]
        assert element.findtext("title") == item.title
        assert [c.text for c in element.iterfind("category")] == list(item.topics)
    a = "{http://www.w3.org/2005/Atom}"
    for entry in etree.fromstring(feeds[Format.ATOM]).iterfind(f"{a}entry"):
        item = by_id[entry.findtext(f"{a}id")]
        assert entry.findtext(f"{a}title") == item.title
        assert entry.findtext(f"{a}summary") == (item.excerpt or (None if item.body else item.title))
    for entry in json.loads(feeds[Format.JSON])["items"]:
        item = by_id[entry["id"]]
        assert (entry["title"], entry.get("summary", ""), entry.get("tags", [])) == (
            item.title,
            item.excerpt,
            list(item.topics),
        )


def test_the_server_gives_the_exported_bytes_for_the_hostile_corpus(run: Run) -> None:
    settings = Settings(corpus=run.root, base_url=BASE_URL, feed_limit=LIMIT, max_limit=LIMIT, collapse=False)
    app = create_app(settings, clock=lambda: run.now, watch=False)
    client = app.test_client()
    exported = read_tree(run.out)
    documents = [name for name in exported if name.startswith("feeds/") or name == "opml.xml"]
    paths = ["/"] + [f"/{name}" for name in documents if not name.endswith(".gz")]
    assert len(paths) > 100
    try:
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200, path
            name = "index.html" if path == "/" else path[1:]
            assert response.data == exported[name], path
    finally:
        app.extensions["feeds"].close()


# -- known bugs: each case alone -----------------------------------------------------------


def test_plain_type_tags_on_values_they_cannot_build_are_item_errors(tmp_path: Path) -> None:
    for name, line in CRASHERS.items():
        data = hostile.raw_item(name, "tags", line).encode()
        with pytest.raises(ItemError) as raised:
            parse_item(data, name)
        assert line.split(":", 1)[0] in raised.value.message
    root = tmp_path / "corpus"
    hostile.write(root, [case for case in hostile.cases() if case.name in CRASHERS])
    (root / "good.txt").write_text(GOOD["000-good.txt"], encoding="utf-8")
    check = feeds_cli(["check", str(root)], cwd=tmp_path, timeout=60, env=child_env(tmp_path / "cache"))
    assert "Traceback" not in check.stderr, check.stderr[-2000:]
    assert check.stdout.strip().endswith("5 files, 1 items, 1 published, 4 rejected, 1 topics")


HANG_BOUND = 10.0
"""Seconds a heavy case may take in a child process: a bound on a hang, with room for a slow
machine, not a benchmark. Linear work needs a second or two; quadratic, minutes."""

_BUILD_RSS_AND_ATOM = """
import sys
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from feeds.builders import Format, build
from feeds.corpus import parse_item
from feeds.model import Channel, Link
item = parse_item(Path(sys.argv[1]).read_bytes())
for fmt in (Format.RSS, Format.ATOM):
    link = Link("http://feeds.test/a", fmt.media_type)
    channel = Channel(link.href, "t", "d", "http://feeds.test/", link, datetime(2024, 1, 1, tzinfo=UTC))
    build(fmt, channel, [item])
"""


@pytest.fixture(scope="module")
def heavy(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, tuple[subprocess.Popen[bytes], float]]]:
    """Each heavy case, read (and built) in a child process; the children run side by side."""
    folder = tmp_path_factory.mktemp("heavy")
    children = {}
    for case in hostile.heavy_cases():
        root = folder / case.name.replace("/", "-")
        hostile.write(root, [case])
        source = root / case.name
        program = (
            ["-c", "import sys; from feeds.corpus import load_corpus; load_corpus(sys.argv[1])", str(root)]
            if "keys" in case.name
            else ["-c", _BUILD_RSS_AND_ATOM, str(source)]
        )
        child = subprocess.Popen(
            [sys.executable, *program], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        children[case.name] = (child, time.monotonic())
    yield children
    for child, _ in children.values():
        if child.poll() is None:
            child.kill()
        child.wait()


def finish(heavy: dict[str, tuple[subprocess.Popen[bytes], float]], name: str) -> None:
    child, started = heavy[name]
    try:
        child.wait(timeout=max(0.0, started + HANG_BOUND - time.monotonic()))
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
        pytest.fail(f"{name}: not done within {HANG_BOUND} s")
    assert child.returncode == 0, child.stderr.read() if child.stderr else ""


def test_a_file_of_many_unknown_keys_is_read_in_time_proportional_to_its_size(
    heavy: dict[str, tuple[subprocess.Popen[bytes], float]],
) -> None:
    finish(heavy, "counts/unknown-keys-60k.txt")


def test_an_item_with_many_topics_builds_in_time_proportional_to_its_size(
    heavy: dict[str, tuple[subprocess.Popen[bytes], float]],
) -> None:
    finish(heavy, "counts/topics-30k.txt")


def export_with_one_hostile_file(tmp_path: Path, name: str) -> subprocess.CompletedProcess[str]:
    """``feeds export`` of the case ``name`` beside a good file."""
    root = tmp_path / "corpus"
    hostile.write(root, [case for case in hostile.cases() if case.name == name])
    (root / "good.txt").write_text(GOOD["000-good.txt"], encoding="utf-8")
    env = child_env(tmp_path / "cache")
    return feeds_cli(["export", str(root), str(tmp_path / "out"), "-q"], cwd=tmp_path, timeout=60, env=env)


def test_a_file_name_that_is_not_utf8_does_not_stop_the_export(tmp_path: Path) -> None:
    export = export_with_one_hostile_file(tmp_path, "names/latin1-\udce9.txt")
    assert export.returncode == 0 and "Traceback" not in export.stderr, export.stderr[-2000:]
    assert b"Story 1" in (tmp_path / "out" / "feeds" / "all.json").read_bytes()


@pytest.mark.parametrize("name", ["wrong-type/heat=huge.txt", "wrong-type/quality=huge.txt"])
def test_a_huge_heat_or_quality_does_not_stop_the_export(tmp_path: Path, name: str) -> None:
    export = export_with_one_hostile_file(tmp_path, name)
    assert export.returncode == 0 and "Traceback" not in export.stderr, export.stderr[-2000:]
    assert b"Story 1" in (tmp_path / "out" / "feeds" / "all.json").read_bytes()


def test_problem_lines_show_hostile_file_names_on_one_printable_line(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    names = ["new\nline.txt", "esc-\x1b]0;title\x07.txt", "rtl-\u202etxt.md", "carriage\rreturn.txt"]
    root.mkdir()
    for name in names:
        (root / name).write_bytes(b"not an item\n")
    check = feeds_cli(["check", str(root)], cwd=tmp_path, timeout=60, env=child_env(tmp_path / "cache"))
    lines = check.stdout.splitlines()[:-2]  # the configuration and the summary after them
    assert len(lines) == len(names), lines
    for line in lines:
        assert line.isprintable() and not any(0x202A <= ord(ch) <= 0x202E for ch in line), repr(line)


def test_helpers_catch_what_they_claim_to() -> None:
    """The document parser refuses a cut document; the case check refuses a wrong expectation."""
    with pytest.raises(etree.XMLSyntaxError):
        parse_document("feeds/all.rss", b"<rss><channel>")
    with pytest.raises(json.JSONDecodeError):
        parse_document("feeds/all.json", b'{"items": [')
    with pytest.raises(AssertionError):
        parse_document("index.html", b"<html><body>")
    link = Link("http://feeds.test/a", Format.JSON.media_type)
    item = parse_item(GOOD["000-good.txt"].encode(), "a.txt")
    body = build(Format.JSON, Channel("i", "t", "d", BASE_URL, link, item.published_at), [item])
    with pytest.raises(AssertionError):
        carried_exactly([item], {Format.RSS: b"<rss><channel/></rss>", Format.ATOM: b"<feed/>",
                                 Format.JSON: body.replace(b"Story 1", b"Story 2")})  # fmt: skip
