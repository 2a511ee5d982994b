"""Safe to run unattended: each operator mistake as a user makes it, with the ``feeds``
command in a child process. Every refusal is one line on stderr with its exit status, no
traceback, and leaves the site and the corpus byte for byte as they were."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from feeds.export import MANIFEST
from tests.conftest import SEEDS, CorpusWriter, Lock, item_text, log_messages, minimal_item
from tests.test_export_kill import big_corpus, parse, read_all
from tests.test_serve_process import free_port, serving

BASE = ("--base-url", "https://news.example/")
BOUND = ["--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-dac_override,-dac_read_search"]


def bound_by_permissions() -> list[str]:
    """The start of a command line that runs a program bound by file permissions, which
    root is not: as root, without the capabilities that override them (setpriv, of
    util-linux); as anyone else, as is."""
    return ["setpriv", *BOUND, "--"] if os.geteuid() == 0 else []


def feeds_argv(*args: str | Path, unprivileged: bool = False) -> list[str]:
    return [*(bound_by_permissions() if unprivileged else []), sys.executable, "-m", "feeds", *map(str, args)]


def child_environ(env: dict[str, str] | None = None) -> dict[str, str]:
    environ = {name: value for name, value in os.environ.items() if not name.startswith("FEEDS_")}
    return environ | {"PYTHONUTF8": "1", "PYTHONUNBUFFERED": "1"} | (env or {})


def feeds(
    *args: str | Path, cwd: Path, env: dict[str, str] | None = None, unprivileged: bool = False
) -> subprocess.CompletedProcess[str]:
    """``feeds ARGS`` as a user runs it; ``unprivileged``: bound by file permissions."""
    return subprocess.run(
        feeds_argv(*args, unprivileged=unprivileged),
        cwd=cwd,
        env=child_environ(env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def refused(result: subprocess.CompletedProcess[str], status: int = 2) -> str:
    """The one line a refusal gives, checked: its status, no traceback, nothing else logged
    but warnings."""
    assert result.returncode == status, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    errors = log_messages(result.stderr, "ERROR")
    assert len(errors) == 1, result.stderr
    return errors[0]


def tree(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` with its bytes (missing: empty)."""
    if not folder.exists():
        return {}
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def news(write_corpus: CorpusWriter) -> Path:
    """A corpus of three published items in two topics."""
    return write_corpus(
        {
            "a.txt": item_text(minimal_item(1), topics=["Alpha"]),
            "b.txt": item_text(minimal_item(2), topics=["Alpha", "Beta"]),
            "c.txt": item_text(minimal_item(3), topics=["Beta"]),
        }
    )


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """The current folder of a command: no configuration in it or above it."""
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


# -- 1. no guessing about folders ------------------------------------------------------


def test_export_with_the_output_forgotten_refuses_to_write_into_the_corpus(news: Path, work: Path) -> None:
    before = tree(news)
    line = refused(feeds("export", news, cwd=work))
    assert line.startswith(f"refusing to export into {news}: it holds item files")
    assert tree(news) == before


def test_export_into_any_folder_of_item_files_is_refused(
    news: Path, write_corpus: CorpusWriter, work: Path
) -> None:
    other = write_corpus({"deep/story.md": item_text(minimal_item(7))})
    before = tree(other)
    line = refused(feeds("export", news, other, *BASE, cwd=work))
    assert line == (
        f"refusing to export into {other}: it holds item files ({other}/deep/story.md), like a corpus;"
        " give CORPUS and OUT, or an empty folder"
    )
    assert tree(other) == before


def test_export_into_a_folder_above_the_corpus_is_refused(news: Path, work: Path) -> None:
    before = tree(news.parent)
    line = refused(feeds("export", news, news.parent, *BASE, cwd=work))
    assert line == f"refusing to export into {news.parent}: the corpus {news} is inside it"
    assert tree(news.parent) == before


def test_a_user_text_file_in_out_is_no_item_file(news: Path, tmp_path: Path, work: Path) -> None:
    out = tmp_path / "site"
    out.mkdir()
    (out / "robots.txt").write_text("User-agent: *\n")
    result = feeds("export", news, out, *BASE, cwd=work)
    assert result.returncode == 0, result.stderr
    assert (out / "robots.txt").read_text() == "User-agent: *\n" and (out / "index.html").is_file()


def test_one_argument_is_the_output_and_the_sample_is_named_on_stderr(tmp_path: Path, work: Path) -> None:
    result = feeds("export", tmp_path / "site", *BASE, cwd=work)
    assert result.returncode == 0, result.stderr
    assert log_messages(result.stderr) == [
        f"no corpus given or configured: using the bundled sample, {SEEDS} (give CORPUS, or set corpus)",
        f"{SEEDS}/002_7afdc6dd96035df6.txt:1: no front matter: the file must start with a '---' line",
    ]
    assert result.stdout.splitlines() == ["26 written, 0 unchanged, 0 removed, 1 bad files skipped"]


def test_one_argument_is_the_output_of_the_configured_corpus(news: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.feeds]\ncorpus = "{news.name}"\nbase_url = "https://news.example/"\n'
    )
    result = feeds("export", site, cwd=tmp_path)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert b"Story 2" in (site / "feeds/alpha.rss").read_bytes()


# -- 2. never wipe a site by accident --------------------------------------------------


def test_the_manifest_records_the_corpus_and_another_corpus_is_refused(
    news: Path, write_corpus: CorpusWriter, tmp_path: Path, work: Path
) -> None:
    site = tmp_path / "site"
    assert feeds("export", news, site, *BASE, cwd=work).returncode == 0
    manifest = json.loads((site / MANIFEST).read_bytes())
    assert manifest["corpus"] == str(news.resolve()) and manifest["items"] == 3
    before = tree(site)

    # The sample, by a forgotten argument, over the real site.
    line = refused(feeds("export", site, *BASE, cwd=work))
    assert line == (
        f"refusing to export into {site}: it was exported from another corpus, {news}"
        " (--force exports over it)"
    )
    assert tree(site) == before
    other = write_corpus({"x.txt": item_text(minimal_item(9), topics=["Alpha"])})
    refused(feeds("export", other, site, *BASE, cwd=work))
    assert tree(site) == before

    forced = feeds("export", other, site, *BASE, "--force", cwd=work)
    assert forced.returncode == 0, forced.stderr
    assert json.loads((site / MANIFEST).read_bytes())["corpus"] == str(other.resolve())


def test_an_empty_corpus_over_a_live_site_is_refused(news: Path, tmp_path: Path, work: Path) -> None:
    site = tmp_path / "site"
    assert feeds("export", news, site, *BASE, cwd=work).returncode == 0
    before = tree(site)
    for name in os.listdir(news):  # an unmounted disk, a failed checkout
        (news / name).unlink()
    line = refused(feeds("export", news, site, *BASE, cwd=work))
    assert line == (
        f"refusing to export into {site}: the corpus publishes no item, and the site has 3"
        " (an empty or unmounted folder?); --force exports it"
    )
    assert tree(site) == before
    assert feeds("export", news, site, *BASE, "--force", cwd=work).returncode == 0
    assert not (site / "feeds/alpha.rss").exists()


def test_removing_more_than_half_of_the_last_export_is_refused(
    news: Path, tmp_path: Path, work: Path
) -> None:
    site = tmp_path / "site"
    first = feeds("export", news, site, *BASE, cwd=work)
    assert first.returncode == 0
    files = len(json.loads((site / MANIFEST).read_bytes())["files"])
    for name, number in (("a.txt", 1), ("b.txt", 2)):  # Alpha's 8 documents go (and "hot"'s)
        (news / name).write_text(item_text(minimal_item(number), topics=["Beta"]))
    before, corpus = tree(site), tree(news)
    line = refused(feeds("export", news, site, *BASE, "--max-deletes", "2", cwd=work))
    assert line == (
        f"refusing to export into {site}: it would remove 8 of the {files} files of the last export,"
        " over max_deletes (2 files); --force or a higher max_deletes allows it"
    )
    assert tree(site) == before and tree(news) == corpus
    allowed = feeds("export", news, site, *BASE, cwd=work, env={"FEEDS_MAX_DELETES": "8"})
    assert allowed.returncode == 0, allowed.stderr
    assert not (site / "feeds/alpha.rss").exists()


def test_by_default_an_export_may_remove_half_of_its_files_and_no_more(
    write_corpus: CorpusWriter, tmp_path: Path, work: Path
) -> None:
    corpus = write_corpus({f"{n}.txt": item_text(minimal_item(n), topics=[f"T{n}"]) for n in range(6)})
    site = tmp_path / "site"
    assert feeds("export", corpus, site, *BASE, cwd=work).returncode == 0
    for n in range(1, 6):  # five of six topics go: far more than half of the files
        (corpus / f"{n}.txt").write_text(item_text(minimal_item(n), topics=["T0"]))
    before = tree(site)
    assert "over max_deletes (50% of them)" in refused(feeds("export", corpus, site, *BASE, cwd=work))
    assert tree(site) == before


# -- 3. the configuration is found wherever the command runs -------------------------------


def test_config_is_found_upwards_and_its_paths_are_relative_to_it(news: Path, tmp_path: Path) -> None:
    config = tmp_path / "pyproject.toml"
    config.write_text(f'[tool.feeds]\ncorpus = "{news.name}"\nsite_title = "Upwards"\n')
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    result = feeds("check", cwd=deep)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-2:] == [
        f"configuration: {config}",
        "3 files, 3 items, 3 published, 0 rejected, 2 topics",
    ]
    assert result.stderr == ""  # no word of the sample: the corpus is configured


@pytest.mark.parametrize("how", ["--config", "FEEDS_CONFIG"])
def test_cron_in_another_folder_uses_the_named_configuration(
    how: str, news: Path, tmp_path: Path, work: Path
) -> None:
    config = tmp_path / "etc" / "feeds.toml"  # any TOML file: its top-level keys are the settings
    config.parent.mkdir()
    config.write_text(f'corpus = "../{news.name}"\nbase_url = "https://news.example/"\n')
    site = tmp_path / "site"
    args, env = (["--config", str(config)], {}) if how == "--config" else ([], {"FEEDS_CONFIG": str(config)})
    result = feeds("export", site, *args, cwd=work, env=env)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert b"https://news.example/feeds/alpha.rss" in (site / "feeds/alpha.rss").read_bytes()
    for command in ("check", "topics"):
        result = feeds(command, *args, cwd=work, env=env)
        assert "Alpha" in result.stdout or "3 published" in result.stdout, result.stdout


def test_a_named_configuration_that_is_missing_is_refused(work: Path, tmp_path: Path) -> None:
    line = refused(feeds("check", "--config", tmp_path / "absent.toml", cwd=work))
    assert line == f"--config: no configuration file at {tmp_path / 'absent.toml'}"
    line = refused(feeds("topics", cwd=work, env={"FEEDS_CONFIG": str(tmp_path / "absent.toml")}))
    assert line == f"FEEDS_CONFIG: no configuration file at {tmp_path / 'absent.toml'}"


def test_the_serve_banner_names_the_configuration(news: Path, tmp_path: Path) -> None:
    config = tmp_path / "pyproject.toml"
    config.write_text(f'[tool.feeds]\ncorpus = "{news.name}"\n')
    with serving([], cwd=tmp_path) as server:
        assert f"  config {config}\n" in server.stdout


def test_a_mistyped_variable_is_a_warning_with_a_did_you_mean(news: Path, work: Path) -> None:
    result = feeds("check", news, cwd=work, env={"FEEDS_BASE_ULR": "https://x.example/"})
    assert result.returncode == 0
    assert log_messages(result.stderr, "WARNING") == [
        "FEEDS_BASE_ULR is not a setting of feeds; ignored; did you mean FEEDS_BASE_URL?"
    ]


# -- 4. one line, never a traceback ------------------------------------------------------


def test_an_unreadable_corpus_is_one_line_in_every_command(news: Path, tmp_path: Path, lock: Lock) -> None:
    lock(news, 0o000)
    for args in (["check", news], ["topics", news], ["export", news, tmp_path / "site", *BASE]):
        line = refused(feeds(*args, cwd=tmp_path, unprivileged=True))
        assert line == f"cannot read the corpus folder {news}: Permission denied", args
    result = feeds("serve", news, "--port", str(free_port()), cwd=tmp_path, unprivileged=True)
    assert refused(result) == f"cannot read the corpus folder {news}: Permission denied"
    assert result.stdout == ""  # no banner
    assert not (tmp_path / "site").exists()


def test_a_corpus_under_a_folder_it_may_not_enter_is_one_line(news: Path, tmp_path: Path, lock: Lock) -> None:
    inner = news / "inner"
    inner.mkdir()
    lock(news, 0o000)
    serve = ["serve", inner, "--port", str(free_port())]
    for args in (["check", inner], ["export", inner, tmp_path / "site", *BASE], serve):
        line = refused(feeds(*args, cwd=tmp_path, unprivileged=True))
        assert line == f"cannot read the corpus folder {inner}: Permission denied", args


def test_an_unreadable_subfolder_is_named_and_counted(news: Path, tmp_path: Path, lock: Lock) -> None:
    (news / "closed").mkdir()
    (news / "closed" / "d.txt").write_text(item_text(minimal_item(4)))
    lock(news / "closed", 0o000)
    result = feeds("check", news, cwd=tmp_path, unprivileged=True)
    assert result.returncode == 1, result.stderr
    assert result.stderr == ""
    out = result.stdout.splitlines()
    assert f"{news}/closed: cannot read this folder: Permission denied" in out
    assert out[-1] == "4 files, 3 items, 3 published, 1 rejected, 2 topics"


def test_an_output_folder_it_cannot_write_is_one_line(news: Path, tmp_path: Path, lock: Lock) -> None:
    site = tmp_path / "site"
    site.mkdir()
    lock(site, 0o555)
    result = feeds("export", news, site, *BASE, cwd=tmp_path, unprivileged=True)
    assert refused(result) == f"cannot write into {site}: Permission denied"
    assert result.stdout == "" and os.listdir(site) == []


def test_an_index_cache_it_cannot_create_falls_back_to_a_temporary_one(
    news: Path, tmp_path: Path, lock: Lock
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    lock(home, 0o555)  # a service user's HOME, not its to write
    env = {"HOME": str(home), "XDG_CACHE_HOME": ""}
    result = feeds("export", news, tmp_path / "site", *BASE, cwd=tmp_path, env=env, unprivileged=True)
    assert result.returncode == 0, result.stderr
    assert log_messages(result.stderr) == [
        f"cannot write the index cache in {home}/.cache/feeds (Permission denied); using a temporary index"
        " for this run (set FEEDS_INDEX to a file this user may write, to keep it)"
    ]
    assert (tmp_path / "site/feeds/alpha.rss").is_file()
    env |= {"FEEDS_INDEX": str(home / "i.sqlite3")}
    line = refused(feeds("check", news, cwd=tmp_path, env=env, unprivileged=True))
    assert line.startswith(f"cannot open the index {home}/i.sqlite3: ")
    assert line.endswith("(set FEEDS_INDEX to a file this user may write, or to memory)")


OK = b"HTTP/1.1 200"


def test_serve_with_a_home_it_cannot_write_serves_from_a_temporary_index(
    news: Path, tmp_path: Path, lock: Lock
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    lock(home, 0o555)
    port = free_port()
    process = subprocess.Popen(
        feeds_argv("serve", news, "--port", str(port), unprivileged=True),
        cwd=tmp_path,
        env=child_environ({"HOME": str(home), "XDG_CACHE_HOME": ""}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        answer = b""
        deadline = time.monotonic() + 30
        while (
            process.poll() is None and time.monotonic() < deadline and not answer.startswith(b"HTTP/1.1 200")
        ):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2) as connection:
                    connection.sendall(
                        b"GET /feeds/alpha.rss HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                    )
                    answer = connection.recv(100)
            except OSError:
                time.sleep(0.2)
    finally:
        os.killpg(process.pid, signal.SIGINT)
        _, stderr = process.communicate(timeout=20)
    assert answer.startswith(OK), stderr
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert any("using a temporary index for this run" in line for line in log_messages(stderr, "WARNING"))


def test_a_port_in_use_is_refused_before_the_banner(news: Path, work: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = feeds("serve", news, "--port", str(port), cwd=work)
    assert refused(result) == f"cannot listen on 127.0.0.1:{port}: Address already in use"
    assert result.stdout == ""


def test_a_base_url_with_credentials_is_refused(news: Path, tmp_path: Path, work: Path) -> None:
    for args in (["export", news, tmp_path / "site"], ["serve", news, "--port", str(free_port())]):
        result = feeds(*args, "--base-url", "https://user:secret@news.example/", cwd=work)
        line = refused(result)
        assert (
            line == "--base-url: must not hold a user name or password (it would be published in every feed)"
        )
        assert "secret" not in result.stdout
    assert not (tmp_path / "site").exists()


def test_a_local_base_url_is_a_warning_on_export_and_on_serve_bound_to_all(
    news: Path, tmp_path: Path
) -> None:
    result = feeds("export", news, tmp_path / "site", cwd=tmp_path)
    assert result.returncode == 0
    assert log_messages(result.stderr, "WARNING") == [
        "the feeds will link to http://127.0.0.1:8000/, a local address no reader elsewhere can reach;"
        " set base_url (--base-url, FEEDS_BASE_URL) to where OUT is published"
    ]
    with serving([str(news)], cwd=tmp_path) as server:
        pass
    assert not any("local address" in line for line in server.stderr)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "feeds", "serve", str(news), "--host", "0.0.0.0", "--port", str(port)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env={name: value for name, value in os.environ.items() if not name.startswith("FEEDS_")},
    )
    time.sleep(3)
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=20)
    assert (
        "listening on 0.0.0.0, but the feeds link to a local address; set base_url to the address"
        " readers use (--base-url, FEEDS_BASE_URL)"
    ) in log_messages(stderr, "WARNING")


def test_ctrl_c_during_an_export_exits_130_and_leaves_every_file_whole(
    write_corpus: CorpusWriter, tmp_path: Path, work: Path
) -> None:
    corpus = big_corpus(write_corpus)
    site = tmp_path / "site"
    first = feeds("export", corpus, site, "--base-url", "http://a.test/", cwd=work)
    assert first.returncode == 0
    old = read_all(site)
    environ = {name: value for name, value in os.environ.items() if not name.startswith("FEEDS_")}
    listed = (site / MANIFEST).stat().st_ino
    process = subprocess.Popen(
        [sys.executable, "-m", "feeds", "export", str(corpus), str(site), "--base-url", "http://b.test/"],
        cwd=work,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Ctrl-C once the round has begun: the export lists what it will write before it renders.
    deadline = time.monotonic() + 30
    while process.poll() is None and (site / MANIFEST).stat().st_ino == listed:
        assert time.monotonic() < deadline, "the export never began its round"
        time.sleep(0.002)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    if process.returncode == 0:
        pytest.skip("the export finished before Ctrl-C came")  # a very fast machine
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "Aborted" not in stderr
    assert log_messages(stderr, "ERROR") == ["interrupted; every file is as it was or whole and new"]
    for name, data in read_all(site).items():
        if name.rsplit("/", 1)[-1].startswith("."):
            continue  # a temporary file the next export removes
        assert name in old, name
        parse(name, data)


# -- 5. made for CI and scripts ------------------------------------------------------------


def test_check_reports_every_problem_of_every_file(write_corpus: CorpusWriter, work: Path) -> None:
    corpus = write_corpus(
        {
            "bad.txt": item_text(minimal_item(1), heat="hot", quality=-3, published="yes", colour="red"),
            "worse.txt": item_text({"title": "No link", "publishedDateTime": "soon"}),
        }
    )
    result = feeds("check", corpus, cwd=work)
    assert result.returncode == 1
    assert result.stdout.splitlines()[:-2] == [
        f"{corpus}/bad.txt:6: published must be true or false, got text 'yes'",
        f"{corpus}/bad.txt:7: heat must be a whole number, got text 'hot'",
        f"{corpus}/bad.txt:8: quality must be at least 0, got -3",
        f"{corpus}/bad.txt:11: warning: unknown key 'colour' ignored",
        f"{corpus}/worse.txt:2: missing link: give originalUrl or webUrl",
        f"{corpus}/worse.txt:3: publishedDateTime cannot be read as a date: 'soon'; use ISO 8601,"
        " like 2023-02-03T12:51:00Z",
    ]
    assert result.stdout.splitlines()[-1] == "2 files, 0 items, 0 published, 2 rejected, 0 topics"


def test_check_json_is_one_report_with_fields_and_totals(write_corpus: CorpusWriter, work: Path) -> None:
    corpus = write_corpus(
        {
            "bad.txt": item_text(minimal_item(1), heat="hot", quality=-3),
            "good.txt": item_text(minimal_item(2)),
            "plain.txt": "no front matter\n",
        }
    )
    result = feeds("check", corpus, "--json", cwd=work)
    assert result.returncode == 1 and result.stderr == ""
    report = json.loads(result.stdout)
    assert report["corpus"] == str(corpus) and report["configuration"] is None
    assert report["files"] == [
        {
            "path": f"{corpus}/bad.txt",
            "problems": [
                {
                    "line": 7,
                    "field": "heat",
                    "severity": "error",
                    "message": "heat must be a whole number, got text 'hot'",
                },
                {
                    "line": 8,
                    "field": "quality",
                    "severity": "error",
                    "message": "quality must be at least 0, got -3",
                },
            ],
        },
        {
            "path": f"{corpus}/plain.txt",
            "problems": [
                {
                    "line": 1,
                    "field": None,
                    "severity": "error",
                    "message": "no front matter: the file must start with a '---' line",
                }
            ],
        },
    ]
    assert report["totals"] == {
        "files": 3, "items": 1, "published": 1, "rejected": 2, "errors": 3, "warnings": 0, "topics": 1,
        "told": 0, "stories": 0,
    }  # fmt: skip


def test_exit_statuses_are_in_the_help(work: Path) -> None:
    for args in ([], ["export"], ["check"], ["serve"], ["topics"]):
        result = feeds(*args, "--help", cwd=work)
        assert result.returncode == 0
        for line in (
            "0    fine",
            "1    problems found",
            "2    a usage, configuration or safety refusal",
            "130  interrupted",
        ):
            assert line in result.stdout, (args, line)


def test_export_strict_writes_nothing_when_a_file_is_bad(news: Path, tmp_path: Path, work: Path) -> None:
    site = tmp_path / "site"
    assert feeds("export", news, site, *BASE, cwd=work).returncode == 0
    before = tree(site)
    (news / "a.txt").write_text(item_text(minimal_item(1), topics=["Gamma"]))  # a change...
    (news / "broken.txt").write_text("---\ntitle: [\n---\n")  # ...and a bad file
    result = feeds("export", news, site, *BASE, "--strict", cwd=work)
    assert refused(result, status=1) == "1 bad files in the corpus; nothing exported (--strict)"
    assert tree(site) == before
    assert result.stdout == ""
    (news / "broken.txt").unlink()
    assert feeds("export", news, site, *BASE, "--strict", cwd=work).returncode == 0
    assert (site / "feeds/gamma.rss").is_file()


def test_stdout_holds_only_the_result(news: Path, tmp_path: Path, work: Path) -> None:
    (news / "odd.txt").write_text(item_text(minimal_item(4), colour="blue"))
    result = feeds("export", news, tmp_path / "site", cwd=work)
    [line] = result.stdout.splitlines()
    assert re.fullmatch(r"\d+ written, 0 unchanged, 0 removed, 0 bad files skipped", line)
    assert len(log_messages(result.stderr, "WARNING")) == 2  # the local base URL, the unknown key


# -- 6. one log format -----------------------------------------------------------------------


def test_json_logs_are_one_object_a_line_from_every_part(news: Path, tmp_path: Path, work: Path) -> None:
    (news / "plain.txt").write_text("no front matter\n")
    result = feeds("export", news, tmp_path / "site", cwd=work, env={"FEEDS_LOG_FORMAT": "json"})
    entries = [json.loads(line) for line in result.stderr.splitlines()]
    assert [entry["level"] for entry in entries] == ["warning", "error"]
    assert all(set(entry) == {"time", "level", "logger", "message"} for entry in entries)
    assert entries[1]["message"].endswith(
        "plain.txt:1: no front matter: the file must start with a '---' line"
    )

    with serving([str(news), "--log-format", "json", "--watch-interval", "0.2"], cwd=tmp_path) as server:
        assert server.fetch("/feeds/alpha.rss")[0] == 200
        (news / "d.txt").write_text(item_text(minimal_item(5), topics=["Alpha"]))
        deadline = time.monotonic() + 10
        while b"Story 5" not in server.fetch("/feeds/alpha.rss")[2] and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
        os.killpg(server.process.pid, signal.SIGINT)
        server.process.wait(20)
    time.sleep(0.2)
    lines = [line for line in "".join(server.stderr).splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line, gunicorn's included
    loggers = {entry["logger"] for entry in entries}
    assert {"gunicorn.error", "gunicorn.access"} <= loggers, loggers
    assert any(entry["message"].startswith("Booting worker") for entry in entries)
    changed = [entry for entry in entries if entry["message"].startswith("corpus changed")]
    assert len(changed) == 1, changed  # once, not once a worker


def test_log_level_leaves_out_what_is_below_it(news: Path, tmp_path: Path, work: Path) -> None:
    quiet = feeds("export", news, tmp_path / "site", "--log-level", "error", cwd=work)
    assert quiet.returncode == 0 and quiet.stderr == ""
    chatty = feeds("export", news, tmp_path / "site2", cwd=work, env={"FEEDS_LOG_LEVEL": "warning"})
    assert len(log_messages(chatty.stderr, "WARNING")) == 1
