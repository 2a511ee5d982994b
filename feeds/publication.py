"""Every document of a site at one moment: feeds, the index page and the OPML file.

The server and the export both render through a :class:`Publication`, so they give the
same bytes at the same paths. A document's date is its newest item's, never the clock.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from urllib.parse import urlencode

from . import __version__
from .builders import Format, build
from .catalogue import INDEX_PATH, OPML_PATH, Catalogue, FeedSpec
from .config import Settings
from .model import Channel, Item, Link
from .pages import FeedEntry, render_index, render_opml
from .select import EMPTY, Order, Query, Selection, Source
from .websub.links import hub_urls

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
HTML_TYPE = "text/html; charset=utf-8"
OPML_TYPE = "text/x-opml; charset=utf-8"


@dataclass(frozen=True, slots=True)
class Document:
    """A rendered response body with its validators."""

    body: bytes
    content_type: str
    last_modified: datetime
    etag: str = field(init=False)
    """A strong validator: a hash of the bytes, quoted."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "etag", f'"{hashlib.sha256(self.body).hexdigest()[:32]}"')


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


DEFAULT_PARAMS = Params()


class Publication:
    """The documents of ``items`` as visible at ``now``, rendered on demand."""

    def __init__(self, items: Iterable[Item], settings: Settings, now: datetime) -> None:
        self._start(Selection(items, now), settings)

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
        self._settings_key = f"{__version__}\n{settings!r}"
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

    def feed(self, spec: FeedSpec, fmt: Format, params: Params = DEFAULT_PARAMS) -> Document:
        items = self.items(spec, params)
        # An empty feed still says when the site last changed, not 1970.
        updated = max((item.updated_at for item in items), default=self.updated)
        query = params.query_string()
        suffix = f"?{query}" if query else ""
        self_link = Link(self.url(spec.path(fmt)) + suffix, fmt.media_type)
        channel = Channel(
            id=self_link.href,
            title=self.title(spec),
            description=f"{self.settings.site_description} {spec.name}.",
            home_url=self.settings.base_url,
            self_link=self_link,
            updated=updated,
            language=self.settings.language,
            alternates=tuple(
                Link(self.url(spec.path(other)) + suffix, other.media_type)
                for other in Format
                if other is not fmt
            ),
            icon=self.settings.icon,
            logo=self.settings.logo,
            # Hubs are told of changes of the feeds as published, never of a query's.
            hubs=() if query else hub_urls(self.settings),
        )
        body = build(fmt, channel, items)
        return Document(body, f"{fmt.media_type}; charset=utf-8", updated)

    def title(self, spec: FeedSpec) -> str:
        return f"{self.settings.site_title}: {spec.name}"

    def entries(self, *, absolute: bool) -> list[FeedEntry]:
        held = self._entries.get(absolute)  # the index page and the OPML file both list them
        if held is None:
            held = self._entries[absolute] = self._list_entries(absolute=absolute)
        return held

    def _list_entries(self, *, absolute: bool) -> list[FeedEntry]:
        make = self.url if absolute else (lambda path: path.lstrip("/"))
        return [
            FeedEntry(
                name=spec.name,
                title=self.title(spec),
                count=self.selection.count(replace(spec.query(limit=0), limit=None)),
                links=[Link(make(spec.path(fmt)), fmt.media_type, fmt.label) for fmt in Format],
                home_url=self.settings.base_url,
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
        )
        return Document(body, HTML_TYPE, self.updated)

    def opml(self) -> Document:
        body = render_opml(title=self.settings.site_title, feeds=self.entries(absolute=True))
        return Document(body, OPML_TYPE, self.updated)

    def paths(self) -> Iterator[str]:
        """The URL path of every document with default parameters."""
        yield INDEX_PATH
        yield OPML_PATH
        yield from self.catalogue.feed_paths()

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
        if found is None:
            return None
        items = self.selection.fingerprint(self.query(found[0], params))
        digest.update(f"{found[0]!r}\n{items}".encode())
        if items == EMPTY:
            digest.update(repr(self.updated).encode())  # the date an empty feed shows
        return digest.hexdigest()

    def render(self, path: str, params: Params = DEFAULT_PARAMS) -> Document | None:
        """The document at ``path``, or ``None`` if there is none."""
        if path == INDEX_PATH:
            return self.index()
        if path == OPML_PATH:
            return self.opml()
        found = self.catalogue.find(path)
        return self.feed(found[0], found[1], params) if found else None
