"""RSS 2.0 and Atom 1.0, written by feedgen; feedgen is imported nowhere else.

feedgen traps handled here: entries are prepended unless ``order="append"``; feed and entry
dates default to the clock; the RSS channel ``<link>`` is the last link added; the Atom
generator carries feedgen's version; an Atom enclosure link also becomes an RSS enclosure
with ``length="0"``; and Atom entry links lose every attribute but ``href`` (1.0.0). So each
format gets its own generator with only what it should carry, and entry links other than
the alternate one are written by a small extension of ours.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Sequence
from html import escape
from typing import Any
from urllib.parse import urlsplit

from feedgen.ext.base import BaseExtension
from feedgen.feed import FeedGenerator
from feedgen.util import xml_elem

from ..model import Channel, Image, Item, Link
from . import Format
from .html import render_body, render_related

GENERATOR = "feeds"
_ATOM_NS = "http://www.w3.org/2005/Atom"


def build_rss(channel: Channel, items: Sequence[Item]) -> bytes:
    fg = _generator(channel)
    fg.load_extension("dc", atom=False, rss=True)
    fg.load_extension("media", atom=False, rss=True)
    fg.register_extension("alternates", _alternates(channel.alternates), atom=False, rss=True)
    fg.link(href=channel.self_link.href, rel="self", type=channel.self_link.media_type)
    # feedgen: the RSS <link> is the last link added, so the home page goes last.
    fg.link(href=channel.home_url, rel="alternate")
    if channel.logo:
        fg.image(url=channel.logo, title=channel.title, link=channel.home_url)
    for item in items:
        entry = _entry(fg, item)
        entry.description(escape(item.excerpt, quote=False) or None)
        content = "".join((render_body(item.body) if item.body else "", render_related(item.related)))
        if content:
            # feedgen: with a description set, content becomes <content:encoded>.
            entry.content(content)
        if item.provider:
            entry.dc.dc_creator(item.provider.name)
        for image in item.images:
            entry.media.content(_media(image), group=None)
    return bytes(fg.rss_str(pretty=True, encoding="UTF-8", xml_declaration=True))


def build_atom(channel: Channel, items: Sequence[Item]) -> bytes:
    fg = _generator(channel)
    fg.register_extension("links", BaseExtension, _EntryLinks, atom=True, rss=False)
    fg.id(channel.id)
    fg.subtitle(channel.description)
    fg.author(name=channel.title, uri=channel.home_url)
    fg.link(href=channel.self_link.href, rel="self", type=channel.self_link.media_type)
    fg.link(href=channel.home_url, rel="alternate", type="text/html")
    for alternate in channel.alternates:
        fg.link(href=alternate.href, rel="alternate", type=alternate.media_type)
    if channel.icon:
        fg.icon(channel.icon)
    if channel.logo:
        fg.logo(channel.logo)
    for item in items:
        entry = _entry(fg, item)
        entry.updated(item.updated_at)
        if item.excerpt:
            entry.summary(item.excerpt, type="text")
        if item.body:
            entry.content(render_body(item.body), type="html")
        if item.provider:
            entry.author(name=item.provider.name, uri=item.provider.home_url)
        for story in item.related:
            entry.links.add(href=story.url, rel="related", title=story.title)
        for image in item.images:
            entry.links.add(href=image.url, rel="enclosure", type=_image_type(image.url))
    return bytes(fg.atom_str(pretty=True, encoding="UTF-8", xml_declaration=True))


def _generator(channel: Channel) -> Any:
    fg = FeedGenerator()
    fg.title(channel.title)
    fg.description(channel.description)
    fg.language(channel.language)
    fg.generator(GENERATOR)
    # feedgen: both default to the clock.
    fg.updated(channel.updated)
    fg.lastBuildDate(channel.updated)
    return fg


def _entry(fg: Any, item: Item) -> Any:
    entry = fg.add_entry(order="append")
    entry.id(item.id)
    entry.title(item.title)
    entry.link(href=item.url, rel="alternate")
    entry.published(item.published_at)
    entry.updated(item.updated_at)
    for name in item.topics:
        entry.category(term=name)
    return entry


def _media(image: Image) -> dict[str, str]:
    content = {"url": image.url, "medium": "image"}
    media_type = _image_type(image.url)
    if media_type:
        content["type"] = media_type
    if image.width:
        content["width"] = str(image.width)
    if image.height:
        content["height"] = str(image.height)
    return content


def _image_type(url: str) -> str | None:
    media_type, _ = mimetypes.guess_type(urlsplit(url).path, strict=False)
    return media_type if media_type and media_type.startswith("image/") else None


class _EntryLinks(BaseExtension):  # type: ignore[misc]
    """Atom entry links with all their attributes (feedgen 1.0.0 drops all but ``href``)."""

    def __init__(self) -> None:
        self.links: list[dict[str, str]] = []

    def add(self, **attributes: str | None) -> None:
        self.links.append({name: value for name, value in attributes.items() if value})

    def extend_atom(self, entry: Any) -> Any:
        for attributes in self.links:
            # feedgen builds Atom in no namespace and declares xmlns as a plain attribute.
            xml_elem("link", entry, **attributes)
        return entry


def _alternates(links: Sequence[Link]) -> type[BaseExtension]:
    """A feedgen extension adding ``<atom:link rel="alternate">`` for the other formats."""

    class Alternates(BaseExtension):  # type: ignore[misc]
        def extend_ns(self) -> dict[str, str]:
            return {"atom": _ATOM_NS}

        def extend_rss(self, feed: Any) -> Any:
            channel = feed[0]
            for link in links:
                xml_elem(
                    f"{{{_ATOM_NS}}}link",
                    channel,
                    href=link.href,
                    rel="alternate",
                    type=link.media_type,
                )
            return feed

    return Alternates


__all__ = ["Format", "build_atom", "build_rss"]
