"""Turn a channel and a selection of items into a feed document, in one of three formats.

A builder never reads files, settings or the clock: the same arguments give the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import StrEnum

from ..model import Channel, Item


class Format(StrEnum):
    """What a feed is published as: one of the three feed formats, or its HTML page (made
    by :mod:`feeds.pages`, not by a builder)."""

    RSS = "rss"
    ATOM = "atom"
    JSON = "json"
    HTML = "html"

    @property
    def media_type(self) -> str:
        return _MEDIA_TYPES[self]

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def is_feed(self) -> bool:
        return self is not Format.HTML


FEED_FORMATS = tuple(fmt for fmt in Format if fmt.is_feed)
"""The formats a feed reader reads, in the order they are listed everywhere."""

_MEDIA_TYPES = {
    Format.RSS: "application/rss+xml",
    Format.ATOM: "application/atom+xml",
    Format.JSON: "application/feed+json",
    Format.HTML: "text/html",
}
_LABELS = {Format.RSS: "RSS", Format.ATOM: "Atom", Format.JSON: "JSON Feed"}

Builder = Callable[[Channel, Sequence[Item]], bytes]


def build(fmt: Format, channel: Channel, items: Sequence[Item]) -> bytes:
    """Render ``items``, in the order given, as a UTF-8 document of feed format ``fmt``."""
    from .jsonfeed import build_json
    from .xml import build_atom, build_rss

    builders: dict[Format, Builder] = {
        Format.RSS: build_rss,
        Format.ATOM: build_atom,
        Format.JSON: build_json,
    }
    return builders[fmt](channel, items)
