"""Which feeds exist and at which address: the one map the server and the export share.

Each feed is at one path per format, its HTML page included (``/feeds/ai.rss``, …,
``/feeds/ai.html``). A URL path and the file that holds it in an export are the same
string, except that ``/`` is ``index.html``: any static host then serves an export at the
server's addresses.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from .builders import Format
from .select import Order, Query
from .topics import Topic, TopicIndex

INDEX_PATH = "/"
OPML_PATH = "/opml.xml"
FEEDS_PREFIX = "/feeds/"


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """One feed, in every format: all items or one topic's, optionally a heat selection."""

    topic: Topic | None = None
    selection: str | None = None
    min_heat: int | None = None

    @property
    def stem(self) -> str:
        name = self.topic.slug if self.topic else "all"
        return f"{FEEDS_PREFIX}{self.selection}/{name}" if self.selection else f"{FEEDS_PREFIX}{name}"

    def path(self, fmt: Format) -> str:
        return f"{self.stem}.{fmt.value}"

    @property
    def name(self) -> str:
        """What a person calls it: ``AI``, ``All topics (hot)``."""
        name = self.topic.name if self.topic else "All topics"
        return f"{name} ({self.selection})" if self.selection else name

    def query(self, *, limit: int) -> Query:
        return Query(
            topic=self.topic.name if self.topic else None,
            min_heat=self.min_heat,
            order=Order.LATEST,
            limit=limit,
        )


class Catalogue:
    """Every feed of a topic index: ``all``, each topic, and each named heat selection of
    those, in a stable order (all first, then topics by slug; selections after)."""

    def __init__(self, topics: TopicIndex, selections: Mapping[str, int]) -> None:
        plain = [FeedSpec()] + [FeedSpec(topic) for topic in topics]
        self.specs: list[FeedSpec] = plain + [
            FeedSpec(spec.topic, name, heat) for name, heat in selections.items() for spec in plain
        ]
        self._by_path = {spec.path(fmt): (spec, fmt) for spec in self.specs for fmt in Format}

    def __iter__(self) -> Iterator[FeedSpec]:
        return iter(self.specs)

    def find(self, path: str) -> tuple[FeedSpec, Format] | None:
        """The feed and format (a page's is ``Format.HTML``) at a URL path, or ``None``."""
        return self._by_path.get(path)

    def feed_paths(self, *, pages: bool = True) -> Iterator[str]:
        """The path of every feed in every format, and (unless not ``pages``) of its page."""
        return (path for path, (_, fmt) in self._by_path.items() if pages or fmt.is_feed)


def relative(path: str, page: str) -> str:
    """A link to URL path ``path`` from the document at URL path ``page``: relative, so that
    an export works under any base URL (``/`` from ``/feeds/hot/ai.html`` is ``../../``)."""
    link = posixpath.relpath(path, posixpath.dirname(page))
    return f"{link}/" if path.endswith("/") else link


def file_path(url_path: str) -> str:
    """The relative file that holds ``url_path`` in an export."""
    return "index.html" if url_path == INDEX_PATH else url_path.lstrip("/")
