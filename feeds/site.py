"""The live state behind the app: the corpus index, the version of the site it publishes,
the documents rendered from it, and the watcher that keeps it current."""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from .clock import utc_now
from .config import Settings
from .health import Health
from .http import NEGOTIATED_VARY, VARY, Rendered, document_headers
from .index import Refresh, open_index
from .live import Watcher
from .publication import DEFAULT_PARAMS, Params, Publication, gzip_bytes
from .select import Query

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
TAKE_UP = 0.25
"""Seconds between two looks of a worker of ``feeds serve`` at the index for a new
generation, which the server's watcher process wrote."""
CACHE_SIZE = 512
"""Rendered documents kept per corpus version; default feeds and popular queries fit."""


class Version:
    """One published state of the site: a publication and the documents rendered from it.

    A request takes the current version once and uses only it, so it never mixes two.
    """

    __slots__ = ("publication", "cache", "generation", "ready", "_items")

    def __init__(self, publication: Publication, generation: int, ready: bool = True) -> None:
        self.publication = publication
        self.cache: OrderedDict[tuple[str, Params, bool], Rendered] = OrderedDict()
        """By path, parameters and whether the request is a browser's navigation."""
        self.generation = generation
        self.ready = ready
        """Whether the index held the whole corpus: until then, every feed is "starting"."""
        self._items: int | None = None

    @property
    def items(self) -> int:
        """The items published, counted once (by the index, not by reading them)."""
        if self._items is None:
            self._items = self.publication.selection.count(Query())
        return self._items


class Site:
    """The live state behind the app: the corpus index, its current version, the watcher.

    Every process of a server opens the same index file; one refreshes it at a time and
    the others take up each new generation at their next scan.
    """

    def __init__(self, settings: Settings, clock: Clock = utc_now, *, scan: bool = True) -> None:
        self.settings = settings
        self.clock = clock
        self.scan = scan
        """Whether this process scans the corpus, or only takes up what another one indexed."""
        self.index = open_index(settings)
        self._publish_lock = threading.Lock()  # one rescan or republication at a time
        self._cache_lock = threading.Lock()
        self._watch_lock = threading.Lock()
        if scan:
            self._log(self.index.refresh())
        self._version = self._publish()
        self._watcher: Watcher | None = None
        self._watcher_pid = 0

    def _publish(self) -> Version:
        def publish() -> Version:
            generation, ready = self.index.generation, self.index.ready
            selection = self.index.selection(self.clock(), self.settings.collapsing)
            return Version(Publication.from_source(selection, self.settings), generation, ready)

        return self.index.recovering(publish)

    @staticmethod
    def _log(refresh: Refresh) -> None:
        for problem in refresh.problems:
            log.warning("%s", problem)

    @property
    def version(self) -> Version:
        """The current version, republished first if a scheduled item has become due."""
        version = self._version
        due = version.publication.selection.next_change
        if due is not None and due <= self.clock():
            with self._publish_lock:
                if self._version is version:
                    self._version = self._publish()
            version = self._version
        return version

    def refresh(self) -> bool:
        """Rescan the corpus (unless another process is at it) and take up a new
        generation of the index if there is one; swap in a new version (one assignment)."""
        with self._publish_lock:
            if self.scan:
                self._log(self.index.refresh(wait=False))
            if self.index.generation == self._version.generation:
                return False
            self._version = self._publish()
            return True

    def ready(self) -> bool:
        """Whether the version served holds the whole corpus. One that does not looks at the
        index again, and takes up a reading just done at once: no process answers
        "starting" after another has answered from the whole corpus."""
        if self._version.ready:
            return True
        if self.index.ready:
            self.refresh()
        return self._version.ready

    def health(self) -> Health:
        self.ready()
        version = self.version
        topics = len(version.publication.selection.topics)
        last = self.index.last_round()
        return Health(version.ready, version.items, topics, version.generation, last)

    def render(self, path: str, params: Params, *, navigation: bool = False) -> Rendered | None:
        """The answer at ``path``, from memory if this version rendered it before; for a
        browser's ``navigation`` to a feed, its page (the same bytes as at the page's path)."""
        return self._render(self.version, path, params, navigation)

    def _render(self, version: Version, path: str, params: Params, navigation: bool) -> Rendered | None:
        page = version.publication.page_path(path) if navigation else None
        key = (path, params, page is not None)
        with self._cache_lock:
            held = version.cache.get(key)
            if held is not None:
                version.cache.move_to_end(key)
                return held
        if page is not None:
            shown = self._render(version, page, params, False)
            if shown is None:
                return None
            headers = document_headers(shown.document, self.settings, page, params, vary=NEGOTIATED_VARY)
            rendered = replace(shown, headers=headers, negotiated=True)
        else:
            document = self.index.recovering(lambda: version.publication.render(path, params))
            if document is None:
                return None
            gz = gzip_bytes(document.body)
            negotiated = version.publication.page_path(path) is not None
            vary = NEGOTIATED_VARY if negotiated else VARY
            headers = document_headers(document, self.settings, path, params, vary=vary)
            rendered = Rendered(document, gz, document.etag[:-1] + '-gzip"', headers, negotiated)
        with self._cache_lock:
            version.cache[key] = rendered
            while len(version.cache) > CACHE_SIZE:
                version.cache.popitem(last=False)
        return rendered

    def rendered(self, path: str, *, navigation: bool = False) -> Rendered | None:
        """The answer at ``path`` with default parameters if this version has rendered it
        already (``None`` otherwise: then :meth:`render` it). ``navigation`` asks for the
        page of the feed at ``path``."""
        return self.version.cache.get((path, DEFAULT_PARAMS, navigation))

    def watch(self) -> None:
        """Rescan now, then every ``watch_interval`` seconds in this process (or, where
        another process scans, look for its new generations every :data:`TAKE_UP` seconds).

        The app calls this on each request rather than when it is created: a server that
        loads the app and then forks its workers (gunicorn --preload) gets a watcher in each
        worker, and no thread runs in the parent across the fork. The first rescan is done
        before the request is answered, so a worker that sat idle since it loaded the corpus
        never answers from a corpus older than its siblings'.
        """
        pid = os.getpid()
        if self._watcher is not None and self._watcher_pid == pid and self._watcher.alive:
            return
        with self._watch_lock:
            if self._watcher is None or self._watcher_pid != pid or not self._watcher.alive:
                self.refresh()
                interval = self.settings.watch_interval if self.scan else TAKE_UP
                self._watcher = Watcher(self.refresh, interval)
                self._watcher_pid = pid

    def close(self) -> None:
        """Stop watching and close the index (the app still serves rendered documents)."""
        if self._watcher is not None and self._watcher_pid == os.getpid():
            self._watcher.stop()
        self._watcher = None
        self.index.close()
