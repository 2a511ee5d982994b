"""The quick URL checks agree with the ones by urlsplit and uuid."""

from __future__ import annotations

import uuid

from hypothesis import example, given, settings
from hypothesis import strategies as st

from feeds.corpus.values import canonical_url, canonical_url_parsed, item_id
from feeds.corpus.values import url_problem as _url_problem
from feeds.corpus.values import url_problem_parsed as _url_problem_parsed

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


_canonical_parts = st.lists(
    st.sampled_from(["HTTP://", "https://", "Ex.AMPLE", ".org", ":80", ":443", ":8080", ":0443", "/", "/Path",
                     "?", "?q=1", "&r=%20", "#", "#frag", "?#", "~", "-", "é", "a"]),
    max_size=8,
).map("".join)  # fmt: skip


@settings(max_examples=3000, deadline=None)
@given(_canonical_parts)
@example("https://EXAMPLE.org:0443/?#x")
def test_quick_and_parsed_canonical_urls_agree(url: str) -> None:
    if _url_problem(url) is None:
        assert canonical_url(url) == canonical_url_parsed(url), url


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_item_ids_are_the_uuid5_of_the_url(url: str) -> None:
    try:
        name = uuid.uuid5(uuid.NAMESPACE_URL, url)
    except UnicodeEncodeError:  # a lone surrogate: clean text never holds one
        return
    assert item_id(url) == f"urn:uuid:{name}"
