"""Each item rendered once per format, whatever the number of documents that hold it.

An item is in the feed of all topics, in those of each of its topics and in their named
selections, and each is written in three formats: the bytes of the item in a document of
one format depend on the item alone, so they are made once and reused, in this round and
in the next ones (a server's, a watched export's) for as long as the item is the same.
A document is its frame, made by the format's own builder around the items not held yet,
with every item's bytes put in their place: the bytes of the whole document, exactly.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence

from ..model import Item

BUDGET = 8 << 20
"""Bytes of fragments each format keeps, the least recently used forgotten first."""
KEYS = 8192
"""Items whose key each format remembers by identity (see :class:`_Key`)."""


class _Key:
    """An item as a key, its hash taken once: an item's hash goes through every field, and a
    story told many times holds hundreds of other tellings."""

    __slots__ = ("hash", "item")

    def __init__(self, item: Item) -> None:
        self.item = item
        self.hash = hash(item)

    def __hash__(self) -> int:
        return self.hash

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Key) and (self.item is other.item or self.item == other.item)


class Fragments:
    """The bytes of items in one format, by item (all its fields: the key of its output)."""

    def __init__(self, budget: int = BUDGET) -> None:
        self._held: OrderedDict[_Key | tuple[_Key, Hashable], bytes] = OrderedDict()
        self._keys: OrderedDict[int, _Key] = OrderedDict()
        """The key of each item seen lately, by identity: the documents of one round hold
        the same item objects, which are hashed once."""
        self._size = 0
        self._budget = budget
        self._lock = threading.Lock()  # a server renders from several threads

    def __len__(self) -> int:
        return len(self._held)

    def held(self, items: Sequence[Item], variants: Sequence[Hashable] = ()) -> list[bytes | None]:
        """The bytes of each of ``items``, ``None`` for those not held; with ``variants``,
        those of each item in its variant (what else its bytes depend on)."""
        found: list[bytes | None] = []
        with self._lock:
            for number, item in enumerate(items):
                key = self._key(item, variants[number] if variants else None)
                data = self._held.get(key)
                if data is not None:
                    self._held.move_to_end(key)
                found.append(data)
        return found

    def keep(self, made: Iterable[tuple[Item, bytes]], variants: Sequence[Hashable] = ()) -> None:
        """Keep the bytes made of each item (in the variant of the same place in ``variants``)."""
        with self._lock:
            for number, (item, data) in enumerate(made):
                key = self._key(item, variants[number] if variants else None)
                if key not in self._held:
                    self._held[key] = data
                    self._size += len(data)
            while self._size > self._budget and self._held:
                _, dropped = self._held.popitem(last=False)
                self._size -= len(dropped)

    def clear(self) -> None:
        with self._lock:
            self._held.clear()
            self._keys.clear()
            self._size = 0

    def _key(self, item: Item, variant: Hashable = None) -> _Key | tuple[_Key, Hashable]:
        key = self._keys.get(id(item))
        if key is None or key.item is not item:  # the key holds its item: no id is reused meanwhile
            key = self._keys[id(item)] = _Key(item)
            while len(self._keys) > KEYS:
                self._keys.popitem(last=False)
        return key if variant is None else (key, variant)


def assembled(
    items: Sequence[Item],
    fragments: Fragments,
    document: Callable[[Sequence[Item]], bytes],
    start: bytes,
    end: bytes,
    close: bytes,
) -> bytes:
    """The document of ``items``: ``document(missing)`` makes the whole document of the
    items not held yet (its frame as that of every item), in which each item's bytes run
    from a line ``start`` to a line ``end``, after the frame's head and before its last
    ``close``; those are kept, and every item put in its place."""
    made = fragments.held(items)
    missing = [item for item, data in zip(items, made, strict=True) if data is None]
    whole = document(missing)
    tail = whole.rindex(close)
    head = whole.find(b"\n" + start) + 1 if missing else tail
    chunks = [chunk + end for chunk in whole[head:tail].split(end)[:-1]]
    if len(chunks) != len(missing) or any(not chunk.startswith(start) for chunk in chunks):
        raise AssertionError("a document's items were not where they belong")  # a builder changed
    fragments.keep(zip(missing, chunks, strict=True))
    return whole[:head] + b"".join(fill(made, chunks)) + whole[tail:]


def fill(made: list[bytes | None], missing: Iterable[bytes]) -> Iterator[bytes]:
    """The bytes of ``made``, each ``None`` replaced by the next of ``missing``."""
    more = iter(missing)
    for data in made:
        yield next(more) if data is None else data
