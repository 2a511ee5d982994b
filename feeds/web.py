"""The HTTP face: ``create_app(settings)`` serves every document of the catalogue.

Documents are rendered once per corpus version and kept in memory (an LRU of rendered
documents, gzipped beside the plain bytes); a repeated or conditional request is answered
from there. A browser that navigates to a feed (``Sec-Fetch-Dest: document``) is answered
with the feed's page; both answers say ``Vary: Sec-Fetch-Dest``. The clock is read here,
at the edge, and nowhere below.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from flask import Flask, Response, request
from werkzeug.datastructures import ETags
from werkzeug.http import http_date, parse_accept_header, parse_date, parse_etags

from .builders import FEED_FORMATS
from .builders.uri import as_uri
from .catalogue import FEEDS_PREFIX, INDEX_PATH, OPML_PATH
from .clock import utc_now
from .config import Settings
from .index import Refresh, open_index
from .live import Watcher
from .pages import HEADER_POLICY
from .publication import DEFAULT_PARAMS, HTML_TYPE, Document, Params, Publication, gzip_bytes
from .select import Order
from .websub.endpoint import MAX_BODY, Endpoint, topic_checker
from .websub.links import HUB_PATH, hub_links

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
TAKE_UP = 0.25
"""Seconds between two looks of a worker of ``feeds serve`` at the index for a new
generation, which the server's watcher process wrote."""
CACHE_SIZE = 512
"""Rendered documents kept per corpus version; default feeds and popular queries fit."""
MAX_HEAT = 1_000_000
ALLOWED_METHODS = "GET, HEAD"
_STATUS = {200: "200 OK", 304: "304 Not Modified"}
VARY = "Accept-Encoding"
NEGOTIATED_VARY = "Accept-Encoding, Sec-Fetch-Dest"
"""The Vary of a feed's answers: a browser's navigation gets its page, everyone else the feed."""


@dataclass(frozen=True, slots=True)
class Rendered:
    """A document as served: plain and gzipped bytes, each with its own strong ETag, and
    the headers every answer of it carries."""

    document: Document
    gzipped: bytes
    gzip_etag: str
    headers: tuple[tuple[str, str], ...]
    negotiated: bool = False
    """Whether the answer at this path depends on ``Sec-Fetch-Dest``: a feed's does, as a
    browser's navigation to a feed gets the feed's page (see :func:`navigates`)."""

    def etag(self, gzipped: bool) -> str:
        return self.gzip_etag if gzipped else self.document.etag

    def answer(
        self, *, accept_encoding: str | None, if_none_match: str | None, if_modified_since: str | None
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """Status, headers and body for a GET with these request headers (RFC 9110)."""
        gzipped = accepts_gzip(accept_encoding)
        etag = self.etag(gzipped)
        if not_modified(etag, self.document.last_modified, if_none_match, if_modified_since):
            # RFC 9110 §15.4.5: with an ETag, no Last-Modified in a 304.
            return 304, [*(h for h in self.headers if h[0] != "Last-Modified"), ("ETag", etag)], b""
        headers = [*self.headers, ("ETag", etag)]
        body = self.gzipped if gzipped else self.document.body
        headers.append(("Content-Type", self.document.content_type))
        if gzipped:
            headers.append(("Content-Encoding", "gzip"))
        headers.append(("Content-Length", str(len(body))))
        return 200, headers, body


class Version:
    """One published state of the site: a publication and the documents rendered from it.

    A request takes the current version once and uses only it, so it never mixes two.
    """

    __slots__ = ("publication", "cache", "generation")

    def __init__(self, publication: Publication, generation: int) -> None:
        self.publication = publication
        self.cache: OrderedDict[tuple[str, Params, bool], Rendered] = OrderedDict()
        """By path, parameters and whether the request is a browser's navigation."""
        self.generation = generation


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
            generation = self.index.generation
            selection = self.index.selection(self.clock())
            return Version(Publication.from_source(selection, self.settings), generation)

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
            headers = _headers(shown.document, self.settings, page, params, vary=NEGOTIATED_VARY)
            rendered = replace(shown, headers=headers, negotiated=True)
        else:
            document = self.index.recovering(lambda: version.publication.render(path, params))
            if document is None:
                return None
            gz = gzip_bytes(document.body)
            negotiated = version.publication.page_path(path) is not None
            vary = NEGOTIATED_VARY if negotiated else VARY
            headers = _headers(document, self.settings, path, params, vary=vary)
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


class BadRequest(Exception):
    pass


def create_app(
    settings: Settings | None = None, *, clock: Clock = utc_now, watch: bool = True, scan: bool = True
) -> Flask:
    """The Flask application serving ``settings.corpus``; ``watch`` keeps it current (from
    the first request on, in each process): by rescanning the corpus, or, with
    ``scan=False``, by taking up what another process (``feeds serve``'s watcher) indexed.

    ``app.extensions["feeds"]`` is the :class:`Site`; ``close()`` it to stop watching.
    With ``settings.hub``, ``app.extensions["feeds-hub"]`` is the hub's
    :class:`~feeds.websub.endpoint.Endpoint`. Raises FeedsError if the corpus folder does
    not exist.
    """
    settings = settings or Settings()
    app = Flask(__name__)
    site = Site(settings, clock, scan=scan)
    app.extensions["feeds"] = site
    if watch:

        @app.before_request
        def keep_watching() -> None:
            site.watch()

    @app.after_request
    def common_headers(response: Response) -> Response:
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    app.wsgi_app = _CachedAnswers(app.wsgi_app, site, watch)  # type: ignore[method-assign]

    def serve(path: str) -> Response:
        try:
            params = _params(settings) if path.startswith(FEEDS_PREFIX) else DEFAULT_PARAMS
        except BadRequest as err:
            return _text(400, str(err))
        rendered = site.render(path, params, navigation=navigates(request.headers.get("Sec-Fetch-Dest")))
        if rendered is None:
            return _text(404, f"No feed at {path}. The list of feeds is at /.")
        return _respond(rendered)

    @app.get(INDEX_PATH, provide_automatic_options=False)
    def index() -> Response:
        return serve(INDEX_PATH)

    @app.get(OPML_PATH, provide_automatic_options=False)
    def opml() -> Response:
        return serve(OPML_PATH)

    @app.get(f"{FEEDS_PREFIX}<path:rest>", provide_automatic_options=False)
    def feed(rest: str) -> Response:
        return serve(f"{FEEDS_PREFIX}{rest}")

    if settings.hub:
        endpoint = app.extensions["feeds-hub"] = Endpoint(settings)

        def is_feed(path: str) -> bool:
            return site.version.publication.page_path(path) is not None  # a page is no topic

        topic_of = topic_checker(settings, is_feed)

        @app.post(HUB_PATH, provide_automatic_options=False)
        def hub() -> Response:
            if (request.content_length or 0) > MAX_BODY:
                return _text(413, f"The request body must be at most {MAX_BODY} bytes.")
            body = request.stream.read(MAX_BODY + 1)
            reply = endpoint.handle(request.headers.get("Content-Type"), body, topic_of)
            return _text(reply.status, reply.message)

    @app.errorhandler(404)
    def not_found(_: Exception) -> Response:
        return _text(404, f"Nothing at {request.path}. The list of feeds is at /.")

    @app.errorhandler(405)
    def not_allowed(_: Exception) -> Response:
        if settings.hub and request.path == HUB_PATH:
            response = _text(405, "Only POST is allowed: this is a WebSub hub.")
            response.headers["Allow"] = "POST"
            return response
        response = _text(405, f"Only {ALLOWED_METHODS} are allowed.")
        response.headers["Allow"] = ALLOWED_METHODS
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
        raise BadRequest(f"order must be one of: {', '.join(o.value for o in Order)}.")
    return Params(
        min_heat=number("min_heat", 0, MAX_HEAT),
        min_quality=number("min_quality", 0, 100),
        order=Order(order) if order is not None else None,
        limit=number("limit", 1, settings.max_limit),
    )


def _headers(
    document: Document, settings: Settings, path: str, params: Params, *, vary: str
) -> tuple[tuple[str, str], ...]:
    """The headers of every answer of a document, 200 or 304, in either encoding."""
    headers = [
        ("Last-Modified", http_date(document.last_modified)),
        ("Cache-Control", f"public, max-age={settings.cache_max_age}"),
        ("Vary", vary),
        ("X-Content-Type-Options", "nosniff"),
    ]
    if document.content_type == HTML_TYPE:
        headers.append(("Content-Security-Policy", HEADER_POLICY))
    if path != INDEX_PATH:
        headers.append(("Access-Control-Allow-Origin", "*"))  # web-based readers fetch feeds cross-origin
    if path.startswith(FEEDS_PREFIX):
        headers.append(("Link", _link_header(path, params, settings)))
    return tuple(headers)


def _respond(rendered: Rendered) -> Response:
    status, headers, body = rendered.answer(
        accept_encoding=request.headers.get("Accept-Encoding"),
        if_none_match=request.headers.get("If-None-Match"),
        if_modified_since=request.headers.get("If-Modified-Since"),
    )
    response = Response(body, status=status)
    response.headers.clear()
    response.headers.extend(headers)
    return response


class _CachedAnswers:
    """WSGI middleware: a GET or HEAD with no query of a document already rendered is
    answered here, from the cache, without Flask's request machinery; everything else
    goes on to the app. Pollers mostly ask for the same few documents again and again."""

    def __init__(self, app: WSGIApplication, site: Site, watch: bool) -> None:
        self.app = app
        self.site = site
        self.watch = watch

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD")
        if (method == "GET" or method == "HEAD") and not environ.get("QUERY_STRING"):
            if self.watch:
                self.site.watch()
            path = environ.get("PATH_INFO", "")
            rendered = self.site.rendered(path)
            # Only a feed's answer depends on Sec-Fetch-Dest: a poller pays one header lookup.
            if rendered is not None and rendered.negotiated:
                navigation = navigates(environ.get("HTTP_SEC_FETCH_DEST"))
                rendered = self.site.rendered(path, navigation=True) if navigation else rendered
            if rendered is not None:
                status, headers, body = rendered.answer(
                    accept_encoding=environ.get("HTTP_ACCEPT_ENCODING"),
                    if_none_match=environ.get("HTTP_IF_NONE_MATCH"),
                    if_modified_since=environ.get("HTTP_IF_MODIFIED_SINCE"),
                )
                start_response(_STATUS[status], headers)
                return [b"" if method == "HEAD" else body]
        return self.app(environ, start_response)


def navigates(sec_fetch_dest: str | None) -> bool:
    """Whether a request's ``Sec-Fetch-Dest`` says that a person is navigating in a
    browser, to show the document; feed readers, ``fetch()`` and curl send another or none."""
    return sec_fetch_dest is not None and sec_fetch_dest.strip().lower() == "document"


def accepts_gzip(header: str | None) -> bool:
    """Whether an Accept-Encoding value allows gzip (RFC 9110 §12.5.3).

    ``gzip`` (or ``x-gzip``) named with q > 0, or else ``*`` with q > 0. A named coding
    wins over ``*`` whatever the order, so ``gzip;q=0, *`` refuses gzip.
    """
    named: float | None = None
    anything: float | None = None
    for coding, quality in parse_accept_header(header):
        coding = str(coding).lower()
        if coding in {"gzip", "x-gzip"}:
            named = max(named or 0.0, quality)
        elif coding == "*":
            anything = quality
    if named is not None:
        return named > 0
    return anything is not None and anything > 0


def not_modified(
    etag: str, last_modified: datetime, if_none_match: str | None, if_modified_since: str | None
) -> bool:
    """RFC 9110 §13.1: If-None-Match (weak comparison) decides when sent, else If-Modified-Since.

    ``etag`` is the validator of the representation this request selects, so a client
    holding the gzipped copy revalidates with the gzip ETag and the other with the plain one.
    """
    if if_none_match is not None:
        if if_none_match == etag:
            return True  # what pollers send: no need to parse
        tags: ETags = parse_etags(if_none_match)
        return tags.star_tag or tags.contains_weak(etag.strip('"'))
    since = parse_date(if_modified_since)
    # HTTP dates have whole seconds; the document's date may not.
    return since is not None and last_modified.replace(microsecond=0) <= since


def _link_header(path: str, params: Params, settings: Settings) -> str:
    """``self`` and the same feed in the other formats, with the request's parameters,
    then the WebSub hubs of a feed with none (written as the document writes them)."""
    stem, _, ext = path.rpartition(".")
    suffix = params.suffix()
    base = settings.base_url + stem.lstrip("/")
    links = []
    for fmt in FEED_FORMATS:
        rel = "self" if fmt.value == ext else "alternate"
        links.append(f'<{as_uri(f"{base}.{fmt.value}{suffix}")}>; rel="{rel}"; type="{fmt.media_type}"')
    links += hub_links(params.hubs(settings))
    return ", ".join(links)


def _text(status: int, message: str) -> Response:
    return Response(message + "\n", status=status, content_type="text/plain; charset=utf-8")
