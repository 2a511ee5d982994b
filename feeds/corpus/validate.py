"""The exact reader: every check of an item's fields, each failure a message that names
the field and its line. It decides what is wrong with a file; the fast path never does."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any, TypeVar

from ..errors import ItemError, ItemErrors
from ..model import UNSCORED, Image, Item, Provider, Related
from .frontmatter import FrontMatter
from .values import (
    MAX_NUMBER,
    clean_text,
    is_url,
    kind,
    parse_date,
    show,
    story_keys,
    unique_topics,
    url_problem,
)

T = TypeVar("T")

KNOWN_KEYS = frozenset(
    {
        "category", "title", "excerpt", "publishedDateTime", "originalUrl", "webUrl",
        "ampWebUrl", "cdnAmpWebUrl", "type", "quality", "heat", "published", "provider",
        "topics", "images", "related", "secured",
    }
)  # fmt: skip


def clean_body(text: str) -> str | None:
    """The body as published: XML-safe, without blank lines around it, ``None`` if empty."""
    body = clean_text(text).strip("\n")
    return body if body.strip() else None


def errors_of(errors: list[ItemError], *fields: str) -> bool:
    """Whether one of ``errors`` is about one of ``fields``."""
    return any(error.field in fields for error in errors)


class Validator:
    """Build an item from the fields of one file's front matter, or raise every problem of
    its fields (one each); problems that keep the item are warnings of ``front``."""

    def __init__(self, front: FrontMatter, source: str) -> None:
        self.source = source
        self.error = front.error
        self.warn = front.warn

    def build(self, fields: dict[str, Any], body_text: str) -> Item:
        """The item, or :class:`ItemErrors` with every field's problem (and the warnings)."""
        errors: list[ItemError] = []

        def check(read: Callable[..., T], *args: Any, **options: Any) -> T | None:
            try:
                return read(*args, **options)
            except ItemError as err:
                errors.append(err)
                return None

        for key in fields:
            if key not in KNOWN_KEYS:
                self.warn(f"unknown key {show(key)} ignored", key)
        title = check(self.required_text, fields, "title")
        original_url = check(self.url, fields, "originalUrl")
        web_url = check(self.url, fields, "webUrl")
        url = original_url or web_url
        if url is None and not errors_of(errors, "originalUrl", "webUrl"):
            errors.append(self.error("missing link: give originalUrl or webUrl"))
        heat = check(self.integer, fields, "heat", minimum=UNSCORED)
        amp_url, cdn_amp_url = check(self.url, fields, "ampWebUrl"), check(self.url, fields, "cdnAmpWebUrl")
        published_at = check(self.required_date, fields, "publishedDateTime")
        published = check(self.boolean, fields, "published", default=False)
        excerpt = check(self.text, fields, "excerpt")
        category, type_ = check(self.text, fields, "category"), check(self.text, fields, "type")
        quality = check(self.integer, fields, "quality", minimum=0)
        provider = check(self.provider, fields, "provider")
        topics = check(self.topics, fields)
        images = check(self.images, fields, "images")
        related = check(self.related, fields)
        if errors:
            raise ItemErrors(errors)
        assert title is not None and url is not None and published_at is not None
        keys = story_keys(url, web_url, amp_url, cdn_amp_url)
        return Item(
            id=keys[0],
            source=self.source,
            title=title,
            url=url,
            published_at=published_at,
            published=bool(published),
            excerpt=excerpt or "",
            category=category,
            type=type_,
            web_url=web_url,
            amp_url=amp_url,
            cdn_amp_url=cdn_amp_url,
            heat=UNSCORED if heat is None else heat,
            quality=quality,
            provider=provider,
            topics=topics or (),
            images=images or (),
            related=related or (),
            body=clean_body(body_text),
            keys=keys,
        )

    def text(
        self, fields: Mapping[str, Any], key: str, prefix: str = "", *, required: bool = False
    ) -> str | None:
        value = fields.get(key)
        where = prefix + key
        if value is None:
            if required:
                raise self.error(f"missing {where}", where)
            return None
        if not isinstance(value, str):
            raise self.error(f"{where} must be text, got {kind(value)} {show(value)}; quote it", where)
        value = clean_text(value).strip()
        if required and not value:
            raise self.error(f"{where} is empty", where)
        return value or None

    def required_text(self, fields: Mapping[str, Any], key: str, prefix: str = "") -> str:
        value = self.text(fields, key, prefix, required=True)
        assert value is not None
        return value

    def url(self, fields: Mapping[str, Any], key: str, prefix: str = "") -> str | None:
        value = self.text(fields, key, prefix)
        if value is not None and (problem := url_problem(value)):
            raise self.error(f"{prefix}{key} {problem}: {show(value)}", prefix + key)
        return value

    def optional_url(self, fields: Mapping[str, Any], key: str, prefix: str, what: str) -> str | None:
        """A nested link: a bad one leaves out ``what`` with a warning, not the item."""
        try:
            value = self.url(fields, key, prefix)
        except ItemError as err:
            self.warn(f"{err.message}; {what} left out", prefix + key)
            return None
        if value is None:
            self.warn(f"{prefix}{key} is missing; {what} left out", prefix.rstrip("."))
        return value

    def date(self, fields: Mapping[str, Any], key: str, prefix: str = "") -> datetime | None:
        value = fields.get(key)
        if value is None:
            return None
        try:
            return parse_date(value)
        except ValueError as err:
            raise self.error(f"{prefix}{key} {err}", prefix + key) from None

    def required_date(self, fields: Mapping[str, Any], key: str) -> datetime:
        moment = self.date(fields, key)
        if moment is None:
            raise self.error(f"missing {key}", key)
        return moment

    def boolean(self, fields: Mapping[str, Any], key: str, prefix: str = "", *, default: bool) -> bool:
        value = fields.get(key, default)
        if not isinstance(value, bool):
            where = prefix + key
            raise self.error(f"{where} must be true or false, got {kind(value)} {show(value)}", where)
        return value

    def integer(self, fields: Mapping[str, Any], key: str, prefix: str = "", *, minimum: int) -> int | None:
        value = fields.get(key)
        where = prefix + key
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(f"{where} must be a whole number, got {kind(value)} {show(value)}", where)
        if value < minimum:
            raise self.error(f"{where} must be at least {minimum}, got {value}", where)
        if value > MAX_NUMBER:
            raise self.error(f"{where} must be at most {MAX_NUMBER:,}, got {show(value)}", where)
        return int(value)

    def topics(self, fields: Mapping[str, Any]) -> tuple[str, ...]:
        entries = self.sequence(fields, "topics")
        for index, topic in enumerate(entries):
            if not isinstance(topic, str):
                where = f"topics[{index}]"
                raise self.error(f"{where} must be text, got {kind(topic)} {show(topic)}; quote it", where)
        return unique_topics(clean_text(topic) for topic in entries)

    def sequence(self, fields: Mapping[str, Any], key: str, prefix: str = "") -> list[Any]:
        value = fields.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            where = prefix + key
            raise self.error(f"{where} must be a list, got {kind(value)} {show(value)}", where)
        return value

    def mappings(
        self, fields: Mapping[str, Any], key: str, prefix: str = ""
    ) -> Iterator[tuple[str, Mapping[str, Any]]]:
        """Each entry of a list of mappings, with its path prefix (``images[0].``)."""
        for index, entry in enumerate(self.sequence(fields, key, prefix)):
            where = f"{prefix}{key}[{index}]"
            if not isinstance(entry, dict):
                raise self.error(f"{where} must be a mapping, got {kind(entry)}", where)
            yield f"{where}.", entry

    def images(self, fields: Mapping[str, Any], key: str, prefix: str = "") -> tuple[Image, ...]:
        images = []
        for at, entry in self.mappings(fields, key, prefix):
            url = self.optional_url(entry, "url", at, "image")
            if url is not None:
                images.append(
                    Image(
                        url=url,
                        width=self.integer(entry, "width", at, minimum=0),
                        height=self.integer(entry, "height", at, minimum=0),
                        cached=self.boolean(entry, "isCached", at, default=False),
                    )
                )
        return tuple(images)

    def provider(self, fields: Mapping[str, Any], key: str, prefix: str = "") -> Provider | None:
        value = fields.get(key)
        where = prefix + key
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.error(f"{where} must be a mapping, got {kind(value)} {show(value)}", where)
        at = where + "."
        return Provider(
            name=self.required_text(value, "name", at),
            domain=self.text(value, "domain", at),
            images=self.images(value, "images", at),
        )

    def related(self, fields: Mapping[str, Any]) -> tuple[Related, ...]:
        stories = []
        for at, entry in self.mappings(fields, "related"):
            title = self.text(entry, "title", at)
            # The same link, and so the same id, that the story has as an item.
            key = "originalUrl" if entry.get("originalUrl") is not None else "webUrl"
            url = self.optional_url(entry, key, at, "related story")
            if title is None:
                self.warn(f"{at}title is missing; related story left out", at.rstrip("."))
            if title is None or url is None:
                continue
            links = (entry.get(name) for name in ("webUrl", "ampWebUrl", "cdnAmpWebUrl"))
            keys = story_keys(url, *(u.strip() for u in links if isinstance(u, str) and is_url(u.strip())))
            stories.append(
                Related(
                    keys=keys,
                    id=keys[0],
                    title=title,
                    url=url,
                    excerpt=self.text(entry, "excerpt", at) or "",
                    published_at=self.date(entry, "publishedDateTime", at),
                    type=self.text(entry, "type", at),
                    provider=self.provider(entry, "provider", at),
                    quality=self.integer(entry, "quality", at, minimum=0),
                    images=self.images(entry, "images", at),
                )
            )
        return tuple(stories)
