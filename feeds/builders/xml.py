"""RSS 2.0 and Atom 1.0, written by feedgen; feedgen is imported nowhere else.

feedgen 1.0.0 traps handled here:

- entries are prepended unless ``order="append"``;
- the feed's and every entry's dates default to the clock;
- the RSS channel ``<link>`` is the last alternate link added;
- the generator carries feedgen's name, URI and version unless replaced;
- an Atom enclosure link also becomes an RSS enclosure with ``length="0"``;
- Atom entry links lose every attribute but ``href``;
- RSS dates are formatted inside ``locale.setlocale(LC_ALL, "C")`` and back, which
  changes the locale of the whole process for a moment: not thread-safe.

So each format gets its own generator with only what it should carry, and the RSS dates
and the Atom entry links other than the alternate one are written by small extensions of
ours. Every URL goes through :func:`~.uri.as_uri`, and the serialised document through
:func:`character_references`.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape
from typing import Any
from urllib.parse import urlsplit

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from feedgen.util import xml_elem
from lxml import etree

from ..model import Channel, Image, Item, Provider
from . import Format
from .fragments import Fragments, assembled
from .html import render_body, render_extras
from .uri import as_uri, host_url

GENERATOR = "feeds"
"""The generator name, with no version: a release must not change the bytes of a feed."""

_ATOM_NS = "http://www.w3.org/2005/Atom"
HISTORY_NS = "http://purl.org/syndication/history/1.0"
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_REFERENCES = ((b"&amp;", b"&#x26;"), (b"&lt;", b"&#x3C;"), (b"&gt;", b"&#x3E;"))
# Elements holding plain text, with their text (attribute values never hold a raw ">").
_PLAIN_TEXT = re.compile(rb"(<(title|category|dc:creator|summary|subtitle|name)(?: [^>]*)?>)([^<]*)(</\2>)")


_RSS_ITEMS = Fragments()
_ATOM_ENTRIES = Fragments()


def build_rss(channel: Channel, items: Sequence[Item]) -> bytes:
    """The RSS document of ``items``: each item's bytes made once (see :mod:`.fragments`)."""
    return assembled(
        items,
        _RSS_ITEMS,
        lambda missing: rss_document(channel, missing, has_items=bool(items)),
        b"    <item>\n",
        b"    </item>\n",
        b"  </channel>",
    )


def build_atom(channel: Channel, items: Sequence[Item]) -> bytes:
    """The Atom document of ``items``: each entry's bytes made once (see :mod:`.fragments`)."""
    return assembled(
        items,
        _ATOM_ENTRIES,
        lambda missing: atom_document(channel, missing),
        b"  <entry>\n",
        b"  </entry>\n",
        b"</feed>",
    )


def rss_document(channel: Channel, items: Sequence[Item], *, has_items: bool) -> bytes:
    """The RSS document of ``items``, all made by feedgen; dated as one with items if
    ``has_items``."""
    fg = _generator(channel)
    # Registered first, so that <pubDate> comes right after feedgen's own item elements.
    fg.register_extension("dates", _rss_channel(channel, has_items), _RssItem, atom=False, rss=True)
    fg.load_extension("dc", atom=False, rss=True)
    fg.load_extension("media", atom=False, rss=True)
    # feedgen would format this (under setlocale) even if never set; _rss_channel writes it.
    fg._FeedGenerator__rss_lastBuildDate = None
    fg.link(href=as_uri(channel.self_link.href), rel="self", type=channel.self_link.media_type)
    # feedgen: the RSS <link> is the last alternate link added, so the home page goes last.
    fg.link(href=as_uri(channel.home_url), rel="alternate")
    if channel.logo:
        # The RSS Profile asks for the channel's own title and link here.
        fg.image(url=as_uri(channel.logo), title=channel.title, link=as_uri(channel.home_url))
    for item in items:
        entry = _entry(fg, item)
        entry.dates.published = item.published_at
        # The description is HTML by convention: the plain-text excerpt is escaped once more.
        entry.description(escape(item.excerpt, quote=False) or None)
        content = render_extras(item.body, item.coverage, item.related)
        if content:
            # feedgen: with a description set, content becomes <content:encoded>; without
            # one it becomes the description (the RSS Profile wants a description first).
            entry.content(content)
        if item.provider:
            entry.dc.dc_creator(item.provider.name)
        for image in item.images:
            entry.media.content(_media(image), group=None)
    return character_references(bytes(fg.rss_str(pretty=True, encoding="UTF-8", xml_declaration=True)))


def atom_document(channel: Channel, items: Sequence[Item]) -> bytes:
    """The Atom document of ``items``, all made by feedgen."""
    fg = _generator(channel)
    fg.register_extension("links", BaseExtension, _EntryLinks, atom=True, rss=False)
    fg.id(as_uri(channel.id))
    fg.subtitle(channel.description)
    # RFC 4287: a feed has an author unless every entry has one; not every item has a provider.
    fg.author(name=channel.title, uri=as_uri(channel.home_url))
    fg.link(href=as_uri(channel.self_link.href), rel="self", type=channel.self_link.media_type)
    for hub in channel.hubs:
        fg.link(href=as_uri(hub), rel="hub")
    fg.link(href=as_uri(channel.home_url), rel="alternate", type="text/html")
    for alternate in channel.alternates:
        fg.link(href=as_uri(alternate.href), rel="alternate", type=alternate.media_type)
    for rel, href in history_links(channel):
        fg.link(href=as_uri(href), rel=rel, type=channel.self_link.media_type)
    if channel.history.complete or channel.history.archive:
        fg.register_extension("history", _history(channel), BaseEntryExtension, atom=True, rss=False)
    if channel.icon:
        fg.icon(as_uri(channel.icon))
    if channel.logo:
        fg.logo(as_uri(channel.logo))
    for item in items:
        entry = _entry(fg, item)
        entry.published(item.published_at)
        entry.updated(item.updated_at)
        if item.excerpt:
            entry.summary(item.excerpt, type="text")
        if item.coverage:  # the other tellings have no element of their own: the content lists them
            entry.content(render_extras(item.body, item.coverage, item.related), type="html")
        elif item.body:
            entry.content(render_body(item.body), type="html")
        elif not item.excerpt:
            # An entry should have textual content; the title is the only text there is.
            entry.summary(item.title, type="text")
        if item.provider:
            entry.author(name=item.provider.name, uri=_provider_url(item.provider))
        for story in (*item.coverage, *item.related):
            entry.links.add(href=as_uri(story.url), rel="related", title=story.title)
        for image in item.images:
            entry.links.add(href=as_uri(image.url), rel="enclosure", type=_image_type(image.url))
    return character_references(bytes(fg.atom_str(pretty=True, encoding="UTF-8", xml_declaration=True)))


def character_references(document: bytes) -> bytes:
    """Write ``&``, ``<`` and ``>`` as hexadecimal character references, and a line break
    in plain text as ``&#xA;``.

    The same characters to every XML parser, but the form the RSS Best Practices Profile
    recommends for plain text ("Encoding & and <"), and the one in which the W3C validator
    does not mistake a title such as ``AT&T <3`` for HTML (it looks for the references on
    the line where the element starts, hence one line per plain-text element). lxml writes
    these characters only as ``&amp;``, ``&lt;`` and ``&gt;``, and a serialised document
    has no other use for those byte sequences, so a plain replacement is exact.
    """
    document = _PLAIN_TEXT.sub(_one_line, document)
    for entity, reference in _REFERENCES:
        document = document.replace(entity, reference)
    return document


def _one_line(match: re.Match[bytes]) -> bytes:
    return match[1] + match[3].replace(b"\n", b"&#xA;") + match[4]


def rfc822(moment: datetime) -> str:
    """An RFC 822 date-time with a four-digit year, in UTC, whatever the process locale."""
    utc = moment.astimezone(UTC)
    return (
        f"{_DAYS[utc.weekday()]}, {utc.day:02d} {_MONTHS[utc.month - 1]} {utc.year:04d} "
        f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d} +0000"
    )


def _generator(channel: Channel) -> Any:
    fg = FeedGenerator()
    fg.title(channel.title)
    fg.description(channel.description)
    fg.language(channel.language)
    fg.generator(GENERATOR)
    # feedgen: defaults to the clock.
    fg.updated(channel.updated)
    return fg


def _entry(fg: Any, item: Item) -> Any:
    entry = fg.add_entry(order="append")
    entry.id(item.id)
    entry.title(item.title)
    # item.url is the original or web URL, never an AMP one (see corpus.py).
    entry.link(href=as_uri(item.url), rel="alternate")
    if item.topics:
        # feedgen rebuilds its list on every category() call: one call for all keeps it linear.
        entry.category([{"term": name} for name in item.topics])
    return entry


def _provider_url(provider: Provider) -> str | None:
    return host_url(provider.domain) if provider.domain else None


def _media(image: Image) -> dict[str, str]:
    content = {"url": as_uri(image.url), "medium": "image"}
    media_type = _image_type(image.url)
    if media_type:
        content["type"] = media_type
    # Media RSS sizes are positive integers: an unknown (0) size is left out.
    if image.width:
        content["width"] = str(image.width)
    if image.height:
        content["height"] = str(image.height)
    return content


def _image_type(url: str) -> str | None:
    media_type, _ = mimetypes.guess_type(urlsplit(url).path, strict=False)
    return media_type if media_type and media_type.startswith("image/") else None


def _rss_channel(channel: Channel, has_items: bool) -> type[BaseExtension]:
    """A feedgen extension adding what feedgen cannot to the RSS ``<channel>``: the
    ``lastBuildDate`` in our format (none in an empty feed, which has no date of its own),
    an ``<atom:link rel="alternate">`` to the same feed in each other format, and an
    ``<atom:link rel="hub">`` for each WebSub hub, after the self link (feedgen drops
    ``rel="hub"`` from RSS)."""

    class RssChannel(BaseExtension):  # type: ignore[misc]
        def extend_ns(self) -> dict[str, str]:
            if channel.history.complete or channel.history.archive:
                return {"atom": _ATOM_NS, "fh": HISTORY_NS}
            return {"atom": _ATOM_NS}

        def extend_rss(self, feed: Any) -> Any:
            element = feed[0]
            after = element.find(f"{{{_ATOM_NS}}}link[@rel='self']")
            for hub in reversed(channel.hubs):
                after.addnext(etree.Element(f"{{{_ATOM_NS}}}link", href=as_uri(hub), rel="hub"))
            if has_items:
                xml_elem("lastBuildDate", element).text = rfc822(channel.updated)
            for link in channel.alternates:
                xml_elem(
                    f"{{{_ATOM_NS}}}link",
                    element,
                    href=as_uri(link.href),
                    rel="alternate",
                    type=link.media_type,
                )
            for rel, href in history_links(channel):
                xml_elem(
                    f"{{{_ATOM_NS}}}link",
                    element,
                    href=as_uri(href),
                    rel=rel,
                    type=channel.self_link.media_type,
                )
            _mark_history(channel, element)
            return feed

    return RssChannel


def history_links(channel: Channel) -> list[tuple[str, str]]:
    """The RFC 5005 links of a feed document: to the current document, and to the
    archives just older and just newer."""
    history = channel.history
    links = [("current", history.current), ("prev-archive", history.prev_archive)]
    links.append(("next-archive", history.next_archive))
    return [(rel, href) for rel, href in links if href]


def _mark_history(channel: Channel, element: Any) -> None:
    """``<fh:complete/>`` in a current document that holds every item of its feed, or
    ``<fh:archive/>`` in an archive (RFC 5005 §2 and §4)."""
    if channel.history.complete:
        xml_elem(f"{{{HISTORY_NS}}}complete", element)
    elif channel.history.archive:
        xml_elem(f"{{{HISTORY_NS}}}archive", element)


def _history(channel: Channel) -> type[BaseExtension]:
    """A feedgen extension writing :func:`_mark_history`'s element into an Atom feed."""

    class AtomHistory(BaseExtension):  # type: ignore[misc]
        def extend_ns(self) -> dict[str, str]:
            return {"fh": HISTORY_NS}

        def extend_atom(self, feed: Any) -> Any:
            _mark_history(channel, feed)
            return feed

    return AtomHistory


class _RssItem(BaseEntryExtension):  # type: ignore[misc]
    """The item's ``<pubDate>``, formatted by :func:`rfc822` rather than by feedgen."""

    def __init__(self) -> None:
        self.published: datetime | None = None

    def extend_rss(self, item: Any) -> Any:
        if self.published is not None:
            xml_elem("pubDate", item).text = rfc822(self.published)
        return item


class _EntryLinks(BaseEntryExtension):  # type: ignore[misc]
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


__all__ = [
    "Format",
    "atom_document",
    "build_atom",
    "build_rss",
    "character_references",
    "rfc822",
    "rss_document",
]
