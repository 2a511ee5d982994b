"""Turn a channel and a selection of items into a feed document, in one of three formats.

A builder never reads files, settings or the clock: the same arguments give the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import StrEnum

from ..model import Channel, Item


class Format(StrEnum):
    RSS = "rss"
    ATOM = "atom"
    JSON = "json"

    @property
    def media_type(self) -> str:
        return _MEDIA_TYPES[self]

    @property
    def label(self) -> str:
        return _LABELS[self]


_MEDIA_TYPES = {
    Format.RSS: "application/rss+xml",
    Format.ATOM: "application/atom+xml",
    Format.JSON: "application/feed+json",
}
_LABELS = {Format.RSS: "RSS", Format.ATOM: "Atom", Format.JSON: "JSON Feed"}

Builder = Callable[[Channel, Sequence[Item]], bytes]


def build(fmt: Format, channel: Channel, items: Sequence[Item]) -> bytes:
    """Render ``items``, in the order given, as a UTF-8 document of format ``fmt``."""
    from .jsonfeed import build_json
    from .xml import build_atom, build_rss

    builders: dict[Format, Builder] = {
        Format.RSS: build_rss,
        Format.ATOM: build_atom,
        Format.JSON: build_json,
    }
    return builders[fmt](channel, items)
