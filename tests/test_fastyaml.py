"""The fast front matter reader agrees with libyaml wherever it answers at all."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bench.generate import bad_file, item_file
from feeds.corpus import plain as fastyaml

from .conftest import SEEDS

_MISSING = object()


def libyaml(text: str) -> Any:
    try:
        return yaml.load(text, Loader=yaml.CSafeLoader)
    except (yaml.YAMLError, ValueError, OverflowError, TypeError):
        return _MISSING


def front_matter(text: str) -> str:
    lines = text.split("\n")
    end = lines.index("---", 1)
    return "\n".join(lines[1:end])


def assert_agrees(text: str) -> Any:
    fast = fastyaml.load(text)
    if fast is not None:
        assert fast == libyaml(text), text
        assert [type(v) for v in fast.values()] == [type(v) for v in libyaml(text).values()]
    return fast


WITH_FRONT_MATTER = [
    path for path in sorted(SEEDS.glob("*.txt")) if path.read_text(encoding="utf-8").startswith("---")
]


@pytest.mark.parametrize("path", WITH_FRONT_MATTER, ids=lambda p: p.name)
def test_seeds_are_read_fast_and_alike(path: Path) -> None:
    assert assert_agrees(front_matter(path.read_text(encoding="utf-8"))) is not None


def test_four_seeds_have_front_matter() -> None:
    assert len(WITH_FRONT_MATTER) == 4


def test_generated_items_are_read_fast_and_alike() -> None:
    import random

    fast = 0
    for number in range(300):
        rng = random.Random(number)
        text = item_file(number, rng) if number % 10 else bad_file(number, rng)
        if text.startswith("---"):
            fast += assert_agrees(front_matter(text)) is not None
    assert fast >= 250


@pytest.mark.parametrize(
    "text",
    [
        "a: [1, 2]",
        "a: 'single'",
        "a: |\n  block",
        "a: &x 1\nb: *x",
        "a: !!python/object/apply:os.system ['true']",
        "a: b # comment",
        "a: plain\n  continued",
        'a: "open\n  close"',
        "a:\n\t- tab",
        "-   a: 1\n  b: 2",
        "yes: 1",
        "a: 2023-02-30T00:00:00Z",
        "a: 2023-02-03T12:51:00+25:00",
        'a: "\\ud800"',
        "a: x\u2028y",
        "- a",
        "a: 1\n b: 2",
    ],
)
def test_unusual_yaml_is_left_to_libyaml(text: str) -> None:
    assert fastyaml.load(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: -1", {"a": -1}),
        ("a: 012", {"a": 10}),  # YAML 1.1 octal: handed to PyYAML's own constructor
        ("a: 0o17", {"a": "0o17"}),
        ("a: 1_000", {"a": 1000}),
        ("a: 1:30", {"a": 90}),
        ("a: no", {"a": False}),
        ("a: ~", {"a": None}),
        ("a:", {"a": None}),
        ("a: 1.5", {"a": 1.5}),
        ('a: "tab\\there \\"q\\" \\u00e9 \\x41 \\\\"', {"a": 'tab\there "q" é A \\'}),
        ("t:\n- x\n- y\nu: 1", {"t": ["x", "y"], "u": 1}),
        ("r:\n  - k: 1\n    m:\n      p: z\n  - k: 2", {"r": [{"k": 1, "m": {"p": "z"}}, {"k": 2}]}),
        ("# lead\na: 1\n\n  # inner\nb: C#", {"a": 1, "b": "C#"}),
    ],
)
def test_plain_yaml_is_read_as_libyaml_reads_it(text: str, expected: dict[str, Any]) -> None:
    assert libyaml(text) == expected
    assert fastyaml.load(text) == expected


_keys = st.sampled_from(["title", "heat", "a", "b", "yes", "no", "on", "null", "x_1", "Title"])
_scalars = st.one_of(
    st.text(max_size=20),
    st.sampled_from(
        [
            "-1",
            "0",
            "007",
            "1_0",
            "1.5",
            ".inf",
            "true",
            "False",
            "~",
            "null",
            "2023-02-03T12:51:00Z",
            "2023-02-03",
            "a: b",
            "a #b",
            "#c",
            "&a",
            "*a",
            "!x",
            "'q'",
            '"q"',
            "[1]",
            "{a: 1}",
            "|",
            ">",
            "- x",
            "%",
            "@",
            "`",
            "?",
            ":",
            ",",
            "<<",
            "=",
            "x\\ty",
            '"a\\"b"',
            '"\\u00e9\\ud800"',
            '"\\q"',
        ]
    ),  # fmt: skip
)
_line = st.tuples(
    st.sampled_from(["", " ", "  ", "    ", "\t"]),
    st.sampled_from(["", "- ", "-  ", "-"]),
    st.one_of(st.none(), _keys),
    st.one_of(st.none(), _scalars),
    st.sampled_from(["", "", " # c", "  "]),
)


def _render(line: tuple[str, str, str | None, str | None, str]) -> str:
    indent, dash, key, value, tail = line
    body = f"{key}:" if key is not None else ""
    if value is not None:
        body = f"{body} {value}" if key is not None else value
    return f"{indent}{dash}{body}{tail}"


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_line, min_size=1, max_size=8))
@example([("", "", "a", None, ""), ("", "- ", "b", "1", ""), ("  ", "", "c", "2", "")])
def test_fast_reader_never_disagrees_with_libyaml(
    lines: list[tuple[str, str, str | None, str | None, str]],
) -> None:  # noqa: E501
    assert_agrees("\n".join(_render(line) for line in lines))
