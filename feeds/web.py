"""The HTTP face: ``create_app(settings)`` serves every document of the catalogue.

Feeds are rendered once per corpus change and kept in memory (an LRU of rendered
documents, gzipped beside the plain bytes); conditional requests are answered from the
validators alone. The clock is read here, at the edge, and nowhere below.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Flask, Response, request
from werkzeug.datastructures import ETags
from werkzeug.http import http_date, parse_date, parse_etags

from .builders import Format
from .catalogue import INDEX_PATH, OPML_PATH
from .config import Settings
from .live import LiveCorpus
from .publication import Document, Params, Publication, gzip_bytes
from .select import Order

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
CACHE_SIZE = 512
"""Rendered documents kept per corpus version; default feeds and popular queries fit."""
MAX_HEAT = 1_000_000


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Rendered:
    document: Document
    gzipped: bytes
    gzip_etag: str


class Site:
    """The live state behind the app: the corpus, its publication and rendered documents."""

    def __init__(self, settings: Settings, clock: Clock = utc_now) -> None:
        self.settings = settings
        self.clock = clock
        self.live = LiveCorpus(settings.corpus)
        self._lock = threading.Lock()
        self._state = self._publish()

    def _publish(self) -> tuple[Publication, OrderedDict[tuple[str, Params], Rendered]]:
        return Publication(self.live.corpus.items, self.settings, self.clock()), OrderedDict()

    @property
    def publication(self) -> Publication:
        publication = self._state[0]
        due = publication.selection.next_change
        if due is not None and due <= self.clock():
            with self._lock:
                if self._state[0] is publication:
                    self._state = self._publish()
            publication = self._state[0]
        return publication

    def refresh(self) -> bool:
        """Rescan the corpus; publish the new version if anything changed."""
        with self._lock:
            changed = self.live.refresh()
            if changed:
                self._state = self._publish()
        return changed

    def render(self, path: str, params: Params) -> Rendered | None:
        publication = self.publication  # republished first if a scheduled item is due
        cache = self._state[1] if self._state[0] is publication else OrderedDict()
        key = (path, params)
        with self._lock:
            held = cache.get(key)
            if held is not None:
                cache.move_to_end(key)
                return held
        document = publication.render(path, params)
        if document is None:
            return None
        gz = gzip_bytes(document.body)
        rendered = Rendered(document, gz, document.etag[:-1] + '-gzip"')
        with self._lock:
            cache[key] = rendered
            while len(cache) > CACHE_SIZE:
                cache.popitem(last=False)
        return rendered

    def watch(self) -> threading.Thread:
        """Rescan every ``watch_interval`` seconds in a daemon thread."""

        def loop() -> None:
            stop = threading.Event()
            while not stop.wait(self.settings.watch_interval):
                try:
                    if self.refresh():
                        log.info("corpus changed; feeds republished")
                except Exception:  # the thread's edge: log and keep watching
                    log.exception("corpus refresh failed; serving the previous version")

        thread = threading.Thread(target=loop, name="feeds-watch", daemon=True)
        thread.start()
        return thread


class BadRequest(Exception):
    pass


def create_app(settings: Settings | None = None, *, clock: Clock = utc_now, watch: bool = True) -> Flask:
    """The Flask application serving ``settings.corpus``; ``watch`` rescans it for changes."""
    settings = settings or Settings()
    app = Flask(__name__)
    site = Site(settings, clock)
    app.extensions["feeds"] = site
    if watch:
        site.watch()

    @app.after_request
    def common_headers(response: Response) -> Response:
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    def serve(path: str) -> Response:
        try:
            params = _params(settings) if path.startswith("/feeds/") else Params()
        except BadRequest as err:
            return _text(400, str(err))
        rendered = site.render(path, params)
        if rendered is None:
            return _text(404, f"No feed at {path}. The list of feeds is at /.")
        return _respond(rendered, settings, path)

    @app.get(INDEX_PATH, provide_automatic_options=False)
    def index() -> Response:
        return serve(INDEX_PATH)

    @app.get(OPML_PATH, provide_automatic_options=False)
    def opml() -> Response:
        return serve(OPML_PATH)

    @app.get("/feeds/<path:rest>", provide_automatic_options=False)
    def feed(rest: str) -> Response:
        return serve(f"/feeds/{rest}")

    @app.errorhandler(404)
    def not_found(_: Exception) -> Response:
        return _text(404, f"Nothing at {request.path}. The list of feeds is at /.")

    @app.errorhandler(405)
    def not_allowed(_: Exception) -> Response:
        response = _text(405, "Only GET and HEAD are allowed.")
        response.headers["Allow"] = "GET, HEAD"
        return response

    return app


def _params(settings: Settings) -> Params:
    """Validate the query parameters of a feed request (unknown ones are ignored)."""
    args = request.args

    def single(name: str) -> str | None:
        values = args.getlist(name)
        if len(values) > 1:
            raise BadRequest(f"Give {name} once, not {len(values)} times.")
        return values[0] if values else None

    def number(name: str, low: int, high: int) -> int | None:
        value = single(name)
        if value is None:
            return None
        if not (value.isascii() and value.isdigit() and len(value) <= 9) or not low <= int(value) <= high:
            raise BadRequest(f"{name} must be a whole number from {low} to {high}.")
        return int(value)

    order = single("order")
    if order is not None and order not in {o.value for o in Order}:
        raise BadRequest("order must be latest or hot.")
    return Params(
        min_heat=number("min_heat", 0, MAX_HEAT),
        min_quality=number("min_quality", 0, 100),
        order=Order(order) if order is not None else None,
        limit=number("limit", 1, settings.max_limit),
    )


def _respond(rendered: Rendered, settings: Settings, path: str) -> Response:
    document = rendered.document
    gzipped = request.accept_encodings["gzip"] > 0 or request.accept_encodings["x-gzip"] > 0
    etag = rendered.gzip_etag if gzipped else document.etag
    headers = {
        "Content-Type": document.content_type,
        "ETag": etag,
        "Last-Modified": http_date(document.last_modified),
        "Cache-Control": f"public, max-age={settings.cache_max_age}",
        "Vary": "Accept-Encoding",
    }
    if path.startswith("/feeds/"):
        headers["Access-Control-Allow-Origin"] = "*"
        headers["Link"] = _link_header(path, settings)
    if _not_modified(document, (document.etag, rendered.gzip_etag)):
        return Response(status=304, headers={k: v for k, v in headers.items() if k != "Content-Type"})
    body = rendered.gzipped if gzipped else document.body
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    response = Response(body, status=200, headers=headers)
    return response


def _not_modified(document: Document, etags: tuple[str, ...]) -> bool:
    """RFC 9110 §13.2.2: If-None-Match (weak comparison) wins over If-Modified-Since."""
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        tags: ETags = parse_etags(if_none_match)
        return tags.star_tag or any(tags.contains_weak(tag.strip('"')) for tag in etags)
    since = parse_date(request.headers.get("If-Modified-Since"))
    return since is not None and document.last_modified <= since


def _link_header(path: str, settings: Settings) -> str:
    stem, _, ext = path.rpartition(".")
    links = [f'<{settings.base_url}{path.lstrip("/")}>; rel="self"']
    for fmt in Format:
        if fmt.value != ext:
            href = f"{settings.base_url}{stem.lstrip('/')}.{fmt.value}"
            links.append(f'<{href}>; rel="alternate"; type="{fmt.media_type}"')
    return ", ".join(links)


def _text(status: int, message: str) -> Response:
    return Response(message + "\n", status=status, content_type="text/plain; charset=utf-8")
