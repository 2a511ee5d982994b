"""HTTP as feeds speaks it: a rendered document's answers (RFC 9110 validators, gzip), the
headers every answer of a document carries, and what a request's headers say."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from werkzeug.datastructures import ETags
from werkzeug.http import http_date, parse_accept_header, parse_date, parse_etags

from .archives import parse_archive_path
from .builders import FEED_FORMATS
from .builders.uri import as_uri
from .catalogue import FEEDS_PREFIX, INDEX_PATH
from .config import Settings
from .pages import HEADER_POLICY
from .publication import HTML_TYPE, Document, Params
from .websub.links import hub_links

STATUS_LINES = {200: "200 OK", 304: "304 Not Modified"}
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


def document_headers(
    document: Document, settings: Settings, path: str, params: Params, *, vary: str
) -> tuple[tuple[str, str], ...]:
    """The headers of every answer of a document, 200 or 304, in either encoding."""
    headers = [
        ("Last-Modified", http_date(document.last_modified)),
        ("Cache-Control", document.cache_control(settings.cache_max_age)),
        ("Vary", vary),
        ("X-Content-Type-Options", "nosniff"),
    ]
    if document.content_type == HTML_TYPE:
        headers.append(("Content-Security-Policy", HEADER_POLICY))
    if path != INDEX_PATH:
        headers.append(("Access-Control-Allow-Origin", "*"))  # web-based readers fetch feeds cross-origin
    if path.startswith(FEEDS_PREFIX):
        headers.append(("Link", link_header(path, params, settings)))
    return tuple(headers)


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


def link_header(path: str, params: Params, settings: Settings) -> str:
    """``self`` and the same feed in the other formats, with the request's parameters,
    then the WebSub hubs of a feed with none (written as the document writes them)."""
    stem, _, ext = path.rpartition(".")
    suffix = params.suffix()
    base = settings.base_url + stem.lstrip("/")
    links = []
    for fmt in FEED_FORMATS:
        rel = "self" if fmt.value == ext else "alternate"
        links.append(f'<{as_uri(f"{base}.{fmt.value}{suffix}")}>; rel="{rel}"; type="{fmt.media_type}"')
    if parse_archive_path(path) is None:  # hubs tell of the current documents only
        links += hub_links(params.hubs(settings))
    return ", ".join(links)
