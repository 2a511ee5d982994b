"""The HTTP face: ``create_app(settings)`` serves every document of the catalogue.

Documents are rendered once per corpus version and kept in memory (an LRU of rendered
documents, gzipped beside the plain bytes); a repeated or conditional request is answered
from there. A browser that navigates to a feed (``Sec-Fetch-Dest: document``) is answered
with the feed's page; both answers say ``Vary: Sec-Fetch-Dest``. The clock is read here,
at the edge, and nowhere below.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from flask import Flask, Response, request

from .catalogue import FEEDS_PREFIX, INDEX_PATH, OPML_PATH
from .clock import utc_now
from .config import Settings
from .errors import printable
from .health import HEALTH_PATH, HEALTH_TYPE
from .http import STATUS_LINES, Rendered, navigates
from .pages import HEADER_POLICY, render_missing
from .publication import DEFAULT_PARAMS, HTML_TYPE, Params
from .select import Order
from .site import Clock, Site
from .websub.endpoint import MAX_BODY, Endpoint, topic_checker
from .websub.links import HUB_PATH

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

MAX_HEAT = 1_000_000
ALLOWED_METHODS = "GET, HEAD"


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
        if not site.ready():
            return _starting()
        try:
            params = _params(settings) if path.startswith(FEEDS_PREFIX) else DEFAULT_PARAMS
        except BadRequest as err:
            return _text(400, str(err))
        rendered = site.render(path, params, navigation=navigates(request.headers.get("Sec-Fetch-Dest")))
        if rendered is None:
            return _not_found(settings, path, f"No feed at {path}. The list of feeds is at /.")
        return _respond(rendered)

    @app.get(HEALTH_PATH, provide_automatic_options=False)
    def healthz() -> Response:
        if request.query_string:
            return _text(400, f"{HEALTH_PATH} takes no parameters.")
        status, body = site.health().answer(clock())
        response = Response(body, status=status, content_type=HEALTH_TYPE)
        response.headers["Cache-Control"] = "no-store"
        return response

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
            found = site.version.publication.catalogue.find(path)  # a page or an archive is no topic
            return found is not None and found[1].is_feed

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
        return _not_found(settings, request.path, f"Nothing at {request.path}. The list of feeds is at /.")

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
                start_response(STATUS_LINES[status], headers)
                return [b"" if method == "HEAD" else body]
        return self.app(environ, start_response)


def _not_found(settings: Settings, path: str, message: str) -> Response:
    """A 404: a page in the site's style for a browser, a short line for everyone else."""
    if not wants_a_page():
        return _text(404, message)
    body = render_missing(
        site_title=settings.site_title, language=settings.language, path=printable(path), icon=settings.icon
    )
    response = Response(body, status=404, content_type=HTML_TYPE)
    response.headers["Content-Security-Policy"] = HEADER_POLICY
    return response


def wants_a_page() -> bool:
    """Whether the request is a person's browser: it navigates, or (an older browser that
    says nothing of that) asks for HTML before plain text, as feed readers do not."""
    if navigates(request.headers.get("Sec-Fetch-Dest")):
        return True
    if request.headers.get("Sec-Fetch-Dest") is not None:
        return False  # a fetch(), an image, a frame: not a person on a page
    accepted = request.accept_mimetypes
    return (
        "text/html" in accepted.values() and accepted.best_match(["text/plain", "text/html"]) == "text/html"
    )


def _starting() -> Response:
    """What every document is while the corpus is read for the first time: not an empty
    feed, which a reader would take for a feed emptied."""
    response = _text(503, "Starting: the corpus is being read. Try again in a few seconds.")
    response.headers["Retry-After"] = "2"
    response.headers["Cache-Control"] = "no-store"
    return response


def _text(status: int, message: str) -> Response:
    return Response(message + "\n", status=status, content_type="text/plain; charset=utf-8")
