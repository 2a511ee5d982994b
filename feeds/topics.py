"""Topic names and the URL slugs they are published under."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from anyascii import anyascii

from .model import Item

MAX_SLUG_LENGTH = 60
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def topic_key(name: str) -> str:
    """Names that differ only in case (or spacing) are one topic."""
    return " ".join(name.casefold().split())


def slugify(name: str) -> str:
    """A readable, URL-safe slug: ``AI Ethics`` → ``ai-ethics``, ``Россия`` → ``rossiya``.

    Other scripts are transliterated to ASCII; a name with nothing left (``!!!``) or a very
    long one gets a short hash of the name, so every name has a stable slug.
    """
    slug = _NOT_SLUG.sub("-", anyascii(name).lower()).strip("-")
    if not slug or len(slug) > MAX_SLUG_LENGTH:
        digest = _digest(name)
        slug = f"{slug[: MAX_SLUG_LENGTH - 9].rstrip('-')}-{digest}" if slug else f"topic-{digest}"
    return slug


def _digest(name: str) -> str:
    return hashlib.sha1(topic_key(name).encode()).hexdigest()[:8]


@dataclass(frozen=True, slots=True)
class Topic:
    """A topic with published items: its display name, slug and item count."""

    key: str
    name: str
    slug: str
    count: int


@dataclass(frozen=True, slots=True)
class Collision:
    """``name`` would have had ``plain`` as its slug, but ``other`` holds it (another
    topic's name, or the reserved slug itself): ``name`` got ``slug`` instead."""

    name: str
    other: str
    plain: str
    slug: str
    reserved: bool = False

    def __str__(self) -> str:
        if self.reserved:
            return (
                f"topic {self.name!r} would have the reserved slug {self.plain!r};"
                f" it is published as {self.slug!r}"
            )
        return (
            f"topics {self.name!r} and {self.other!r} share the slug {self.plain!r};"
            f" {self.name!r} is published as {self.slug!r}"
        )


class TopicIndex:
    """Every topic of ``items`` (give it the visible ones), by slug.

    Names that differ only in case are one topic, shown in their most common spelling
    (equally common: the first in code point order). Different names that slugify alike are
    not merged: the first in sort order of their keys keeps the plain slug and the others
    get the slug plus a short hash of their name; so does a name whose slug is ``reserved``
    (``all`` is the feed of every topic).
    """

    def __init__(self, items: Iterable[Item], reserved: Iterable[str] = ("all",)) -> None:
        counts: Counter[str] = Counter()
        for item in items:
            # an item counts once per topic, whatever spellings of it the item repeats
            counts.update({topic_key(name): name for name in reversed(item.topics)}.values())
        self._build(counts, reserved)

    @classmethod
    def from_counts(cls, counts: Mapping[str, int], reserved: Iterable[str] = ("all",)) -> TopicIndex:
        """The index of items whose topic names, as spelled, occur ``counts`` times."""
        index = cls.__new__(cls)
        index._build(counts, reserved)
        return index

    def _build(self, counts: Mapping[str, int], reserved: Iterable[str]) -> None:
        spellings: dict[str, dict[str, int]] = {}
        for name, count in counts.items():
            if count > 0:
                spellings.setdefault(topic_key(name), {})[name] = count
        self.collisions: list[Collision] = []
        by_slug: dict[str, Topic] = {}
        taken = set(reserved)
        for key in sorted(spellings):
            names = spellings[key]
            name = min(names, key=lambda n: (-names[n], n))
            slug = plain = slugify(name)
            if slug in by_slug or slug in taken:
                is_reserved = slug not in by_slug
                owner = slug if is_reserved else by_slug[slug].name
                slug = f"{plain}-{_digest(name)}"
                extra = 2
                while slug in by_slug or slug in taken:  # only a name made to collide gets here
                    slug = f"{plain}-{_digest(name)}-{extra}"
                    extra += 1
                self.collisions.append(Collision(name, owner, plain, slug, is_reserved))
            by_slug[slug] = Topic(key, name, slug, sum(names.values()))
        self._by_slug = dict(sorted(by_slug.items()))
        self._by_key = {topic.key: topic for topic in by_slug.values()}

    def __iter__(self) -> Iterator[Topic]:
        return iter(self._by_slug.values())

    def __len__(self) -> int:
        return len(self._by_slug)

    def by_slug(self, slug: str) -> Topic | None:
        return self._by_slug.get(slug)

    def by_name(self, name: str) -> Topic | None:
        return self._by_key.get(topic_key(name))
