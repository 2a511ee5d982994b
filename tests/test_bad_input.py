"""The corpus is not trusted: every bad file gives one ``path:line: message`` and is left out.

Each case is a fixture pair in ``tests/data/bad``: ``<name>.txt`` and ``<name>.expected``,
the exact lines ``feeds check`` prints for it, with paths relative to that folder.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from feeds import corpus
from feeds.corpus import MAX_DEPTH, MAX_FILE_BYTES, Corpus, frontmatter, load_corpus
from feeds.errors import ItemError

from .conftest import CorpusWriter, item_text

BAD = Path(__file__).resolve().parent / "data" / "bad"
FIXTURES = sorted(path for path in BAD.iterdir() if path.suffix in {".txt", ".md"})


def relative_lines(loaded: Corpus, root: Path) -> dict[str, list[str]]:
    """Every problem as printed, with ``root/`` cut from the path, by file name."""
    lines: dict[str, list[str]] = {}
    for problem in loaded.problems:
        name = problem.path.relative_to(root).as_posix()
        lines.setdefault(name, []).append(str(problem).replace(f"{root}/", "", 1))
    return lines


def with_lines(text: str, *lines: str) -> str:
    """An item file from ``item_text`` with raw front matter ``lines`` added at its end."""
    return text.replace("---\n\n", "".join(f"{line}\n" for line in lines) + "---\n\n", 1)


def expected_lines(fixture: Path) -> list[str]:
    return fixture.with_suffix(".expected").read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="module")
def bad_corpus() -> Corpus:
    return load_corpus(BAD)


def test_every_fixture_has_its_expected_message_and_no_stray_ones() -> None:
    expected = {path.with_suffix("").name for path in BAD.glob("*.expected")}
    assert expected == {path.with_suffix("").name for path in FIXTURES}
    assert len(FIXTURES) >= 20


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda path: path.stem)
def test_bad_file_gives_exactly_its_message(fixture: Path, bad_corpus: Corpus) -> None:
    assert relative_lines(bad_corpus, BAD)[fixture.name] == expected_lines(fixture)


def test_every_bad_file_is_rejected_and_counted(bad_corpus: Corpus) -> None:
    assert bad_corpus.items == ()
    assert bad_corpus.files == len(FIXTURES)
    assert bad_corpus.rejected == len(FIXTURES)
    for problem in bad_corpus.problems:
        assert "\n" not in str(problem)
        assert not problem.warning


def test_bad_files_do_not_stop_a_good_one(write_corpus: CorpusWriter) -> None:
    files: dict[str, str | bytes] = {path.name: path.read_bytes() for path in FIXTURES}
    files["zz_good.txt"] = item_text()
    files["00_good.txt"] = item_text(webUrl="https://news.example/other")
    root = write_corpus(files)
    loaded = load_corpus(root)
    assert [item.source for item in loaded.items] == ["00_good.txt", "zz_good.txt"]
    assert loaded.rejected == len(FIXTURES)
    # The messages do not depend on the folder the files are in.
    assert {name: lines for name, lines in relative_lines(loaded, root).items()} == {
        path.name: expected_lines(path) for path in FIXTURES
    }


def test_pure_python_yaml_gives_the_same_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without libyaml the reader falls back to PyYAML's own loader, as safely."""
    monkeypatch.setattr(frontmatter, "_Loader", yaml.SafeLoader)
    lines = relative_lines(load_corpus(BAD), BAD)
    for fixture in FIXTURES:
        if fixture.stem == "yaml_syntax_error":
            # The two parsers word this one differently ("here" / "in this context").
            assert lines[fixture.name][0].startswith("yaml_syntax_error.txt:2: YAML syntax error: mapping")
        else:
            assert lines[fixture.name] == expected_lines(fixture), fixture.name


def test_alias_bomb_is_refused_not_expanded() -> None:
    """Nine levels of nine aliases expand to 9**9 strings; the anchor alone refuses it."""
    text = (BAD / "alias_bomb.txt").read_text(encoding="utf-8")
    assert text.count("*") == 8 * 9
    item = corpus.read_item_file(BAD / "alias_bomb.txt", BAD)
    assert item.item is None
    assert item.problems[0].message == "YAML anchors and aliases (&name, *name) are not allowed"
    assert item.problems[0].line == 6  # the first anchor, before any alias is read


def test_a_single_alias_is_refused_too(write_corpus: CorpusWriter) -> None:
    root = write_corpus({"a.txt": with_lines(item_text(), "excerpt: *nothing")})
    (problem,) = load_corpus(root).problems
    assert problem.message.startswith("YAML anchors and aliases")


@pytest.mark.parametrize("tag", ["!!python/name:os.system", "!!binary aGVsbG8=", "!custom x", "!!set {a}"])
def test_tags_other_than_plain_types_are_refused(tag: str, write_corpus: CorpusWriter) -> None:
    root = write_corpus({"a.txt": with_lines(item_text(), f"category: {tag}")})
    (problem,) = load_corpus(root).problems
    assert "is not allowed; write plain values" in problem.message
    assert not problem.warning


def test_plain_type_tags_are_allowed(write_corpus: CorpusWriter) -> None:
    root = write_corpus({"a.txt": with_lines(item_text(), "category: !!str 2024")})
    loaded = load_corpus(root)
    assert loaded.problems == ()
    assert loaded.items[0].category == "2024"


def test_file_over_the_size_bound_is_rejected_unread(write_corpus: CorpusWriter) -> None:
    text = item_text(body="x")
    at_bound = text + "x" * (MAX_FILE_BYTES - len(text.encode()))
    root = write_corpus({"at_bound.txt": at_bound, "over_bound.txt": at_bound + "x"})
    assert (root / "at_bound.txt").stat().st_size == MAX_FILE_BYTES
    loaded = load_corpus(root)
    assert [item.source for item in loaded.items] == ["at_bound.txt"]
    assert [str(p).replace(f"{root}/", "") for p in loaded.problems] == [
        "over_bound.txt: file is 1,048,577 bytes, over the limit of 1,048,576"
    ]


# Deep nesting: libyaml's composer recurses once per level in C and crashes the whole
# process (SIGSEGV) at some ten to thirty thousand flow levels; its scanner is also
# quadratic in flow depth. The reader refuses nesting from the event stream at depth 17,
# so these never reach the composer. They run in a child process so that a regression
# fails this test instead of killing the test run.
DEEP = {
    "flow_sequences.txt": "x: " + "[" * 1_000_000,
    "flow_closed.txt": "x: " + "[" * 500_000 + "]" * 500_000,
    "flow_mappings.txt": "x: " + "{a: " * 250_000,
    "block_sequences.txt": "x:\n" + "- " * 500_000 + "y",
    "block_mappings.txt": "x:\n" + "? " * 500_000 + "y",
    "indented_mappings.txt": "".join(" " * level + "a:\n" for level in range(1_400)),
}

_CHILD = """
import json, sys
from feeds.corpus import load_corpus
loaded = load_corpus(sys.argv[1])
print(json.dumps([[p.path.name, p.line, p.message] for p in loaded.problems]))
"""


def test_deep_nesting_within_the_size_bound_is_refused_before_parsing(tmp_path: Path) -> None:
    root = tmp_path / "deep"
    root.mkdir()
    for name, front in DEEP.items():
        data = f"---\n{front}\n---\n".encode()
        assert len(data) <= MAX_FILE_BYTES, name
        (root / name).write_bytes(data)
    child = subprocess.run(
        [sys.executable, "-c", _CHILD, str(root)], capture_output=True, text=True, timeout=120
    )
    assert child.returncode == 0, f"reader crashed with status {child.returncode}: {child.stderr[-2000:]}"
    found = {name: (line, message) for name, line, message in json.loads(child.stdout)}
    message = f"front matter is nested deeper than {MAX_DEPTH} levels"
    assert found == {
        "block_mappings.txt": (3, message),
        "block_sequences.txt": (3, message),
        "flow_closed.txt": (2, message),
        "flow_mappings.txt": (2, message),
        "flow_sequences.txt": (2, message),
        "indented_mappings.txt": (18, message),
    }


# Each front matter starts on line 2 of its file; the expected line is that of the first
# collection past the sixteenth level (the front matter's own mapping is the first).
NESTED_ON_A_LINE = {
    "flow sequences": ("x: " + "[" * 5_000, 2),
    "flow sequences after other keys": ("title: t\nx:\n  - a\n  - " + "[" * 5_000, 5),
    "flow mappings in sequences": ("x: [" + "{a: [" * 3_000, 2),
    "closed flow": ("a: 1\nb: 2\nx: " + "[" * 2_000 + "]" * 2_000, 4),
    "flow over lines": ("x: [\n" + " [\n" * 2_000 + " ]" * 2_001, 17),
    "flow, fifteen levels then many on the next line": ("x: " + "[" * 15 + "\n  " + "[" * 3_000, 3),
    "block sequences": ("a: 1\nx:\n" + "- " * 5_000 + "y", 4),
    "block mappings": ("x:\n" + "? " * 5_000 + "y", 3),
    "indented mappings": ("".join(" " * level + "a:\n" for level in range(1_100)), 18),
}


@pytest.mark.parametrize("loader", ["libyaml", "python"])
@pytest.mark.parametrize("case", sorted(NESTED_ON_A_LINE))
def test_deep_nesting_gets_our_message_and_line_from_any_yaml_parser(
    case: str, loader: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """libyaml 0.2.6 stops at 1,000 levels with its own message, looking ahead on a line
    before it gives the first events; the reader's refusal and its line must not depend
    on that, nor on whether libyaml is installed at all."""
    if loader == "python":
        monkeypatch.setattr(frontmatter, "_Loader", yaml.SafeLoader)
    elif not yaml.__with_libyaml__:
        pytest.skip("PyYAML is built without libyaml")
    front, line = NESTED_ON_A_LINE[case]
    with pytest.raises(ItemError) as caught:
        corpus.parse_item(f"---\n{front}\n---\n".encode(), "deep.txt")
    assert str(caught.value) == f"deep.txt:{line}: front matter is nested deeper than 16 levels"


def test_what_comes_before_deep_nesting_on_its_line_is_refused_first() -> None:
    """The scan refuses in the order of the text, even where libyaml gave up ahead of it."""
    front = "title: t\nx: [[[&a [" + "[" * 3_000
    with pytest.raises(ItemError) as caught:
        corpus.parse_item(f"---\n{front}\n---\n".encode(), "deep.txt")
    assert str(caught.value) == "deep.txt:3: YAML anchors and aliases (&name, *name) are not allowed"


def test_nesting_the_format_needs_is_accepted(write_corpus: CorpusWriter) -> None:
    """related[0].provider.images[0] is six levels deep; sixteen are allowed."""
    provider = {"name": "p", "images": [{"url": "https://x.example/i.png"}]}
    related = [{"title": "t", "webUrl": "https://x.example/", "provider": provider}]
    deep_ok = "extra: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)
    root = write_corpus(
        {
            "six.txt": item_text(related=related),
            "sixteen.txt": with_lines(item_text(webUrl="https://news.example/16"), deep_ok),
        }
    )
    loaded = load_corpus(root)
    assert [item.source for item in loaded.items] == ["six.txt", "sixteen.txt"]
    assert loaded.items[0].related[0].provider is not None
    assert loaded.items[0].related[0].provider.images[0].url == "https://x.example/i.png"
    assert [p.message for p in loaded.problems] == ["unknown key 'extra' ignored"]


def test_control_characters_in_front_matter_are_removed_not_fatal(write_corpus: CorpusWriter) -> None:
    """XML 1.0 forbids U+000B: removed, raw or escaped (raw, YAML would refuse the file).
    C1 controls are legal XML but YAML cannot hold them raw: removed too, with a warning."""
    head = "publishedDateTime: 2024-01-01T00:00:00Z\nwebUrl: https://news.example/{}\n"
    root = write_corpus(
        {
            "raw.txt": f"---\ntitle: Vertical\x0btab\n{head.format(1)}---\nBody\x0b.\n",
            "escaped.txt": f'---\ntitle: "Vertical\\vtab\\x00"\n{head.format(2)}---\n',
            "c1.txt": f"---\ntitle: Price\x80less\n{head.format(3)}---\n",
            "c1_escaped.txt": f'---\ntitle: "Price\\x80less"\n{head.format(4)}---\n',
        }
    )
    loaded = load_corpus(root)
    assert {item.source: item.title for item in loaded.items} == {
        "raw.txt": "Verticaltab",
        "escaped.txt": "Verticaltab",
        "c1.txt": "Priceless",
        "c1_escaped.txt": "Price\x80less",  # written as an escape, it is kept
    }
    assert loaded.items[-1].body == "Body."
    assert [str(p).replace(f"{root}/", "") for p in loaded.problems] == [
        "c1.txt:2: warning: control character U+0080 removed; write it as an escape in quotes if it is meant"
    ]


def test_fifo_is_rejected_without_waiting_for_a_writer(tmp_path: Path) -> None:
    import os

    if not hasattr(os, "mkfifo"):
        pytest.skip("this platform has no named pipes")
    root = tmp_path / "corpus"
    root.mkdir()
    os.mkfifo(root / "pipe.txt")
    loaded = load_corpus(root)
    assert [str(p).replace(f"{root}/", "") for p in loaded.problems] == ["pipe.txt: not a regular file"]
