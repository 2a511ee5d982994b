"""Every item reachable: which archive of a feed holds which items, and at which address.

A feed whose items do not all fit in its current document has archives (RFC 5005 §4). They
cut its history by time, not by position: each archive holds the items of one span of
time of the form ``[k * 2**n, (k + 1) * 2**n)`` seconds, the longest such span that holds
at most ``archive_size`` items (a span of one second holds them all, however many). So an
archive's items depend only on the items of its own span: a new item never changes
another archive, nor does an item that arrives with an old date, or an edit. Numbering
them by position would move every archive after such an item.

An archive is named by the date of its oldest item (``/feeds/ai/archive/20230201-210000.rss``),
so that when the newest archive fills up and is cut in two, its older half keeps its name
and the links to it. Every archive but the newest is closed: it changes only when an item
of its own span does.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

from . import records
from .builders import Format
from .catalogue import Catalogue, FeedSpec
from .select import Query

ARCHIVE_FOLDER = "archive"
OPEN_MARKER = ".open-"
_TOP_LEVEL = 42
"""Spans of 2**42 seconds (139,000 years) before and after 1970: every date a corpus holds."""
_LABEL = re.compile(r"(?P<stem>/feeds/.+)/archive/(?P<label>[0-9]{8}-[0-9]{6})\.(?P<ext>[a-z]+)")


@dataclass(frozen=True, slots=True)
class Archive:
    """One archive of the feed ``spec``: the items published in ``[since, until)``."""

    spec: FeedSpec
    label: str
    since: int
    until: int
    older: str | None
    """The label of the next older archive, if any."""
    newer: str | None
    """The label of the next newer archive; ``None`` for the newest, the open one."""

    @property
    def closed(self) -> bool:
        """Whether it is not the newest: then only an item of its own span changes it."""
        return self.newer is not None

    def path(self, fmt: Format) -> str:
        return archive_path(self.spec, self.label, fmt)

    def query(self, query: Query) -> Query:
        """``query`` (the feed's, with no limit) narrowed to this archive's span."""
        return replace(query, limit=None, since=self.since, until=self.until)


def archive_path(spec: FeedSpec, label: str, fmt: Format) -> str:
    return f"{spec.stem}/{ARCHIVE_FOLDER}/{label}.{fmt.value}"


def parse_archive_path(path: str) -> tuple[str, str, str] | None:
    """The stem of the feed, the label and the extension of an archive's path, if it is one."""
    match = _LABEL.fullmatch(path)
    return (match["stem"], match["label"], match["ext"]) if match else None


def label_of(seconds: int) -> str:
    """An archive's name: the UTC date and time of its oldest item, ``20230201-210000``."""
    moment = records.from_seconds(seconds)
    return f"{moment.year:04d}{moment.month:02d}{moment.day:02d}-{moment:%H%M%S}"


def label_date(label: str) -> str:
    """When the oldest item of the archive ``label`` was published, as a person reads it."""
    return f"{label[:4]}-{label[4:6]}-{label[6:8]} {label[9:11]}:{label[11:13]} UTC"


def spans(dates: Sequence[int], size: int) -> list[tuple[int, int, int, int]]:
    """How ``dates`` (seconds, oldest first) are cut into archives of at most ``size``: the
    span ``[since, until)`` of each archive, oldest first, with the slice of ``dates`` it
    holds. A span is cut in two while it holds more than ``size`` dates and is longer
    than a second; spans that hold nothing are left out."""
    found: list[tuple[int, int, int, int]] = []
    if not dates:
        return found
    zero = bisect_left(dates, 0)  # two spans of 2**42 seconds to start from, on either side of 1970
    todo = [(zero, len(dates), 0, _TOP_LEVEL), (0, zero, -(1 << _TOP_LEVEL), _TOP_LEVEL)]
    todo = [span for span in todo if span[1] > span[0]]
    while todo:
        low, high, since, level = todo.pop()
        if high - low <= size or level == 0:
            found.append((since, since + (1 << level), low, high))
            continue
        half = since + (1 << (level - 1))
        middle = bisect_left(dates, half, low, high)
        # The newer half is pushed first, so that the older one is cut first.
        if high > middle:
            todo.append((middle, high, half, level - 1))
        if middle > low:
            todo.append((low, middle, since, level - 1))
    return found


def archives_of(spec: FeedSpec, dates: Sequence[int], *, shown: int, size: int) -> list[Archive]:
    """The archives of the feed ``spec``, whose items have ``dates`` (oldest first), oldest
    first: none if its current document shows all of them (``shown`` at most)."""
    if len(dates) <= shown:
        return []
    cut = spans(dates, size)
    labels = [label_of(dates[low]) for _, _, low, _ in cut]
    return [
        Archive(
            spec,
            label,
            since,
            until,
            older=labels[number - 1] if number else None,
            newer=labels[number + 1] if number + 1 < len(labels) else None,
        )
        for number, (label, (since, until, _, _)) in enumerate(zip(labels, cut, strict=True))
    ]


def archive_paths(archives: Sequence[Archive]) -> Iterator[str]:
    """The path of each archive in every format, its page included."""
    return (archive.path(fmt) for archive in archives for fmt in Format)


class Archives:
    """The archives of every feed of a catalogue, each feed's found once, when first asked.

    ``dates`` gives the dates of a feed's items (see :meth:`feeds.select.Source.dates`);
    ``shown`` is how many items a current document shows. Without ``enabled``, no feed has
    archives, and none says it is complete.
    """

    def __init__(
        self,
        catalogue: Catalogue,
        dates: Callable[[FeedSpec], Sequence[int]],
        *,
        shown: int,
        size: int,
        enabled: bool = True,
    ) -> None:
        self.catalogue = catalogue
        self.enabled = enabled
        self._dates = dates
        self._shown = shown
        self._size = size
        self._found: dict[FeedSpec, dict[str, Archive]] = {}

    def of(self, spec: FeedSpec) -> list[Archive]:
        """The archives of ``spec``, oldest first."""
        return list(self._by_label(spec).values())

    def newest(self, spec: FeedSpec) -> Archive | None:
        archives = self._by_label(spec)
        return archives[next(reversed(archives))] if archives else None

    def _by_label(self, spec: FeedSpec) -> dict[str, Archive]:
        held = self._found.get(spec)
        if held is None:
            found = (
                archives_of(spec, self._dates(spec), shown=self._shown, size=self._size)
                if self.enabled
                else []
            )
            held = self._found[spec] = {archive.label: archive for archive in found}
        return held

    def get(self, spec: FeedSpec, label: str | None) -> Archive | None:
        return None if label is None else self._by_label(spec).get(label)

    def find(self, path: str) -> tuple[Archive, Format] | None:
        """The archive and format (a page's is ``Format.HTML``) at a URL path, or ``None``."""
        parsed = parse_archive_path(path) if self.enabled else None
        if parsed is None:
            return None
        stem, label, ext = parsed
        found = self.catalogue.find(f"{stem}.{Format.HTML.value}")
        if found is None or ext not in Format._value2member_map_:
            return None
        archive = self._by_label(found[0]).get(label)
        return (archive, Format(ext)) if archive is not None else None

    def open_markers(self) -> Iterator[str]:
        """The path of an empty hidden file beside the newest (open) archive of each feed, for
        a static host to tell it from the closed ones, which it may let be cached for good
        (see ``docs/nginx.conf``): ``/feeds/ai/archive/.open-20230201-210000``."""
        for spec in self.catalogue:
            newest = self.newest(spec)
            if newest is not None:
                yield f"{spec.stem}/{ARCHIVE_FOLDER}/{OPEN_MARKER}{newest.label}"

    def paths(self) -> Iterator[str]:
        """The path of every archive of every feed, in every format, its page included: in
        the order of their spans' ends, so that the archives that hold an item (in the feed
        of all topics, in its topics' feeds, in their selections) come close together, and
        its bytes are made once (see :mod:`feeds.builders.fragments`)."""
        every = [
            (archive.until, number, archive)
            for number, spec in enumerate(self.catalogue)
            for archive in self.of(spec)
        ]
        every.sort(key=lambda entry: entry[:2])
        return archive_paths([archive for _, _, archive in every])
