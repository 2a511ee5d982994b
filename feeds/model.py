"""The typed, immutable model every later stage works on.

Only public fields live here: the corpus reader drops ``secured`` and unknown keys before
an :class:`Item` exists, so no builder or page can ever emit them. Datetimes are aware UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

UNSCORED = -1
"""The ``heat`` of an item nobody has scored."""


@dataclass(frozen=True, slots=True)
class Image:
    url: str
    width: int | None = None
    height: int | None = None
    cached: bool = False


@dataclass(frozen=True, slots=True)
class Provider:
    """Who published a story: a name, its web domain, its logos."""

    name: str
    domain: str | None = None
    images: tuple[Image, ...] = ()

    @property
    def home_url(self) -> str | None:
        return f"https://{self.domain}/" if self.domain else None

    @property
    def logo(self) -> Image | None:
        return self.images[0] if self.images else None


@dataclass(frozen=True, slots=True)
class Related:
    """Another story an item points to: a link, not an item of the feed.

    ``id`` is the id the story has, or would have, as an item of the corpus; ``keys`` are
    the ids of every link it gives, by which it is matched to the items of the corpus.
    """

    id: str
    title: str
    url: str
    excerpt: str = ""
    published_at: datetime | None = None
    type: str | None = None
    provider: Provider | None = None
    quality: int | None = None
    images: tuple[Image, ...] = ()
    keys: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Item:
    """One news story, as read from one corpus file.

    ``id`` is derived from the story's canonical URL, so it survives renames and moves of
    the file. ``source`` is the file's path relative to the corpus root, for messages only.
    """

    id: str
    source: str
    title: str
    url: str
    published_at: datetime
    published: bool = False
    excerpt: str = ""
    category: str | None = None
    type: str | None = None
    web_url: str | None = None
    amp_url: str | None = None
    cdn_amp_url: str | None = None
    heat: int = UNSCORED
    quality: int | None = None
    provider: Provider | None = None
    topics: tuple[str, ...] = ()
    images: tuple[Image, ...] = ()
    related: tuple[Related, ...] = ()
    body: str | None = None
    keys: tuple[str, ...] = ()
    """The ids of all the item's links (original, web, AMP): a related story that names
    any of them names this item."""
    coverage: tuple[Related, ...] = ()
    """The other tellings of this story, by other providers, where several items were
    collapsed into this one (see :mod:`feeds.stories`)."""
    modified_at: datetime | None = None
    """The newest telling's date, where it is not ``published_at``."""

    @property
    def updated_at(self) -> datetime:
        """A file has one date, so an item is updated when it is published; a collapsed
        story, when its newest telling is."""
        return self.modified_at or self.published_at


def keys_of(story: Item | Related) -> tuple[str, ...]:
    """The ids of a story's links (its id alone where they were not recorded)."""
    return story.keys or (story.id,)


@dataclass(frozen=True, slots=True)
class Link:
    href: str
    media_type: str
    title: str | None = None


@dataclass(frozen=True, slots=True)
class History:
    """Where a feed document stands in its feed's history (RFC 5005): a current document
    that holds every item (``complete``), or that names its newest archive; or an archive,
    with the current document and its older and newer neighbours."""

    complete: bool = False
    archive: bool = False
    current: str | None = None
    prev_archive: str | None = None
    next_archive: str | None = None


NO_HISTORY = History()
"""What a feed made from a query's parameters says of its history: nothing."""


@dataclass(frozen=True, slots=True)
class Channel:
    """What a feed says about itself; everything absolute, nothing read from a clock.

    ``updated`` is the newest item's date (the epoch for an empty feed), so that the
    same selection always gives the same document.
    """

    id: str
    title: str
    description: str
    home_url: str
    self_link: Link
    updated: datetime
    language: str = "en"
    alternates: tuple[Link, ...] = field(default=())
    icon: str | None = None
    logo: str | None = None
    hubs: tuple[str, ...] = ()
    """WebSub hubs that tell of changes of this feed, whose topic is ``self_link``."""
    history: History = NO_HISTORY
