"""An item as nested tuples of plain values: what the index stores and fingerprints hash.

``marshal`` writes such a record faster than anything else in the standard library, and
the same item always gives the same bytes.
"""

from __future__ import annotations

import hashlib
import marshal
from datetime import UTC, datetime, timedelta
from typing import Any

from .model import Image, Item, Provider, Related

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def seconds(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(seconds=1)


def from_seconds(seconds: int) -> datetime:
    return _EPOCH + timedelta(seconds=seconds)


def _image_record(image: Image) -> tuple[Any, ...]:
    return (image.url, image.width, image.height, image.cached)


def _provider_record(provider: Provider | None) -> tuple[Any, ...] | None:
    if provider is None:
        return None
    return (provider.name, provider.domain, tuple(_image_record(i) for i in provider.images))


def to_record(item: Item) -> tuple[Any, ...]:
    return (
        item.id, item.source, item.title, item.url, seconds(item.published_at), item.published,
        item.excerpt, item.category, item.type, item.web_url, item.amp_url, item.cdn_amp_url,
        item.heat, item.quality, _provider_record(item.provider), item.topics,
        tuple(_image_record(i) for i in item.images),
        tuple(_related_record(r) for r in item.related),
        item.body, item.keys, tuple(_related_record(r) for r in item.coverage),
        None if item.modified_at is None else seconds(item.modified_at),
    )  # fmt: skip


def _related_record(r: Related) -> tuple[Any, ...]:
    return (
        r.id, r.title, r.url, r.excerpt, None if r.published_at is None else seconds(r.published_at),
        r.type, _provider_record(r.provider), r.quality, tuple(_image_record(i) for i in r.images), r.keys,
    )  # fmt: skip


def _related(r: tuple[Any, ...]) -> Related:
    return Related(
        id=r[0], title=r[1], url=r[2], excerpt=r[3],
        published_at=None if r[4] is None else from_seconds(r[4]),
        type=r[5], provider=_provider(r[6]), quality=r[7],
        images=tuple(Image(*image) for image in r[8]), keys=tuple(r[9]),
    )  # fmt: skip


def _provider(record: tuple[Any, ...] | None) -> Provider | None:
    if record is None:
        return None
    return Provider(record[0], record[1], tuple(Image(*image) for image in record[2]))


def from_record(record: tuple[Any, ...]) -> Item:
    (
        story, source, title, url, published_at, published, excerpt, category, kind, web_url,
        amp_url, cdn_amp_url, heat, quality, provider, topics, images, related, body, keys,
        coverage, modified_at,
    ) = record  # fmt: skip
    return Item(
        id=story, source=source, title=title, url=url, published_at=from_seconds(published_at),
        published=published, excerpt=excerpt, category=category, type=kind, web_url=web_url,
        amp_url=amp_url, cdn_amp_url=cdn_amp_url, heat=heat, quality=quality,
        provider=_provider(provider), topics=tuple(topics),
        images=tuple(Image(*image) for image in images),
        related=tuple(_related(r) for r in related),
        body=body, keys=tuple(keys), coverage=tuple(_related(r) for r in coverage),
        modified_at=None if modified_at is None else from_seconds(modified_at),
    )  # fmt: skip


def dumps(item: Item) -> bytes:
    return marshal.dumps(to_record(item))


def loads(data: bytes) -> Item:
    return from_record(marshal.loads(data))


def digest(data: bytes) -> str:
    """A short hash of a record's bytes: equal for equal items."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()
