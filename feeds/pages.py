"""The two documents that are not feeds: the HTML index page and the OPML subscription list."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from jinja2 import Environment, PackageLoader, select_autoescape
from lxml import etree

from .model import Link

_templates = Environment(
    loader=PackageLoader("feeds", "templates"),
    autoescape=select_autoescape(default=True),
    keep_trailing_newline=True,
)


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One row of the index: a feed's name, title, item count and its links per format."""

    name: str
    title: str
    count: int
    links: Sequence[Link]
    home_url: str


@dataclass(frozen=True, slots=True)
class PageLink:
    href: str
    media_type: str
    label: str


def render_index(
    *, title: str, description: str, language: str, opml_href: str, feeds: Sequence[FeedEntry]
) -> bytes:
    """The index page; every ``href`` is used as given (relative ones keep an export portable)."""
    rows = [
        {
            "name": feed.name,
            "title": feed.title,
            "count": feed.count,
            "links": [PageLink(link.href, link.media_type, link.title or "") for link in feed.links],
        }
        for feed in feeds
    ]
    page = _templates.get_template("index.html").render(
        title=title, description=description, language=language, opml_href=opml_href, feeds=rows
    )
    return page.encode()


def render_opml(*, title: str, feeds: Sequence[FeedEntry]) -> bytes:
    """OPML 2.0 with one outline per feed (its first link, absolute), for bulk subscription."""
    opml = etree.Element("opml", version="2.0")
    head = etree.SubElement(opml, "head")
    etree.SubElement(head, "title").text = title
    etree.SubElement(head, "docs").text = "http://opml.org/spec2.opml"
    body = etree.SubElement(opml, "body")
    for feed in feeds:
        link = feed.links[0]
        etree.SubElement(
            body,
            "outline",
            type="rss",
            text=feed.title,
            title=feed.title,
            xmlUrl=link.href,
            htmlUrl=feed.home_url,
        )
    return bytes(etree.tostring(opml, encoding="UTF-8", xml_declaration=True, pretty_print=True))
