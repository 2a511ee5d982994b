"""The HTML we put inside feeds: the rendered body, the other tellings of a story and the
list of related stories.

Bodies are Markdown (plain text is valid Markdown) rendered with raw HTML disabled, so a
body can never inject a tag or an event handler; links other than absolute http(s) and
mailto ones stay plain text.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from html import escape

from markdown_it import MarkdownIt

from ..model import Related
from .uri import as_uri

_markdown = MarkdownIt("commonmark", {"html": False})
_SAFE_SCHEMES = ("http:", "https:", "mailto:")


def _validate_link(url: str) -> bool:
    # Relative links would resolve against the feed, not the story's site: drop them too.
    return url.lower().startswith(_SAFE_SCHEMES)


_markdown.validateLink = _validate_link  # type: ignore[method-assign]


@functools.lru_cache(maxsize=16384)
def render_body(body: str) -> str:
    """Render a Markdown body to safe HTML.

    Cached: one item is in several feeds, each in three formats, and rendering is the
    dearest part of writing a feed."""
    html: str = _markdown.render(body)
    return html


def render_related(stories: Sequence[Related]) -> str:
    """A list of links to related stories, for formats with no element of their own."""
    return _links("Related", stories)


def render_coverage(stories: Sequence[Related]) -> str:
    """A list of links to the other tellings of a collapsed story, each with its provider."""
    return _links("Also covered by", stories)


@functools.lru_cache(maxsize=4096)
def render_extras(body: str | None, coverage: tuple[Related, ...], related: tuple[Related, ...]) -> str:
    """An item's HTML content: its body, then its other tellings, then its related stories.

    Cached, as :func:`render_body` is: a story is in the feeds of each of its topics."""
    return "".join((render_body(body) if body else "", render_coverage(coverage), render_related(related)))


def _links(heading: str, stories: Sequence[Related]) -> str:
    if not stories:
        return ""
    rows = []
    for story in stories:
        by = f" ({escape(story.provider.name)})" if story.provider else ""
        rows.append(f'<li><a href="{escape(as_uri(story.url))}">{escape(story.title)}</a>{by}</li>')
    return f"<h3>{heading}</h3>\n<ul>\n" + "\n".join(rows) + "\n</ul>\n"
