"""The quick URL check agrees with the one by urlsplit."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from feeds.corpus import _url_problem, _url_problem_parsed

_parts = st.lists(
    st.sampled_from(
        [
            "http",
            "https",
            "HTTP",
            "ftp",
            "javascript",
            ":",
            "//",
            "/",
            "a",
            "b.c",
            "-",
            "_",
            "~",
            "@",
            "[",
            "]",
            "::1",
            ":80",
            ":99999",
            ":0",
            "?",
            "#",
            "%20",
            " ",
            "\t",
            "\x7f",
            "é",
            "x" * 3,
            ".",
        ]
    ),  # fmt: skip
    max_size=12,
)


@settings(max_examples=3000, deadline=None)
@given(_parts)
@example(["https", "://", "a", ":", "/"])
def test_quick_and_parsed_checks_agree(parts: list[str]) -> None:
    url = "".join(parts)
    assert _url_problem(url) == _url_problem_parsed(url), url
