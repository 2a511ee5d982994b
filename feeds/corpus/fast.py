"""The compiled fast path: a file read by yaml-rs (Rust) and checked by msgspec (C), or
"not mine".

:func:`read` gives exactly the :class:`~feeds.model.Item` the exact reader gives, or
``None``, and never a message: a file it does not take is read again by the exact reader,
which alone decides what is wrong with it. yaml-rs reads YAML 1.2, the exact reader YAML
1.1, so a file is taken only where the two cannot differ:

- Its text, checked before any parser sees it: printable characters and line breaks only
  (no tab, control, NEL, line separator or BOM, which the two versions treat apart or the
  exact reader would clean); every line a ``key:`` line, a ``-`` item, a comment or blank
  (so no complex, quoted or merge keys, no directive); no value that starts a flow
  collection, a block scalar, an anchor, an alias or a tag; no number spelt in a way the
  versions read apart (``017``, ``0o17``, ``_1``); in double quotes, only the escapes
  ``\\ \" \\/ \n \t``.
- Its values, checked after: text that YAML 1.1 would have typed had it been plain
  (``no``, ``2024``, ``1:20``, a timestamp) is not taken, whether or not it was quoted;
  timestamps come through as text (``parse_datetime=False``) and are read by the same
  :func:`~.values.parse_date` as the exact reader's, and only in their usual spelling.
- msgspec checks every field's type and bounds, and refuses keys the exact reader would
  warn about or ignore; the rules it cannot say (links, empty text, entries the exact
  reader would leave out with a warning) are checked here. Any doubt means "not mine".

``tests/test_corpus_fast.py`` holds the two readers to the same items and problems.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

import msgspec
import yaml
import yaml_rs

from ..model import UNSCORED, Image, Item, Provider, Related
from .validate import clean_body
from .values import MAX_NUMBER, is_url, parse_date, story_keys, unique_topics, url_problem

# -- the text the fast path takes -------------------------------------------------------

_ASCII_TEXT = bytes([0x0A, *range(0x20, 0x7F)])
# A line that is not "key:", "- ...", a comment or blank (each line is read after a "\n").
_OTHER_LINE = re.compile(
    r"\n(?! *+(?:- ++)?(?:[A-Za-z][A-Za-z0-9_]*+:(?: |\n|\Z)|#|\n|\Z)| *+-(?: |\n|\Z))"
)
# After ": " or "- ": flow, block scalar, anchor, alias, tag or reserved indicators, and
# numbers with a leading zero, a base prefix or an underscore; after "- ", another "-" item.
_ODD_START = r" *+(?:[&*!|>\[\]{},%@`?]|[-+]?(?:0[0-9A-Za-z_]|_)|[-+]?[1-9][0-9]*+_"
_ODD_VALUE = re.compile(": " + _ODD_START + ")")
_ODD_ITEM = re.compile("- " + _ODD_START + r"|-(?: |\n|\Z))")
MAX_INDENT = 40
"""Deepest indentation taken, in spaces (the format needs 10). With no flow collections and
no "- -" items, it bounds how deeply yaml-rs recurses: it must never see the nesting the
exact reader refuses, which would crash it."""
_DEEP = "\n" + " " * (MAX_INDENT + 1)
_OTHER_ESCAPE = re.compile(r'\\(?![\\"/nt])')


def _takes(front: str) -> bool:
    """Whether the text of ``front`` is of the form the fast path reads exactly."""
    if front.isascii():
        if front.encode("ascii").translate(None, _ASCII_TEXT):
            return False
    elif not front.replace("\n", " ").isprintable():
        return False
    lines = "\n" + front
    if _DEEP in lines or _OTHER_LINE.search(lines) or _ODD_VALUE.search(front) or _ODD_ITEM.search(front):
        return False
    return "\\" not in front or not _OTHER_ESCAPE.search(front)


# What YAML 1.1 types when plain, by first character: PyYAML's own rules.
_YAML11_TYPED = {
    first: re.compile("|".join(f"(?x:{rule.pattern})" for _, rule in rules))
    for first, rules in yaml.resolver.Resolver.yaml_implicit_resolvers.items()
    if first
}
_YAML11_TIMESTAMP = yaml.constructor.SafeConstructor.timestamp_regexp
_TIMESTAMP = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:Z|[-+][0-9]{2}:[0-9]{2})?)?"
)


# -- the types msgspec checks -----------------------------------------------------------


class _Struct(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    """Keys as the corpus spells them. A key the exact reader would warn about, or ignore
    (inside a mapping), is not taken; so no value nests deeper than the format does."""


Count = Annotated[int, msgspec.Meta(ge=0, le=MAX_NUMBER)]


class _Image(_Struct):
    url: str | None = None
    width: Count | None = None
    height: Count | None = None
    is_cached: bool = False


class _Provider(_Struct):
    name: str | None = None
    domain: str | None = None
    images: list[_Image] | None = None


class _Related(_Struct):
    title: str | None = None
    original_url: str | None = None
    web_url: str | None = None
    amp_web_url: str | None = None
    cdn_amp_web_url: str | None = None
    excerpt: str | None = None
    published_date_time: str | None = None
    type: str | None = None
    provider: _Provider | None = None
    quality: Count | None = None
    images: list[_Image] | None = None


class _Item(_Struct):
    title: str
    published_date_time: str
    original_url: str | None = None
    web_url: str | None = None
    amp_web_url: str | None = None
    cdn_amp_web_url: str | None = None
    category: str | None = None
    excerpt: str | None = None
    type: str | None = None
    quality: Count | None = None
    heat: Annotated[int, msgspec.Meta(ge=UNSCORED, le=MAX_NUMBER)] | None = None
    published: bool = False
    provider: _Provider | None = None
    topics: list[str] | None = None
    images: list[_Image] | None = None
    related: list[_Related] | None = None
    secured: str | int | float | bool | None = None
    """Read past and dropped, as by the exact reader."""


class _NotMine(Exception):
    """The file is left to the exact reader."""


# -- reading ----------------------------------------------------------------------------


def read(front: str, body: str, source: str) -> Item | None:
    """The item of a file whose front matter is ``front``, or ``None`` if the exact reader
    must read it."""
    if not _takes(front):
        return None
    try:
        fields = yaml_rs.loads(front, parse_datetime=False)
        return _build(msgspec.convert(fields, _Item), body, source)
    except (_NotMine, yaml_rs.YAMLDecodeError, msgspec.ValidationError, ValueError, TypeError):
        return None


def _build(doc: _Item, body: str, source: str) -> Item:
    title = _required(doc.title)
    original_url, web_url = _link(doc.original_url), _link(doc.web_url)
    url = original_url or web_url
    if url is None:
        raise _NotMine
    amp_url, cdn_amp_url = _link(doc.amp_web_url), _link(doc.cdn_amp_web_url)
    keys = story_keys(url, web_url, amp_url, cdn_amp_url)
    if isinstance(doc.secured, str):
        _untyped(doc.secured)  # dropped, but YAML 1.1 might not have read it at all
    return Item(
        id=keys[0],
        source=source,
        title=title,
        url=url,
        published_at=_date(doc.published_date_time),
        published=doc.published,
        excerpt=_text(doc.excerpt) or "",
        category=_text(doc.category),
        type=_text(doc.type),
        web_url=web_url,
        amp_url=amp_url,
        cdn_amp_url=cdn_amp_url,
        heat=UNSCORED if doc.heat is None else doc.heat,
        quality=doc.quality,
        provider=_provider(doc.provider),
        topics=_topics(doc.topics),
        images=_images(doc.images),
        related=tuple(_related(entry) for entry in doc.related or ()),
        body=clean_body(body),
        keys=keys,
    )


def _text(value: str | None) -> str | None:
    """Text as the exact reader has it; not taken if YAML 1.1 might have read it otherwise."""
    if value is None:
        return None
    return _untyped(value).strip() or None


def _untyped(value: str) -> str:
    """``value``, unless YAML 1.1 would have read it as something else than text."""
    typed = _YAML11_TYPED.get(value[:1])
    if typed is not None and typed.match(value):
        raise _NotMine
    return value


def _date(value: str) -> datetime:
    """A date as the exact reader has it, if spelt the usual way when YAML 1.1 would have
    read it as a timestamp."""
    if _YAML11_TIMESTAMP.match(value) and not _TIMESTAMP.fullmatch(value):
        raise _NotMine
    return parse_date(value)


def _required(value: str | None) -> str:
    text = _text(value)
    if text is None:
        raise _NotMine
    return text


def _link(value: str | None) -> str | None:
    url = _text(value)
    if url is not None and url_problem(url) is not None:
        raise _NotMine
    return url


def _topics(names: list[str] | None) -> tuple[str, ...]:
    return unique_topics(_untyped(topic) for topic in names or ())


def _images(entries: list[_Image] | None) -> tuple[Image, ...]:
    images = []
    for entry in entries or ():
        url = _link(entry.url)
        if url is None:
            raise _NotMine  # left out with a warning by the exact reader
        images.append(Image(url=url, width=entry.width, height=entry.height, cached=entry.is_cached))
    return tuple(images)


def _provider(provider: _Provider | None) -> Provider | None:
    if provider is None:
        return None
    return Provider(
        name=_required(provider.name), domain=_text(provider.domain), images=_images(provider.images)
    )


def _related(entry: _Related) -> Related:
    title = _text(entry.title)
    # The same link, and so the same id, that the story has as an item.
    url = _link(entry.original_url if entry.original_url is not None else entry.web_url)
    if title is None or url is None:
        raise _NotMine  # left out with a warning by the exact reader
    others = (entry.web_url, entry.amp_web_url, entry.cdn_amp_web_url)
    links = [_untyped(link).strip() for link in others if link]
    keys = story_keys(url, *(link for link in links if is_url(link)))
    return Related(
        keys=keys,
        id=keys[0],
        title=title,
        url=url,
        excerpt=_text(entry.excerpt) or "",
        published_at=None if entry.published_date_time is None else _date(entry.published_date_time),
        type=_text(entry.type),
        provider=_provider(entry.provider),
        quality=entry.quality,
        images=_images(entry.images),
    )
