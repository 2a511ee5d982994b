"""Rendering many documents at once: in worker processes, one per core, where there are many."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from ..processes import starting_workers, worker_pool
from ..publication import Publication, gzip_bytes

RENDER_IN_PARALLEL = 32
"""Documents to render from which an export renders them in worker processes."""
_rendering: Publication | None = None
"""The publication a worker process of :func:`rendered` renders from (inherited by fork)."""


class Made(NamedTuple):
    """A document's bytes (and their gzipped copy), with what an object store is told of it."""

    bodies: list[bytes]
    content_type: str
    cache_control: str


def rendered(
    publication: Publication, paths: list[str], *, gzip_too: bool, held: Iterable[int] = ()
) -> Iterator[Made]:
    """The bytes of each document of ``paths`` (with their gzipped copy, if ``gzip_too``), in
    order: rendered in worker processes, one per core, where there are many, each once.
    The workers close the descriptors ``held`` (OUT's lock among them) and end with this
    process, so an export killed leaves nothing behind that holds its lock."""
    workers = min(os.cpu_count() or 1, 8)
    if len(paths) < RENDER_IN_PARALLEL or workers < 2 or threading.active_count() > 1:
        yield from (_bodies(publication, path, gzip_too) for path in paths)
        return
    global _rendering
    _rendering = publication  # forked into each worker: nothing is pickled but the bytes made
    try:
        with worker_pool(workers, "fork", held) as pool:
            with starting_workers():  # the workers are forked as the tasks are handed out
                made = pool.map(_render_forked, paths, [gzip_too] * len(paths), chunksize=4)
            yield from made
    finally:
        _rendering = None


def _render_forked(path: str, gzip_too: bool) -> Made:
    assert _rendering is not None
    return _bodies(_rendering, path, gzip_too)


def _bodies(publication: Publication, path: str, gzip_too: bool) -> Made:
    document = publication.render(path)
    assert document is not None, path
    bodies = [document.body, gzip_bytes(document.body)] if gzip_too else [document.body]
    return Made(bodies, document.content_type, document.cache_control(publication.settings.cache_max_age))
