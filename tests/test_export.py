"""`feeds export`: the served documents as files, byte for byte, written safely and only when changed."""

from __future__ import annotations

import fcntl
import gzip
import os
import pty
import re
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner
from lxml import etree, html

from feeds.catalogue import file_path
from feeds.cli import main
from feeds.config import Settings
from feeds.errors import FeedsError
from feeds.export import MANIFEST, ExportReport, export_site
from feeds.publication import Publication
from feeds.web import create_app
from tests.conftest import NOW, ROOT, CorpusWriter, item_text, log_messages, minimal_item

SUMMARY = re.compile(r"\d+ written, \d+ unchanged, \d+ removed, \d+ bad files skipped")


# ---------------------------------------------------------------- helpers shared with the other export tests


def served_paths(client: Any, base_url: str) -> set[str]:
    """Every URL path the server publishes with default parameters, found the way a visitor
    finds them: the index page, every link on it, the OPML file and every feed it lists."""
    page = client.get("/")
    assert page.status_code == 200
    tree = html.fromstring(page.data)
    paths = {"/", "/opml.xml"}
    for href in tree.xpath("//a/@href | //link[@rel='alternate']/@href"):
        assert not urlsplit(href).scheme, href  # relative, so an export works under any base
        paths.add("/" + href)
    opml = etree.fromstring(client.get("/opml.xml").data)
    for url in opml.xpath("//outline/@xmlUrl"):
        assert url.startswith(base_url), url
        paths.add("/" + url[len(base_url) :])
    return paths


def files_under(folder: Path) -> dict[str, os.stat_result]:
    """Relative name -> lstat of every file (and symlink) below ``folder``."""
    found = {}
    for dirpath, _, filenames in os.walk(folder):
        for name in filenames:
            path = Path(dirpath, name)
            found[path.relative_to(folder).as_posix()] = path.lstat()
    return found


def snapshot(folder: Path) -> dict[str, tuple[bytes, int, int]]:
    """Relative name -> (bytes, st_mtime_ns, st_ino) of every regular file below ``folder``."""
    return {
        name: (Path(folder, name).read_bytes(), info.st_mtime_ns, info.st_ino)
        for name, info in files_under(folder).items()
        if not Path(folder, name).is_symlink()
    }


def exported(out: Path) -> set[str]:
    return {name for name in files_under(out) if name != MANIFEST}


def app_client(settings: Settings) -> Any:
    """A test client of the server for ``settings``, at NOW, as conftest's ``client``."""
    return create_app(settings, clock=lambda: NOW, watch=False).test_client()


def assert_same_as_server(
    out: Path, settings: Settings, *, gz: bool = False, others: frozenset[str] = frozenset()
) -> set[str]:
    """OUT holds exactly the documents the server publishes for ``settings`` at NOW (and
    their .gz siblings if ``gz``), each with the server's bytes, besides the files ``others``
    that are not the export's. Returns the URL paths."""
    client = app_client(settings)
    paths = served_paths(client, settings.base_url)
    names = {file_path(path) for path in paths}
    assert exported(out) == names | ({name + ".gz" for name in names} if gz else set()) | others
    for path in sorted(paths):
        response = client.get(path)
        assert response.status_code == 200, path
        body = (out / file_path(path)).read_bytes()
        assert body == response.data, path
        if gz:
            packed = (out / (file_path(path) + ".gz")).read_bytes()
            assert gzip.decompress(packed) == body, path
            # The very bytes the server sends to a client that accepts gzip.
            assert packed == client.get(path, headers={"Accept-Encoding": "gzip"}).data, path
    return paths


def run_cli(*args: str | Path) -> Any:
    return CliRunner().invoke(main, ["export", *map(str, args)], catch_exceptions=False)


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The command reads the clock at its edge; pin it to the tests' NOW. Run where no
    pyproject.toml adds settings."""
    monkeypatch.setattr("feeds.cli.export.utc_now", lambda: NOW)
    monkeypatch.chdir(tmp_path)


def topic_items(changes: Mapping[str, Mapping[str, object]] | None = None) -> dict[str, str | bytes]:
    """A small corpus with topics Alpha, Beta and Gamma, hot (heat >= 50) and not; ``changes``
    updates the front matter of items by file stem."""
    fronts = {
        "a-hot": minimal_item(1) | {"topics": ["Alpha"], "heat": 80},
        "a-cold": minimal_item(2) | {"topics": ["Alpha"], "heat": 10},
        "b-hot": minimal_item(3) | {"topics": ["Beta"], "heat": 90},
        "ag": minimal_item(4) | {"topics": ["Alpha", "Gamma"], "heat": -1},
    }
    for stem, fields in (changes or {}).items():
        fronts[stem] = fronts[stem] | dict(fields)
    return {f"{stem}.txt": item_text(front) for stem, front in fronts.items()}


def feeds_of(*stems: str) -> set[str]:
    """The files of each feed: its three formats and its page."""
    return {f"feeds/{stem}.{ext}" for stem in stems for ext in ("rss", "atom", "json", "html")}


# ---------------------------------------------------------------- same paths, same bytes


def test_export_of_the_seeds_holds_every_served_document_with_the_same_bytes(
    settings: Settings, client: Any, tmp_path: Path
) -> None:
    before = snapshot(tmp_path)
    out = tmp_path / "out"
    report = export_site(settings, out, now=NOW)

    paths = assert_same_as_server(out, settings)
    assert {"/", "/opml.xml", "/feeds/all.rss", "/feeds/ai.json", "/feeds/hot/ai.rss"} <= paths
    assert {"/feeds/all.html", "/feeds/hot/ai.html"} <= paths  # the pages, with the server's bytes too
    assert (out / "index.html").read_bytes() == client.get("/").data
    assert sorted(report.written) == sorted(exported(out))
    assert report.skipped == 1  # seeds/002 has no front matter, on purpose
    # Nothing outside OUT changed (the seeds copy lives beside it).
    assert {k: v for k, v in snapshot(tmp_path).items() if not k.startswith("out/")} == before


def test_every_named_selection_is_exported_and_served_at_the_same_path(
    seeds_dir: Path, tmp_path: Path
) -> None:
    settings = Settings(
        corpus=seeds_dir, base_url="https://news.example/feeds/", selections={"hot": 50, "top": 95}
    )
    out = tmp_path / "out"
    export_site(settings, out, now=NOW)
    paths = assert_same_as_server(out, settings)
    assert {"/feeds/top/all.atom", "/feeds/top/ai-ethics.json", "/feeds/hot/ai.rss"} <= paths


def test_cli_takes_the_base_url_from_the_flag(seeds_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_cli(seeds_dir, out, "--base-url", "https://flag.example/news")
    assert result.exit_code == 0, result.output
    assert_same_as_server(out, Settings(corpus=seeds_dir, base_url="https://flag.example/news/"))
    assert b'href="https://flag.example/news/feeds/all.atom"' in (out / "feeds/all.atom").read_bytes()


def test_cli_takes_the_base_url_from_the_settings(
    seeds_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.feeds]\nbase_url = "https://toml.example/"\n')
    out = tmp_path / "out"
    assert run_cli(seeds_dir, out).exit_code == 0
    assert_same_as_server(out, Settings(corpus=seeds_dir, base_url="https://toml.example/"))

    monkeypatch.setenv("FEEDS_BASE_URL", "https://env.example/")
    assert run_cli(seeds_dir, out).exit_code == 0
    assert_same_as_server(out, Settings(corpus=seeds_dir, base_url="https://env.example/"))


def test_cli_with_only_out_exports_the_bundled_seeds(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_cli(out, "--base-url", "http://feeds.test/")
    assert result.exit_code == 0, result.output
    assert_same_as_server(out, Settings(corpus=ROOT / "seeds", base_url="http://feeds.test/"))


def test_cli_rejects_a_third_path(tmp_path: Path) -> None:
    result = run_cli(tmp_path / "a", tmp_path / "b", tmp_path / "c")
    assert result.exit_code == 2
    assert "[CORPUS] OUT" in result.stderr
    assert not (tmp_path / "c").exists()


# ---------------------------------------------------------------- incremental


def test_a_second_export_with_nothing_changed_writes_nothing(settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "out"
    export_site(settings, out, now=NOW, gzip_too=True)
    before = snapshot(out)

    report = export_site(settings, out, now=NOW, gzip_too=True)
    assert report.written == [] and report.removed == [] and report.failures == []
    assert len(report.unchanged) == len(before) - 1  # all but the manifest
    assert snapshot(out) == before  # same bytes, same mtimes, same inodes (no rename either)

    result = run_cli(settings.corpus, out, "--gzip", "--base-url", settings.base_url)
    assert result.exit_code == 0
    assert (
        result.stdout.splitlines()[-1]
        == f"0 written, {len(before) - 1} unchanged, 0 removed, 1 bad files skipped"
    )
    assert snapshot(out) == before


def test_a_round_made_of_what_the_last_was_made_of_takes_its_fingerprints(
    write_corpus: CorpusWriter, tmp_path: Path, fingerprints: list[str]
) -> None:
    """Same index version, same settings, no scheduled item come due: nothing to find again,
    but every file is still looked at."""
    corpus = write_corpus(topic_items())
    settings = Settings(corpus=corpus, base_url="http://feeds.test/", index=str(tmp_path / "index.db"))
    out = tmp_path / "out"
    export_site(settings, out, now=NOW)
    before = snapshot(out)
    asked = fingerprints
    asked.clear()  # those of the first export

    report = export_site(settings, out, now=NOW + timedelta(hours=1))
    assert report.written == [] and report.failures == [] and asked == []
    assert snapshot(out) == before  # the manifest too

    (out / "feeds/all.rss").write_bytes(b"changed by hand")
    report = export_site(settings, out, now=NOW + timedelta(hours=2))
    assert report.written == ["feeds/all.rss"] and asked == []
    assert (out / "feeds/all.rss").read_bytes() == before["feeds/all.rss"][0]

    write_corpus(topic_items({"b-hot": {"title": "Story 3, corrected"}}), root=corpus)
    report = export_site(settings, out, now=NOW + timedelta(hours=3))
    assert set(report.written) == feeds_of("all", "beta", "hot/all", "hot/beta") and asked


def test_what_changes_documents_but_not_the_index_is_seen(write_corpus: CorpusWriter, tmp_path: Path) -> None:
    """A scheduled item come due (or a clock set back), other settings, an index made anew."""
    soon = minimal_item(9) | {"title": "Scheduled", "publishedDateTime": NOW + timedelta(days=1)}
    corpus = write_corpus(topic_items() | {"soon.txt": item_text(soon)})
    settings = Settings(corpus=corpus, base_url="http://feeds.test/", index=str(tmp_path / "index.db"))
    out = tmp_path / "out"
    all_rss = out / "feeds/all.rss"
    export_site(settings, out, now=NOW)
    assert b"Scheduled" not in all_rss.read_bytes()

    export_site(settings, out, now=NOW + timedelta(days=2))
    assert b"Scheduled" in all_rss.read_bytes()
    export_site(settings, out, now=NOW)
    assert b"Scheduled" not in all_rss.read_bytes()

    titled = replace(settings, site_title="Another title")
    assert "feeds/all.rss" in export_site(titled, out, now=NOW).written
    assert b"Another title" in all_rss.read_bytes()

    # A new index counts its generations from the start again: it is another lineage.
    for path in tmp_path.glob("index.db*"):
        path.unlink()
    write_corpus(topic_items({"a-hot": {"title": "Story 1, redone"}}), root=corpus)
    export_site(titled, out, now=NOW)
    assert b"Story 1, redone" in all_rss.read_bytes()
    assert_same_as_server(out, titled)


def test_one_changed_item_rewrites_only_the_feeds_it_appears_in(
    write_corpus: CorpusWriter, tmp_path: Path
) -> None:
    corpus = write_corpus(topic_items())
    settings = Settings(corpus=corpus, base_url="http://feeds.test/")
    out = tmp_path / "out"
    export_site(settings, out, now=NOW)
    before = snapshot(out)

    # An item of Alpha that is not hot: the hot feeds, Beta, Gamma, the index and OPML keep their bytes.
    write_corpus(topic_items({"a-cold": {"title": "Story 2, corrected"}}), root=corpus)
    report = export_site(settings, out, now=NOW)

    assert set(report.written) == feeds_of("all", "alpha")
    assert report.removed == [] and report.failures == []
    after = snapshot(out)
    changed = {name for name in after if after[name] != before[name]} - {MANIFEST}  # it records stamps
    assert changed == feeds_of("all", "alpha")
    assert b"Story 2, corrected" in (out / "feeds/alpha.rss").read_bytes()
    assert_same_as_server(out, settings)

    # An item of Alpha and Gamma turns hot: the hot feeds change too, and the index page (its
    # counts); the OPML lists the same feeds, and Beta's feeds hold other items.
    edits: dict[str, dict[str, object]] = {
        "a-cold": {"title": "Story 2, corrected"},
        "ag": {"title": "Story 4, now hot", "heat": 60},
    }
    write_corpus(topic_items(edits), root=corpus)
    report = export_site(settings, out, now=NOW)
    assert set(report.written) == feeds_of("all", "alpha", "gamma", "hot/all", "hot/alpha", "hot/gamma") | {
        "index.html"
    }
    assert_same_as_server(out, settings)


def test_feeds_that_no_longer_exist_are_removed_and_reported_and_nothing_else_is_touched(
    write_corpus: CorpusWriter, tmp_path: Path
) -> None:
    corpus = write_corpus(topic_items())
    settings = Settings(corpus=corpus, base_url="http://feeds.test/")
    out = tmp_path / "out"
    export_site(settings, out, now=NOW)
    assert feeds_of("beta", "hot/beta") <= exported(out)
    mine = {
        "robots.txt": b"User-agent: *\n",
        "feeds/mine.rss": b"<rss/>",
        "feeds/beta.xml": b"not ours",
        "feeds/extra/notes.md": b"# notes",
        ".well-known/x": b"x",
    }
    for name, data in mine.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(data)
    users = {name: info for name, info in snapshot(out).items() if name in mine}

    write_corpus(topic_items({"b-hot": {"published": False}}), root=corpus)  # topic Beta is gone
    result = run_cli(corpus, out, "--base-url", settings.base_url)

    assert result.exit_code == 0, result.output
    gone = feeds_of("beta", "hot/beta")
    for name in gone:
        assert f"removed {name} (no longer exported)" in result.stdout
        assert not (out / name).exists()
    assert result.stdout.splitlines()[-1].split(", ")[2] == "8 removed"
    assert {name: info for name, info in snapshot(out).items() if name in mine} == users
    assert_same_as_server(out, settings, others=frozenset(mine))
    for name in gone:
        assert app_client(settings).get("/" + name).status_code == 404


def test_a_selection_dropped_from_the_settings_takes_its_emptied_folder_along(
    seeds_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    settings = Settings(corpus=seeds_dir, base_url="http://feeds.test/", selections={"hot": 50, "top": 95})
    export_site(settings, out, now=NOW)
    (out / "feeds/hot/keep.txt").write_text("a user's file")

    report = export_site(replace(settings, selections={}), out, now=NOW, force=True)  # most files go
    assert {name.split("/")[1] for name in report.removed} == {"hot", "top"}
    assert not (out / "feeds/top").exists()  # emptied: it held only our files
    assert os.listdir(out / "feeds/hot") == ["keep.txt"]  # not empty: it stays
    assert_same_as_server(out, replace(settings, selections={}), others=frozenset({"feeds/hot/keep.txt"}))


# ---------------------------------------------------------------- --gzip


def test_gzip_writes_deterministic_siblings_that_decompress_to_the_same_bytes(
    settings: Settings, tmp_path: Path
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    export_site(settings, first, now=NOW, gzip_too=True)
    export_site(settings, second, now=NOW, gzip_too=True)
    assert_same_as_server(first, settings, gz=True)
    packed = {name: (first / name).read_bytes() for name in exported(first) if name.endswith(".gz")}
    assert len(packed) == len(exported(first)) // 2
    assert packed == {name: (second / name).read_bytes() for name in packed}
    for data in packed.values():
        assert data[4:8] == b"\0\0\0\0"  # no timestamp in the header


def test_an_export_without_gzip_removes_the_siblings_a_host_would_still_serve(
    settings: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    export_site(settings, out, now=NOW, gzip_too=True)
    report = export_site(settings, out, now=NOW)
    assert report.written == []
    assert report.removed and all(name.endswith(".gz") for name in report.removed)
    assert_same_as_server(out, settings)


# ---------------------------------------------------------------- safety


@pytest.mark.parametrize("where", ["corpus", "inside", "deep"])
def test_refuses_an_out_that_is_or_is_inside_the_corpus(seeds_dir: Path, where: str) -> None:
    out = {"corpus": seeds_dir, "inside": seeds_dir / "out", "deep": seeds_dir / "a" / ".." / "b" / "out"}[
        where
    ]
    before = snapshot(seeds_dir)
    result = run_cli(seeds_dir, out)
    assert result.exit_code == 2
    [refusal] = log_messages(result.stderr, "ERROR")
    assert refusal.startswith("refusing to export into the corpus")
    assert snapshot(seeds_dir) == before
    assert sorted(os.listdir(seeds_dir)) == sorted(before)


def test_refuses_an_out_whose_feeds_folder_is_the_corpus(tmp_path: Path, write_corpus: CorpusWriter) -> None:
    out = tmp_path / "site"
    corpus = write_corpus(topic_items(), root=out / "feeds")
    before = snapshot(tmp_path)
    result = run_cli(corpus, out)
    assert result.exit_code == 2
    refusal = f"refusing to export into {out}: the corpus {corpus} is inside it"
    assert log_messages(result.stderr, "ERROR") == [refusal]
    assert snapshot(tmp_path) == before


def test_refuses_an_out_reached_through_a_symlink_into_the_corpus(seeds_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "link").symlink_to(seeds_dir)
    before = snapshot(seeds_dir)
    result = run_cli(seeds_dir, tmp_path / "link" / "out")
    assert result.exit_code == 2 and "refusing" in result.stderr
    assert snapshot(seeds_dir) == before and not (seeds_dir / "out").exists()


def test_refuses_an_out_that_is_a_symlink(seeds_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "out").symlink_to(tmp_path / "real")
    result = run_cli(seeds_dir, tmp_path / "out")
    assert result.exit_code == 2 and "symlink" in result.stderr
    assert os.listdir(tmp_path / "real") == []


def test_follows_no_symlinked_folder_out_of_out(write_corpus: CorpusWriter, tmp_path: Path) -> None:
    corpus = write_corpus(topic_items())
    out = tmp_path / "out"
    assert run_cli(corpus, out).exit_code == 0
    # Someone swaps feeds/ for a symlink to a folder outside, holding a copy of the feeds.
    elsewhere = tmp_path / "elsewhere"
    (out / "feeds").rename(elsewhere)
    (out / "feeds").symlink_to(elsewhere, target_is_directory=True)
    before = snapshot(elsewhere)
    write_corpus(topic_items({"b-hot": {"published": False}, "a-hot": {"title": "New"}}), root=corpus)

    result = run_cli(corpus, out)

    assert result.exit_code == 1
    assert snapshot(elsewhere) == before  # nothing written there, nothing removed (beta's feeds listed stale)
    errors = log_messages(result.stderr, "ERROR")
    assert "not written: feeds/all.rss: feeds is a symlink; not followed" in errors
    assert "not written: feeds/beta.rss: cannot remove: feeds is a symlink; not followed" in errors
    assert re.fullmatch(
        r"2 written, 0 unchanged, 0 removed, 0 bad files skipped, \d+ failed", result.stdout.splitlines()[-1]
    )
    assert (out / "feeds").is_symlink()
    assert b"Beta" not in (out / "index.html").read_bytes()  # what could be written was


def test_follows_no_symlinked_selection_folder_or_file(write_corpus: CorpusWriter, tmp_path: Path) -> None:
    corpus = write_corpus(topic_items())
    out = tmp_path / "out"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    outside = tmp_path / "outside.html"
    outside.write_bytes(b"precious")
    (out / "feeds").mkdir(parents=True)
    (out / "feeds/hot").symlink_to(elsewhere, target_is_directory=True)
    (out / "index.html").symlink_to(outside)

    result = run_cli(corpus, out)

    assert result.exit_code == 1
    assert os.listdir(elsewhere) == []
    assert outside.read_bytes() == b"precious"
    # A symlink at a file's own place is replaced by the file, never written through.
    assert not (out / "index.html").is_symlink() and b"<!DOCTYPE html>" in (out / "index.html").read_bytes()
    assert sorted(log_messages(result.stderr, "ERROR")) == sorted(
        f"not written: {name}: feeds/hot is a symlink; not followed"
        for name in feeds_of("hot/all", "hot/alpha", "hot/beta", "hot/gamma")
    )
    assert (out / "feeds/alpha.rss").is_file()


def test_leftover_temporary_files_are_cleaned_and_other_dotfiles_kept(
    settings: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    export_site(settings, out, now=NOW)
    leftovers = [
        out / ".index.html.0123456789abcdef.feeds-tmp",
        out / "feeds/hot/.ai.rss.fedcba9876543210.feeds-tmp",
    ]
    for path in leftovers:
        path.write_bytes(b"<rss><chan")
    (out / ".htaccess").write_text("keep me")
    (out / "feeds/.ai.rss.feeds-tmp").write_text("not our pattern: keep me")

    report = export_site(settings, out, now=NOW)
    assert report.written == []
    assert not any(path.exists() for path in leftovers)
    assert (out / ".htaccess").read_text() == "keep me"
    assert (out / "feeds/.ai.rss.feeds-tmp").exists()


def test_a_file_that_cannot_be_written_fails_the_export_but_not_the_others(
    settings: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    (out / "feeds/ai.rss").mkdir(parents=True)  # a folder where a feed goes
    (out / "feeds/ai.rss/mine").write_text("mine")

    result = run_cli(settings.corpus, out, "--base-url", settings.base_url)

    assert result.exit_code == 1
    assert [line for line in log_messages(result.stderr, "ERROR") if line.startswith("not written:")] == [
        "not written: feeds/ai.rss: Is a directory"
    ]
    assert (out / "feeds/ai.rss/mine").read_text() == "mine"
    assert (out / "feeds/ai.atom").is_file() and (out / "index.html").is_file()
    assert not [name for name in files_under(out) if name.endswith(".feeds-tmp")]


def test_a_second_export_into_the_same_out_waits_for_none_and_refuses(
    settings: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    fd = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a running export holds it
        with pytest.raises(FeedsError, match="another export into .* is running"):
            export_site(settings, out, now=NOW)
    finally:
        os.close(fd)
    assert os.listdir(out) == []
    export_site(settings, out, now=NOW)  # released: the next one runs


# ---------------------------------------------------------------- output


def test_output_is_a_summary_problems_on_stderr_and_no_progress_bar_when_captured(
    settings: Settings, tmp_path: Path
) -> None:
    (settings.corpus / "odd.txt").write_text(item_text(minimal_item(9), colour="blue"))  # a warning only
    result = run_cli(settings.corpus, tmp_path / "out")
    assert result.exit_code == 0  # bad corpus files alone do not fail the export
    assert SUMMARY.fullmatch(result.stdout.strip())
    assert result.stdout.strip().endswith("1 bad files skipped")
    assert "Exporting" not in result.output
    assert "002_7afdc6dd96035df6.txt:1: no front matter" in result.stderr
    assert "odd.txt:" in result.stderr and "unknown key 'colour' ignored" in result.stderr


def test_quiet_prints_nothing_but_errors(settings: Settings, tmp_path: Path) -> None:
    (settings.corpus / "odd.txt").write_text(item_text(minimal_item(9), colour="blue"))
    base = ("--base-url", "https://news.example/")
    result = run_cli(settings.corpus, tmp_path / "out", "--quiet", *base)
    assert result.exit_code == 0
    assert result.stdout == ""
    assert log_messages(result.stderr) == [
        f"{settings.corpus / '002_7afdc6dd96035df6.txt'}:1: no front matter: "
        "the file must start with a '---' line"
    ]
    (settings.corpus / "002_7afdc6dd96035df6.txt").unlink()
    result = run_cli(settings.corpus, tmp_path / "out", "-q", *base)
    assert (result.exit_code, result.output) == (0, "")


def _run_on_terminal(*args: str | Path) -> tuple[int, str, str]:
    """Run the command with stderr on a pseudo-terminal; return status, stdout, terminal output."""
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "feeds", "export", *map(str, args)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=slave,
        env=os.environ | {"COLUMNS": "80"},
    )
    os.close(slave)
    shown = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the terminal's last writer is gone
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    stdout = process.stdout.read() if process.stdout else b""
    return process.wait(timeout=60), stdout.decode(), shown.decode(errors="replace")


def test_progress_bar_only_on_a_terminal_and_not_with_quiet(seeds_dir: Path, tmp_path: Path) -> None:
    status, stdout, shown = _run_on_terminal(seeds_dir, tmp_path / "out")
    assert status == 0
    assert "Exporting" in shown and "100%" in shown
    assert SUMMARY.fullmatch(stdout.strip())

    status, stdout, shown = _run_on_terminal(seeds_dir, tmp_path / "out", "--quiet")
    assert status == 0 and stdout == ""
    assert "Exporting" not in shown and "no front matter" in shown


def test_report_summary_counts() -> None:
    report = ExportReport(written=["a"], unchanged=["b", "c"], removed=[], failures=["d: Permission denied"])
    assert report.summary() == "1 written, 2 unchanged, 0 removed, 0 bad files skipped, 1 failed"


def test_an_unchanged_export_renders_nothing(
    write_corpus: CorpusWriter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = write_corpus(topic_items())
    settings = Settings(corpus=corpus, base_url="http://feeds.test/")
    out = tmp_path / "out"
    export_site(settings, out, now=NOW, gzip_too=True)
    rendered: list[str] = []
    render = Publication.render

    def counted(self: Publication, path: str, *args: Any) -> Any:
        rendered.append(path)
        return render(self, path, *args)

    monkeypatch.setattr(Publication, "render", counted)
    report = export_site(settings, out, now=NOW, gzip_too=True)
    assert rendered == [] and report.written == []

    write_corpus(topic_items({"a-cold": {"title": "Story 2, corrected"}}), root=corpus)
    export_site(settings, out, now=NOW, gzip_too=True)
    assert sorted(rendered) == sorted("/" + name for name in feeds_of("all", "alpha"))


def test_a_file_changed_by_hand_is_written_again(write_corpus: CorpusWriter, tmp_path: Path) -> None:
    corpus = write_corpus(topic_items())
    settings = Settings(corpus=corpus, base_url="http://feeds.test/")
    out = tmp_path / "out"
    export_site(settings, out, now=NOW)
    (out / "feeds/alpha.rss").write_bytes(b"edited")
    report = export_site(settings, out, now=NOW)
    assert report.written == ["feeds/alpha.rss"]
    assert_same_as_server(out, settings)
