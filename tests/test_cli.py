"""`feeds check` and `feeds topics`: through click's runner, and once each as a process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from feeds.cli import main

from .conftest import ROOT, CorpusWriter, item_text, log_messages, minimal_item

BAD = Path(__file__).resolve().parent / "data" / "bad"
SEED_002 = "002_7afdc6dd96035df6.txt"
SEEDS_SUMMARY = "5 files, 4 items, 1 published, 1 rejected, 2 topics"
NO_CONFIG = "configuration: none (flags, FEEDS_* variables and defaults only)"


@pytest.fixture(autouse=True)
def _elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in a folder without a pyproject.toml, so only flags and variables count."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def lines(text: str) -> list[str]:
    return text.splitlines()


# -- check --------------------------------------------------------------------------------


def test_check_seeds_names_the_file_without_front_matter_and_loads_the_rest(seeds_dir: Path) -> None:
    result = run("check", str(seeds_dir))
    assert result.exit_code == 1
    assert result.stderr == ""
    assert lines(result.stdout) == [
        f"{seeds_dir}/{SEED_002}:1: no front matter: the file must start with a '---' line",
        NO_CONFIG,
        SEEDS_SUMMARY,
    ]


def test_check_defaults_to_the_bundled_seeds_and_says_so_on_stderr() -> None:
    result = run("check")
    assert result.exit_code == 1
    assert lines(result.stdout)[-1] == SEEDS_SUMMARY
    assert f"{SEED_002}:1: no front matter" in result.stdout
    assert log_messages(result.stderr) == [
        f"no corpus given or configured: using the bundled sample, {ROOT / 'seeds'}"
        " (give CORPUS, or set corpus)"
    ]


def test_check_prints_warnings_and_exits_0_when_nothing_is_rejected(write_corpus: CorpusWriter) -> None:
    root = write_corpus(
        {
            "a.txt": item_text(minimal_item(1), author="x", topics=["C++", "AI"]),
            "b.txt": item_text(minimal_item(2), topics=["C#"], published=False),
            "c.txt": item_text(minimal_item(3), topics=["C#"]),
            "dup.txt": item_text(minimal_item(3)),
        }
    )
    result = run("check", str(root))
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    out = lines(result.stdout)
    assert out[0] == f"{root}/a.txt:12: warning: unknown key 'author' ignored"
    assert out[1] == (
        f"{root}/dup.txt: warning: same story (same URL) as c.txt, which is used instead"
        " (same date, its path sorts first); left out"
    )
    assert out[2].startswith("warning: topics 'C++' and 'C#' share the slug 'c'; 'C++' is published as 'c-")
    assert out[3:] == [NO_CONFIG, "4 files, 3 items, 2 published, 0 rejected, 3 topics"]


def test_check_reports_every_bad_file_and_exits_1() -> None:
    result = run("check", str(BAD))
    assert result.exit_code == 1
    expected = [
        line
        for fixture in sorted(BAD.glob("*.expected"))
        for line in fixture.read_text(encoding="utf-8").splitlines()
    ]
    count = len(list(BAD.glob("*.expected")))
    assert lines(result.stdout) == [
        *(f"{BAD}/{line}" for line in expected),
        NO_CONFIG,
        f"{count} files, 0 items, 0 published, {count} rejected, 0 topics",
    ]


def test_check_an_empty_folder_says_so(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run("check", str(empty))
    assert result.exit_code == 0
    assert lines(result.stdout) == [
        f"{empty}: warning: no item files (*.markdown, *.md, *.txt) in this folder",
        NO_CONFIG,
        "0 files, 0 items, 0 published, 0 rejected, 0 topics",
    ]


@pytest.mark.parametrize("command", ["check", "topics"])
def test_a_missing_folder_is_a_user_error(command: str, tmp_path: Path) -> None:
    result = run(command, str(tmp_path / "nowhere"))
    assert result.exit_code == 2
    assert log_messages(result.stderr) == [f"corpus folder not found: {tmp_path / 'nowhere'}"]
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", ["check", "topics"])
def test_a_file_given_as_corpus_is_a_usage_error(command: str, tmp_path: Path) -> None:
    (tmp_path / "file.txt").write_text("x", encoding="utf-8")
    result = run(command, str(tmp_path / "file.txt"))
    assert result.exit_code == 2
    [message] = log_messages(result.stderr, "ERROR")
    assert message.startswith("Invalid value for '[CORPUS]'")
    assert message.endswith(f"(see 'main {command} --help')")


def test_corpus_from_the_environment_and_bad_settings(seeds_dir: Path) -> None:
    result = run("check", env={"FEEDS_CORPUS": str(seeds_dir)})
    assert f"{seeds_dir}/{SEED_002}:1:" in result.stdout
    assert result.stderr == ""  # the corpus is configured: no word of the sample
    bad = run("check", str(seeds_dir), env={"FEEDS_FEED_LIMIT": "lots"})
    assert bad.exit_code == 2
    assert log_messages(bad.stderr) == ["FEEDS_FEED_LIMIT: must be a whole number, got 'lots'"]


def test_corpus_from_pyproject_in_the_current_folder(seeds_dir: Path) -> None:
    Path("pyproject.toml").write_text(f'[tool.feeds]\ncorpus = "{seeds_dir}"\n', encoding="utf-8")
    result = run("topics")
    assert result.exit_code == 0
    assert "ai-ethics" in result.stdout


# -- topics -------------------------------------------------------------------------------


def test_topics_lists_ai_and_ai_ethics_with_one_published_item_each(seeds_dir: Path) -> None:
    result = run("topics", str(seeds_dir))
    assert result.exit_code == 0
    assert lines(result.stdout) == [
        "SLUG       ITEMS  NAME",
        "ai             1  AI",
        "ai-ethics      1  AI Ethics",
    ]
    assert log_messages(result.stderr) == ["1 of 5 files rejected; 'feeds check' tells why"]


def test_topics_counts_published_items_and_keeps_colliding_names_apart(write_corpus: CorpusWriter) -> None:
    root = write_corpus(
        {
            "1.txt": item_text(minimal_item(1), topics=["Россия", "AI"]),
            "2.txt": item_text(minimal_item(2), topics=["россия", "C++"]),
            "3.txt": item_text(minimal_item(3), topics=["C#"]),
            "4.txt": item_text(minimal_item(4), topics=["Hidden"], published=False),
        }
    )
    result = run("topics", str(root))
    assert result.exit_code == 0 and result.stderr == ""
    out = lines(result.stdout)
    assert out[0].split() == ["SLUG", "ITEMS", "NAME"]
    rows = [line.split(maxsplit=2) for line in out[1:]]
    by_name = {name: (slug, int(count)) for slug, count, name in rows}
    assert by_name["Россия"] == ("rossiya", 2)
    assert by_name["AI"] == ("ai", 1)
    assert by_name["C#"] == ("c", 1)
    assert by_name["C++"][0].startswith("c-") and by_name["C++"][1] == 1
    assert "Hidden" not in by_name
    assert [row[0] for row in rows] == sorted(row[0] for row in rows)


def test_topics_of_a_corpus_without_topics(write_corpus: CorpusWriter) -> None:
    root = write_corpus({"a.txt": item_text(topics=None)})
    result = run("topics", str(root))
    assert result.exit_code == 0
    assert lines(result.stdout) == ["SLUG  ITEMS  NAME"]


# -- help ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ((), ["check", "topics", "CORPUS"]),
        (("check",), ["Usage: main check [OPTIONS] [CORPUS]", "status 1", "path:line: message", "130"]),
        (("topics",), ["Usage: main topics [OPTIONS] [CORPUS]", "slug", "published"]),
    ],
)
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help(args: tuple[str, ...], words: list[str], flag: str) -> None:
    result = run(*args, flag)
    assert result.exit_code == 0
    for word in words:
        assert word in result.stdout


# -- real processes -----------------------------------------------------------------------


def feeds(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("FEEDS_")}
    return subprocess.run(
        [sys.executable, "-m", "feeds", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def test_feeds_check_seeds_as_a_process() -> None:
    result = feeds("check", "seeds")
    assert result.returncode == 1
    assert result.stderr == ""
    assert lines(result.stdout) == [
        f"seeds/{SEED_002}:1: no front matter: the file must start with a '---' line",
        NO_CONFIG,
        SEEDS_SUMMARY,
    ]


def test_feeds_topics_seeds_as_a_process() -> None:
    result = feeds("topics", "seeds")
    assert result.returncode == 0
    assert result.stdout == "SLUG       ITEMS  NAME\nai             1  AI\nai-ethics      1  AI Ethics\n"


def test_feeds_check_of_hostile_files_as_a_process_never_shows_a_traceback() -> None:
    result = feeds("check", str(BAD))
    assert result.returncode == 1
    assert result.stderr == ""
    expected = sum(len(fixture.read_text().splitlines()) for fixture in BAD.glob("*.expected"))
    assert len(result.stdout.splitlines()) == expected + 2


def test_every_option_of_every_command_has_help_and_shows_its_default() -> None:
    for name, command in main.commands.items():
        context = click.Context(command, info_name=name)
        for param in command.params:
            if not isinstance(param, click.Option) or param.name == "help":
                continue
            flag = param.opts[-1]
            assert param.help, f"feeds {name} {flag} has no help"
            if not param.is_flag:
                shown = param.get_help_record(context)
                assert shown and ("[default:" in shown[1] or param.show_default), f"feeds {name} {flag}"
        shown_names = {opt for param in command.params for opt in getattr(param, "opts", [])}
        assert {"-q", "-v", "--config", "--log-level", "--log-format"} <= shown_names, name


def test_help_names_the_types_and_the_short_flags() -> None:
    serve = run("serve", "--help").stdout
    for text in (
        "-p, --port INTEGER RANGE",
        "--base-url URL",
        "--config PATH",
        "[auto|notify|poll]",
        "-q, --quiet",
    ):
        assert text in serve, text
    export = run("export", "--help").stdout
    assert "--max-deletes N|SHARE%" in export and "[default: 50%]" in export
