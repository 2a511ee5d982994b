"""Every document of a site at one moment: feeds, their pages, the index page and the OPML file.

The server and the export both render through a :class:`Publication`, so they give the
same bytes at the same paths. A document's date is its newest item's, never the clock.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cached_property
from urllib.parse import urlencode

from . import __version__
from .archives import Archive, Archives, label_date
from .builders import FEED_FORMATS, Format, build
from .catalogue import INDEX_PATH, OPML_PATH, Catalogue, FeedSpec, relative
from .config import Settings
from .model import NO_HISTORY, Channel, History, Item, Link
from .pages import FeedEntry, FeedPage, PageLink, render_index, render_opml, render_page
from .select import EMPTY, Order, Query, Selection, Source
from .websub.links import hub_urls

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
HTML_TYPE = "text/html; charset=utf-8"
OPML_TYPE = "text/x-opml; charset=utf-8"
CLOSED_ARCHIVE_CACHE = "public, max-age=31536000, immutable"
"""The Cache-Control of a closed archive: a year, and never revalidated while fresh."""


@dataclass(frozen=True)
class Document:
    """A rendered response body with its validators."""

    body: bytes
    content_type: str
    last_modified: datetime
    closed: bool = False
    """Whether it is a closed archive, which changes only when an item of its own span does."""

    @cached_property
    def etag(self) -> str:
        """A strong validator: a hash of the bytes, quoted (not needed by an export)."""
        return f'"{hashlib.sha256(self.body).hexdigest()[:32]}"'

    def cache_control(self, max_age: int) -> str:
        """Its Cache-Control, served or stored: ``max_age`` seconds, or for good if closed."""
        return CLOSED_ARCHIVE_CACHE if self.closed else f"public, max-age={max_age}"


def gzip_bytes(body: bytes) -> bytes:
    """Gzip with no timestamp or name, so the same body always compresses alike."""
    return gzip.compress(body, compresslevel=6, mtime=0)


@dataclass(frozen=True, slots=True)
class Params:
    """What a request may change about a feed; ``None`` means the default."""

    min_heat: int | None = None
    min_quality: int | None = None
    order: Order | None = None
    limit: int | None = None

    def query_string(self) -> str:
        pairs = [(name, getattr(self, name)) for name in ("min_heat", "min_quality", "order", "limit")]
        return urlencode([(name, str(value)) for name, value in pairs if value is not None])

    def suffix(self) -> str:
        """The query string with its ``?``, or nothing."""
        query = self.query_string()
        return f"?{query}" if query else ""

    def hubs(self, settings: Settings) -> tuple[str, ...]:
        """The hubs a feed asked for with these parameters names, in the document and in its
        ``Link`` header: hubs are told of changes of the feeds as published, never of a query's."""
        return () if self.query_string() else hub_urls(settings)


DEFAULT_PARAMS = Params()
_ORDER_WORDS = {Order.LATEST: "newest first", Order.HOT: "hottest first"}


class Publication:
    """The documents of ``items`` as visible at ``now``, rendered on demand."""

    def __init__(self, items: Iterable[Item], settings: Settings, now: datetime) -> None:
        self._start(Selection(items, now, settings.collapsing), settings)

    @classmethod
    def from_source(cls, source: Source, settings: Settings) -> Publication:
        """The documents of a selection made elsewhere (an index's, say)."""
        publication = cls.__new__(cls)
        publication._start(source, settings)
        return publication

    def _start(self, source: Source, settings: Settings) -> None:
        self.settings = settings
        self.selection = source
        self.catalogue = Catalogue(source.topics, settings.selections)
        self.archives = Archives(
            self.catalogue,
            lambda spec: source.dates(self.query(spec)),
            shown=settings.feed_limit,
            # No more than a current document shows: so a feed with archives has two or more,
            # each with a neighbour, and the newest one's items are all in the current document.
            size=min(settings.archive_size, settings.feed_limit),
            enabled=settings.archives,
        )
        self._settings_key = f"{__version__}\n{settings.documents_key()}"
        self._entries: dict[bool, list[FeedEntry]] = {}

    @property
    def updated(self) -> datetime:
        return self.selection.newest or EPOCH

    def url(self, path: str) -> str:
        return self.settings.base_url + path.lstrip("/")

    def query(self, spec: FeedSpec, params: Params = DEFAULT_PARAMS) -> Query:
        query = spec.query(limit=params.limit or self.settings.feed_limit)
        heats = [heat for heat in (query.min_heat, params.min_heat) if heat is not None]
        return Query(
            topic=query.topic,
            min_heat=max(heats) if heats else None,
            min_quality=params.min_quality,
            order=params.order or query.order,
            limit=query.limit,
        )

    def items(self, spec: FeedSpec, params: Params = DEFAULT_PARAMS) -> list[Item]:
        return self.selection.query(self.query(spec, params))

    def channel(
        self,
        spec: FeedSpec,
        fmt: Format,
        items: Sequence[Item],
        params: Params = DEFAULT_PARAMS,
        archive: Archive | None = None,
    ) -> Channel:
        """What the feed ``spec`` (or its ``archive``) says about itself in format ``fmt``
        (its page included): its home is its page, its alternates the feed formats other
        than ``fmt``. An archive has the id of the feed it is part of."""
        # An empty feed still says when the site last changed, not 1970.
        updated = max((item.updated_at for item in items), default=self.updated)
        suffix = params.suffix()
        path = spec.path if archive is None else archive.path
        self_link = Link(self.url(path(fmt)) + suffix, fmt.media_type)
        title = self.title(spec)
        if archive is not None:
            title += f", archive from {label_date(archive.label)}"
        return Channel(
            id=self.url(spec.path(fmt)) + suffix,
            title=title,
            description=f"{self.settings.site_description} {spec.name}.",
            home_url=self.url(path(Format.HTML)) + suffix,
            self_link=self_link,
            updated=updated,
            language=self.settings.language,
            alternates=tuple(
                Link(self.url(path(other)) + suffix, other.media_type)
                for other in FEED_FORMATS
                if other is not fmt
            ),
            icon=self.settings.icon,
            logo=self.settings.logo,
            hubs=params.hubs(self.settings) if archive is None else (),
            history=self.history(spec, fmt, params, archive),
        )

    def history(
        self, spec: FeedSpec, fmt: Format, params: Params = DEFAULT_PARAMS, archive: Archive | None = None
    ) -> History:
        """Where the document of ``spec`` (or of its ``archive``) in ``fmt`` stands in the
        feed's history. A feed made from a request's parameters has none."""
        if not self.archives.enabled or params.query_string():
            return NO_HISTORY
        older, newer = self.neighbours(spec, archive)
        if archive is None:
            return History(complete=older is None, prev_archive=self._url_of(older, fmt))
        return History(
            archive=True,
            current=self.url(spec.path(fmt)),
            prev_archive=self._url_of(older, fmt),
            next_archive=self._url_of(newer, fmt),
        )

    def _url_of(self, archive: Archive | None, fmt: Format) -> str | None:
        return None if archive is None else self.url(archive.path(fmt))

    def neighbours(self, spec: FeedSpec, archive: Archive | None) -> tuple[Archive | None, Archive | None]:
        """The archives just older and just newer than ``archive`` (or than the current
        document of ``spec``, whose older neighbour is its newest archive)."""
        if archive is None:
            return self.archives.newest(spec), None
        return self.archives.get(spec, archive.older), self.archives.get(spec, archive.newer)

    def feed(
        self, spec: FeedSpec, fmt: Format, params: Params = DEFAULT_PARAMS, archive: Archive | None = None
    ) -> Document:
        """The feed ``spec`` (or its ``archive``) in feed format ``fmt``."""
        items = self._items(spec, params, archive)
        channel = self.channel(spec, fmt, items, params, archive)
        body = build(fmt, channel, items)
        closed = archive is not None and archive.closed
        return Document(body, f"{fmt.media_type}; charset=utf-8", channel.updated, closed)

    def _items(self, spec: FeedSpec, params: Params, archive: Archive | None) -> list[Item]:
        if archive is None:
            return self.items(spec, params)
        return self.selection.query(archive.query(self.query(spec)))

    def page(
        self, spec: FeedSpec, params: Params = DEFAULT_PARAMS, archive: Archive | None = None
    ) -> Document:
        """The HTML page of the feed ``spec`` (or of its ``archive``): the same channel and
        items as its feeds, with links to the pages of older and newer items."""
        items = self._items(spec, params, archive)
        channel = self.channel(spec, Format.HTML, items, params, archive)
        at = spec.path if archive is None else archive.path
        path = at(Format.HTML)
        query = self.query(spec, params)
        suffix = params.suffix()
        feeds = [
            PageLink(relative(at(fmt), path) + suffix, link.media_type, fmt.label, link.href)
            for fmt, link in zip(FEED_FORMATS, channel.alternates, strict=True)
        ]
        older, newer = self.neighbours(spec, archive) if channel.history is not NO_HISTORY else (None, None)
        newer_path = newer.path(Format.HTML) if newer else (spec.path(Format.HTML) if archive else None)
        body = render_page(
            FeedPage(
                channel=channel,
                items=items,
                site_title=self.settings.site_title,
                index_href=relative(INDEX_PATH, path),
                feeds=feeds,
                topic_hrefs=self._topic_hrefs(items, path),
                order=_ORDER_WORDS[query.order],
                min_heat=query.min_heat,
                min_quality=query.min_quality,
                older_href=relative(older.path(Format.HTML), path) if older else None,
                newer_href=newer_path and relative(newer_path, path),
            )
        )
        return Document(body, HTML_TYPE, channel.updated, archive is not None and archive.closed)

    def _topic_hrefs(self, items: list[Item], path: str) -> dict[str, str]:
        """The link from the page at ``path`` to the page of each topic of ``items``, by
        each spelling of its name (every topic of a visible item has a page)."""
        hrefs: dict[str, str] = {}
        for item in items:
            for name in item.topics:
                if name not in hrefs:
                    topic = self.selection.topics.by_name(name)
                    if topic is not None:
                        hrefs[name] = relative(FeedSpec(topic).path(Format.HTML), path)
        return hrefs

    def title(self, spec: FeedSpec) -> str:
        return f"{self.settings.site_title}: {spec.name}"

    def entries(self, *, absolute: bool) -> list[FeedEntry]:
        held = self._entries.get(absolute)  # the index page and the OPML file both list them
        if held is None:
            held = self._entries[absolute] = self._list_entries(absolute=absolute)
        return held

    def _list_entries(self, *, absolute: bool) -> list[FeedEntry]:
        make = self.url if absolute else (lambda path: relative(path, INDEX_PATH))
        return [
            FeedEntry(
                name=spec.name,
                title=self.title(spec),
                count=self.selection.count(replace(spec.query(limit=0), limit=None)),
                links=[Link(make(spec.path(fmt)), fmt.media_type, fmt.label) for fmt in FEED_FORMATS],
                page_url=make(spec.path(Format.HTML)),
            )
            for spec in self.catalogue
        ]

    def index(self) -> Document:
        body = render_index(
            title=self.settings.site_title,
            description=self.settings.site_description,
            language=self.settings.language,
            opml_href=OPML_PATH.lstrip("/"),
            feeds=self.entries(absolute=False),
            icon=self.settings.icon,
        )
        return Document(body, HTML_TYPE, self.updated)

    def opml(self) -> Document:
        body = render_opml(title=self.settings.site_title, feeds=self.entries(absolute=True))
        return Document(body, OPML_TYPE, self.updated)

    def paths(self) -> Iterator[str]:
        """The URL path of every document with default parameters, archives last."""
        yield INDEX_PATH
        yield OPML_PATH
        yield from self.catalogue.feed_paths()
        yield from self.archives.paths()

    def fingerprint(self, path: str, params: Params = DEFAULT_PARAMS) -> str | None:
        """A digest of everything the document at ``path`` is made of, found without
        rendering it: equal digests, equal bytes (for the same version of this package)."""
        digest = hashlib.blake2b(self._settings_key.encode(), digest_size=16)
        digest.update(f"\n{path}\n{params!r}\n".encode())
        if path in (INDEX_PATH, OPML_PATH):
            digest.update(repr(self.entries(absolute=True)).encode())
            digest.update(repr(self.updated).encode())
            return digest.hexdigest()
        found = self.catalogue.find(path)
        archive = None
        if found is None:
            in_archive = self.archives.find(path)
            if in_archive is None:
                return None
            archive, fmt = in_archive
            spec, params = archive.spec, DEFAULT_PARAMS
            items = self.selection.fingerprint(archive.query(self.query(spec)))
        else:
            spec, fmt = found
            items = self.selection.fingerprint(self.query(spec, params))
        # Where it stands in the feed's history: its neighbours, by name.
        older, newer = self.neighbours(spec, archive)
        digest.update(f"{older and older.label} {newer and newer.label} {archive}\n".encode())
        digest.update(f"{spec!r}\n{items}".encode())
        if items == EMPTY:
            digest.update(repr(self.updated).encode())  # the date an empty feed shows
        if not fmt.is_feed:
            # A page links its items' topics to their pages: a topic's slug changes when
            # another topic comes to take it.
            digest.update(repr(self.selection.topics.collisions).encode())
        return digest.hexdigest()

    def render(self, path: str, params: Params = DEFAULT_PARAMS) -> Document | None:
        """The document at ``path``, or ``None`` if there is none."""
        if path == INDEX_PATH:
            return self.index()
        if path == OPML_PATH:
            return self.opml()
        found = self.catalogue.find(path)
        if found is not None:
            spec, fmt = found
            return self.feed(spec, fmt, params) if fmt.is_feed else self.page(spec, params)
        in_archive = self.archives.find(path)  # an archive takes no parameters
        if in_archive is None:
            return None
        archive, fmt = in_archive
        return (
            self.feed(archive.spec, fmt, archive=archive)
            if fmt.is_feed
            else self.page(archive.spec, archive=archive)
        )

    def page_path(self, path: str) -> str | None:
        """The path of the page of the feed (or archive) at ``path``; ``None`` if ``path`` is
        no feed."""
        found = self.catalogue.find(path)
        if found is not None:
            return found[0].path(Format.HTML) if found[1].is_feed else None
        in_archive = self.archives.find(path)
        return in_archive[0].path(Format.HTML) if in_archive and in_archive[1].is_feed else None
