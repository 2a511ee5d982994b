"""JSON Feed 1.1, written from the same model as the XML formats.

Heat, quality, category, type, related stories, the other tellings of a collapsed story
(``coverage``) and every image go in a ``_feeds`` extension object on the item, as the spec
asks of fields it does not define.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec

from ..model import UNSCORED, Channel, Image, Item, Provider, Related
from .fragments import Fragments, fill
from .html import render_body, render_extras
from .uri import as_uri, host_url

VERSION = "https://jsonfeed.org/version/1.1"


_ITEMS = Fragments()
_NO_ITEMS = b'  "items": []\n}\n'


def build_json(channel: Channel, items: Sequence[Item]) -> bytes:
    """The JSON Feed of ``items``: each item's bytes made once (see :mod:`.fragments`). An
    item is formatted on its own, then indented to its depth in the document, as the whole
    document's formatting would: strings hold no line break."""
    frame = json_document(channel, ())
    if not items:
        return frame
    if not frame.endswith(_NO_ITEMS):
        raise AssertionError("the list of items is not where it belongs")  # the frame changed
    made = _ITEMS.held(items)
    missing = [item for item, data in zip(items, made, strict=True) if data is None]
    new = [(item, _indented(dump(_item(item)))) for item in missing]
    _ITEMS.keep(new)
    body = b",\n".join(fill(made, (data for _, data in new)))
    return frame.removesuffix(_NO_ITEMS) + b'  "items": [\n' + body + b"\n  ]\n}\n"


def _indented(formatted: bytes) -> bytes:
    """An item's formatted bytes as they are in the list of items: four spaces further in,
    with no line end."""
    return b"\n".join(b"    " + line for line in formatted.rstrip(b"\n").split(b"\n"))


def json_document(channel: Channel, items: Sequence[Item]) -> bytes:
    """The JSON Feed of ``items``, formatted as a whole."""
    feed: dict[str, Any] = {
        "version": VERSION,
        "title": channel.title,
        "home_page_url": as_uri(channel.home_url),
        "feed_url": as_uri(channel.id),  # an archive's is its feed's
        "description": channel.description,
        "language": channel.language,
        "authors": [{"name": channel.title, "url": as_uri(channel.home_url)}],
    }
    if channel.icon:
        feed["favicon"] = as_uri(channel.icon)
    if channel.logo:
        feed["icon"] = as_uri(channel.logo)
    if channel.hubs:
        feed["hubs"] = [{"type": "WebSub", "url": as_uri(hub)} for hub in channel.hubs]
    if channel.history.prev_archive:
        # From the current document through the archives, newest to oldest.
        feed["next_url"] = as_uri(channel.history.prev_archive)
    feed["items"] = [_item(item) for item in items]
    return dump(feed)


def dump(document: dict[str, Any]) -> bytes:
    """UTF-8 JSON, indented by two spaces, then a line end: the bytes of
    ``json.dumps(document, ensure_ascii=False, indent=2)``, written by msgspec in C (the
    standard library writes indented JSON in Python, ten times slower)."""
    return msgspec.json.format(msgspec.json.encode(document), indent=2) + b"\n"


def _item(item: Item) -> dict[str, Any]:
    # item.url is the original or web URL, never an AMP one (see corpus.py).
    entry: dict[str, Any] = {"id": item.id, "url": as_uri(item.url), "title": item.title}
    if item.excerpt:
        entry["summary"] = item.excerpt
    if item.coverage:
        entry["content_html"] = render_extras(item.body, item.coverage, item.related)
    elif item.body:
        entry["content_html"] = render_body(item.body)
    else:
        # JSON Feed: every item has content_html or content_text.
        entry["content_text"] = item.excerpt or item.title
    if item.images:
        entry["image"] = as_uri(item.images[0].url)
    entry["date_published"] = rfc3339(item.published_at)
    entry["date_modified"] = rfc3339(item.updated_at)
    if item.provider:
        entry["authors"] = [_author(item.provider)]
    if item.topics:
        entry["tags"] = list(item.topics)
    extension: dict[str, Any] = {}
    # The corpus writes -1 for "not scored"; a reader should not have to know that.
    if item.heat != UNSCORED:
        extension["heat"] = item.heat
    if item.quality is not None:
        extension["quality"] = item.quality
    if item.category:
        extension["category"] = item.category
    if item.type:
        extension["type"] = item.type
    if item.images:
        extension["images"] = [_image(image) for image in item.images]
    if item.coverage:
        extension["coverage"] = [_related(story) for story in item.coverage]
    if item.related:
        extension["related"] = [_related(story) for story in item.related]
    if extension:
        entry["_feeds"] = extension
    return entry


def rfc3339(moment: datetime) -> str:
    """RFC 3339 in UTC, ``Z`` for the offset (also the pages' ``<time datetime>``)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _author(provider: Provider) -> dict[str, str]:
    author = {"name": provider.name}
    home = host_url(provider.domain) if provider.domain else None
    if home:
        author["url"] = home
    if provider.logo:
        author["avatar"] = as_uri(provider.logo.url)
    return author


def _image(image: Image) -> dict[str, Any]:
    data: dict[str, Any] = {"url": as_uri(image.url)}
    if image.width:
        data["width"] = image.width
    if image.height:
        data["height"] = image.height
    return data


def _related(story: Related) -> dict[str, Any]:
    data: dict[str, Any] = {"id": story.id, "url": as_uri(story.url), "title": story.title}
    if story.excerpt:
        data["summary"] = story.excerpt
    if story.published_at:
        data["date_published"] = rfc3339(story.published_at)
    if story.provider:
        data["authors"] = [_author(story.provider)]
    if story.images:
        data["image"] = as_uri(story.images[0].url)
    if story.quality is not None:
        data["quality"] = story.quality
    if story.type:
        data["type"] = story.type
    return data
