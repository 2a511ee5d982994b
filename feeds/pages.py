"""The documents that are not feeds: the HTML index page, each feed's HTML page and the
OPML subscription list.

Both HTML pages come from autoescaping templates, so corpus text is text, and share one
stylesheet, inline, which :data:`POLICY` allows by its hash and nothing else: no script
runs on a page, whatever a corpus holds.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from jinja2 import Environment, PackageLoader, select_autoescape
from lxml import etree
from markupsafe import Markup

from .builders.fragments import Fragments, fill
from .builders.jsonfeed import rfc3339
from .builders.uri import as_uri
from .model import UNSCORED, Channel, Item, Link

_templates = Environment(
    loader=PackageLoader("feeds", "templates"),
    autoescape=select_autoescape(default=True),
    keep_trailing_newline=True,
    auto_reload=False,  # package data does not change while running: no stat per render
)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _stylesheet() -> str:
    assert _templates.loader is not None
    source, _, _ = _templates.loader.get_source(_templates, "page.css")
    return source


STYLESHEET = _stylesheet()
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLESHEET.encode()).digest()).decode()
POLICY = (
    f"default-src 'none'; img-src http: https: data:; style-src 'sha256-{_STYLE_HASH}'; "
    "base-uri 'none'; form-action 'none'"
)
"""The Content-Security-Policy of the HTML pages, also in each page's ``<meta>``: the
stylesheet, images from anywhere on the web (the items' own; ``data:`` for the empty icon
that keeps browsers from asking for ``/favicon.ico``), nothing else at all."""
HEADER_POLICY = f"{POLICY}; frame-ancestors 'none'"
"""The policy as an HTTP header, which alone can refuse framing."""


def shown_time(moment: datetime) -> str:
    """``3 Feb 2023, 12:51 UTC``, whatever the process locale."""
    utc = moment.astimezone(UTC)
    return f"{utc.day} {_MONTHS[utc.month - 1]} {utc.year}, {utc.hour:02d}:{utc.minute:02d} UTC"


_templates.filters.update(uri=as_uri, machine_time=rfc3339, shown_time=shown_time)
_STORY_LINKS = Fragments()


def story_links_of(item: Item) -> Markup:
    """The lists of an item's other tellings and related stories on a page, made once for
    every page that shows the item (a story told many times lists hundreds)."""
    [held] = _STORY_LINKS.held([item])
    if held is None:
        macro = _templates.get_template("story_links.html").module.story_links  # type: ignore[attr-defined]
        lists = [
            macro(classes, heading, stories)
            for classes, heading, stories in (
                ("related coverage", "Also covered by", item.coverage),
                ("related", "Related coverage", item.related),
            )
            if stories
        ]
        held = "".join(lists).encode()
        _STORY_LINKS.keep([(item, held)])
    return Markup(held.decode())


_templates.globals.update(
    stylesheet=Markup(STYLESHEET), policy=POLICY, unscored=UNSCORED, story_links_of=story_links_of
)


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One row of the index: a feed's name, title, item count, its links per format and
    its page."""

    name: str
    title: str
    count: int
    links: Sequence[Link]
    page_url: str


@dataclass(frozen=True, slots=True)
class PageLink:
    href: str
    media_type: str
    label: str
    url: str = ""
    """The absolute URL, shown for copying; ``href`` may be relative."""


@dataclass(frozen=True, slots=True)
class FeedPage:
    """What a feed's page shows: the feed's channel and items, and the links around them,
    relative to the page so that an export works under any base URL."""

    channel: Channel
    items: Sequence[Item]
    site_title: str
    index_href: str
    feeds: Sequence[PageLink]
    """The feed in each format: ``href`` relative, ``url`` absolute."""
    topic_hrefs: Mapping[str, str]
    """The page of each topic of the items, by the name as the items spell it."""
    order: str
    """How the items are ordered, in words: ``newest first``."""
    min_heat: int | None = None
    min_quality: int | None = None
    older_href: str | None = None
    """The page of the items just older than these, if any: the newest archive's, or an
    archive's older neighbour."""
    newer_href: str | None = None
    """The page of the items just newer (an archive's newer neighbour, or the feed's own)."""


def render_index(
    *,
    title: str,
    description: str,
    language: str,
    opml_href: str,
    feeds: Sequence[FeedEntry],
    icon: str | None = None,
) -> bytes:
    """The index page; every ``href`` is used as given (relative ones keep an export portable)."""
    rows = [
        {
            "name": feed.name,
            "title": feed.title,
            "count": feed.count,
            "page_href": feed.page_url,
            "links": [PageLink(link.href, link.media_type, link.title or "") for link in feed.links],
        }
        for feed in feeds
    ]
    # One set of autodiscovery links: the first feed's (every item), and the OPML file.
    discovery = rows[0] if rows else {"title": title, "links": []}
    page = _templates.get_template("index.html").render(
        title=title,
        description=description,
        language=language,
        opml_href=opml_href,
        feeds=rows,
        discovery=discovery,
        icon=icon,
    )
    return page.encode()


_PAGE_ITEMS = Fragments()


def _shown_items(page: FeedPage) -> list[Markup]:
    """The markup of each item of ``page``, made once for every page that shows it with the
    same links to its topics' pages (relative: the same from every page of a folder)."""
    variants = [tuple(page.topic_hrefs.get(name) for name in item.topics) for item in page.items]
    held = _PAGE_ITEMS.held(page.items, variants)
    template = _templates.get_template("page_item.html")
    made = [
        (item, template.render(item=item, topic_hrefs=page.topic_hrefs).removesuffix("\n").encode())
        for item, data in zip(page.items, held, strict=True)
        if data is None
    ]
    _PAGE_ITEMS.keep(made, [variant for variant, data in zip(variants, held, strict=True) if data is None])
    return [Markup(data.decode()) for data in fill(held, (data for _, data in made))]


def render_page(page: FeedPage) -> bytes:
    """A feed's page: how to subscribe, then every item in the feed's order."""
    html = _templates.get_template("feed.html").render(
        channel=page.channel,
        items=page.items,
        shown_items=_shown_items(page),
        site_title=page.site_title,
        index_href=page.index_href,
        feeds=page.feeds,
        topic_hrefs=page.topic_hrefs,
        order=page.order,
        min_heat=page.min_heat,
        min_quality=page.min_quality,
        older_href=page.older_href,
        newer_href=page.newer_href,
    )
    return html.encode()


def render_missing(*, site_title: str, language: str, path: str, icon: str | None = None) -> bytes:
    """The page a browser is shown for an address with nothing at it, in the pages' style."""
    page = _templates.get_template("missing.html").render(
        site_title=site_title, language=language, path=path, icon=icon
    )
    return page.encode()


def render_opml(*, title: str, feeds: Sequence[FeedEntry]) -> bytes:
    """OPML 2.0 with one outline per feed (its first link and its page, absolute), for
    bulk subscription."""
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
            htmlUrl=feed.page_url,
        )
    return bytes(etree.tostring(opml, encoding="UTF-8", xml_declaration=True, pretty_print=True))
