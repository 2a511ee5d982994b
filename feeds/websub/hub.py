"""The hub's work, in the one process of ``feeds serve`` that watches the corpus: it
notices which feeds changed, tells the hubs of ``hubs``, verifies subscription requests
(WebSub §5.3), delivers each change to the subscribers of its topic (§7, §7.1) and ends
expired leases. The web workers only record requests (:mod:`.endpoint`), so however
many workers there are, each request is verified once and each change delivered once.

A feed changed when its bytes did: what each feed is made of (its fingerprint) and its
ETag are kept in the store, so a feed whose parts changed but whose bytes did not
(a file renamed, a field no feed shows) is no change, and a change made while the
server was stopped is told of when it starts again.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import logging
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, wait
from datetime import datetime
from functools import partial
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

from ..config import Settings
from ..index import CorpusIndex
from ..publication import Document, Publication
from . import net
from .links import hub_links, hub_urls, topic_url
from .ping import Pinger
from .pool import Pool
from .store import Delivery, Mode, Pending, Store, store_path

log = logging.getLogger(__name__)
T = TypeVar("T")

POLL = 0.5
"""Seconds between two looks at the index and the store."""
DELIVERY_BACKOFF = (15.0, 60.0, 300.0, 900.0)
"""Seconds before each further attempt of a delivery that failed: five attempts in all
(about 21 minutes), then that change is dropped for that subscriber."""
THREADS = 8
"""Requests to subscribers under way at once; :data:`QUEUED` more may wait for one."""
QUEUED = 56

Outcome = int | str
"""An HTTP status, or why there was none."""


class Hub:
    """Pings, verifications, deliveries and leases, one round per :meth:`run_pending`."""

    def __init__(
        self,
        settings: Settings,
        index: CorpusIndex,
        *,
        resolver: net.Resolver = net.system_resolver,
        send: Callable[..., net.Answer] = net.request,
    ) -> None:
        self.settings = settings
        self.index = index
        self.store = Store(store_path(settings))
        self.hubs = hub_urls(settings)
        self.pinger = Pinger(settings.hubs, batch=settings.ping_batch, send=send) if settings.hubs else None
        self._resolver = resolver
        self._send = send
        self._guard = not settings.hub_private_callbacks
        self._pool = Pool(THREADS, "feeds-hub")
        self._verifying: dict[int, tuple[Pending, float, Future[str | None]]] = {}
        self._delivering: dict[tuple[str, str], tuple[Delivery, Future[Outcome]]] = {}
        self._publication: Publication | None = None
        self._generation = -1
        self._paths: dict[str, str] = {}
        """The URL path of each topic of the current publication."""
        self._documents: dict[str, Document] = {}
        """Documents of the current publication rendered for deliveries, by topic."""

    def run_pending(self, now: datetime) -> None:
        """One round: take up what requests and deliveries answered, look for changed
        feeds, end expired leases, start the verifications and deliveries now due."""
        at = now.timestamp()
        self._finish(at)
        self._look(now)
        expired = self.store.expire(at)
        if expired:
            log.info("%d WebSub subscriptions expired", expired)
        if self.settings.hub:
            self._verify_pending(at)
            self._deliver_due(at)

    def settle(self, timeout: float) -> None:
        """Wait at most ``timeout`` seconds for the requests under way to be answered."""
        futures: list[Future[Any]] = [entry[2] for entry in self._verifying.values()]
        futures += [entry[1] for entry in self._delivering.values()]
        wait(futures, timeout)

    def run_forever(self, clock: Callable[[], datetime]) -> None:
        """A round every :data:`POLL` seconds, until the process ends."""
        while True:
            try:
                self.run_pending(clock())
            except Exception:  # the edge of this thread: log, and go on with the next round
                log.exception("WebSub round failed; trying again")
            time.sleep(POLL)

    # -- changes ----------------------------------------------------------------------

    def _look(self, now: datetime) -> None:
        generation = self.index.generation
        held = self._publication
        if held is not None and generation == self._generation:
            due = held.selection.next_change
            if due is None or due > now:
                return
        selection = self.index.selection(now, self.settings.collapsing)
        publication = Publication.from_source(selection, self.settings)
        self._generation = generation
        changed = self._compare(publication, now.timestamp())
        self._publication = publication
        if changed:
            told = [f"pinging {len(self.pinger.hubs)} hubs"] if self.pinger is not None else []
            told += ["delivering to the subscribers"] if self.settings.hub else []
            log.info("%d feeds changed; %s", len(changed), " and ".join(told))
            if self.pinger is not None:
                self.pinger.ping(changed)
            self.store.changed(changed, now.timestamp())

    def _compare(self, publication: Publication, at: float) -> list[str]:
        """The topics of ``publication`` whose bytes differ from the ones last seen (none
        at the very first look, which only takes note); notes the new ones."""
        known = self.store.documents()
        subscribed = {topic for topic, _ in self.store.subscriptions(at)}
        feeds = publication.catalogue.feed_paths(pages=False)
        self._paths = {topic_url(self.settings, path): path for path in feeds}
        self._documents = {}
        changed: list[str] = []
        notes: dict[str, tuple[str, str]] = {}
        for topic, path in self._paths.items():
            fingerprint = publication.fingerprint(path)
            old = (known or {}).get(topic)
            if fingerprint is None or (old is not None and old[0] == fingerprint):
                continue
            document = publication.render(path)
            if document is None:
                continue
            notes[topic] = (fingerprint, document.etag)
            if known is not None and (old is None or old[1] != document.etag):
                changed.append(topic)
                if topic in subscribed:
                    self._documents[topic] = document
        self.store.save_documents(notes, set(known or ()) - set(self._paths))
        if self._publication is None:
            log.info("WebSub: watching %d feeds; changes are told from now on", len(self._paths))
        return changed

    def _document(self, topic: str) -> Document | None:
        held = self._documents.get(topic)
        path = self._paths.get(topic)
        if held is None and path is not None and self._publication is not None:
            held = self._publication.render(path)
            if held is not None:
                self._documents[topic] = held
        return held

    # -- verification of intent (§5.3) --------------------------------------------------

    def _room(self) -> int:
        return THREADS + QUEUED - len(self._verifying) - len(self._delivering)

    def _verify_pending(self, at: float) -> None:
        for pending in self.store.pending(self._room(), skip=self._verifying):
            future = self._pool.submit(partial(self._verify, pending))
            self._verifying[pending.id] = (pending, at, future)

    def _verify(self, pending: Pending) -> str | None:
        """Why the callback did not confirm ``pending``, or ``None`` if it did."""
        intent = pending.intent
        challenge = secrets.token_urlsafe(32)
        query = [("hub.mode", intent.mode.value), ("hub.topic", intent.topic), ("hub.challenge", challenge)]
        if intent.mode is Mode.SUBSCRIBE:
            query.append(("hub.lease_seconds", str(intent.lease)))
        callback = intent.callback
        joint = "&" if urlsplit(callback).query else ("" if callback.endswith("?") else "?")
        try:
            answer = self._send(
                "GET",
                f"{callback}{joint}{urlencode(query)}",
                guard=self._guard,
                resolver=self._resolver,
                max_body=len(challenge) + 1,
            )
        except (net.Refused, OSError, http.client.HTTPException) as err:
            return net.describe(err)
        if not 200 <= answer.status < 300:
            return f"HTTP {answer.status}"
        if answer.body != challenge.encode():
            return "the answer is not the challenge"
        return None

    # -- content distribution (§7) ------------------------------------------------------

    def _deliver_due(self, at: float) -> None:
        for delivery in self.store.due(at, self._room(), skip=self._delivering):
            document = self._document(delivery.topic)
            if document is None:
                log.info("%s is no feed now; its change is not delivered", delivery.topic)
                self.store.delivered(delivery)
                continue
            future = self._pool.submit(partial(self._deliver, delivery, document))
            self._delivering[delivery.key] = (delivery, future)

    def _deliver(self, delivery: Delivery, document: Document) -> Outcome:
        links = [*hub_links(self.hubs), f'<{delivery.topic}>; rel="self"']
        headers = [("Content-Type", document.content_type), ("Link", ", ".join(links))]
        if delivery.secret is not None:
            signature = hmac.new(delivery.secret, document.body, hashlib.sha256).hexdigest()
            headers.append(("X-Hub-Signature", f"sha256={signature}"))
        try:
            answer = self._send(
                "POST",
                delivery.callback,
                headers=headers,
                body=document.body,
                guard=self._guard,
                resolver=self._resolver,
                max_body=0,
            )
        except (net.Refused, OSError, http.client.HTTPException) as err:
            return net.describe(err)
        return answer.status

    # -- answers ------------------------------------------------------------------------

    def _finish(self, at: float) -> None:
        for key, (pending, started, verifying) in list(self._verifying.items()):
            if verifying.done():
                del self._verifying[key]
                self._verified(pending, started, _outcome(verifying))
        for callback, (delivery, delivering) in list(self._delivering.items()):
            if delivering.done():
                del self._delivering[callback]
                self._delivered(delivery, _outcome(delivering), at)

    def _verified(self, pending: Pending, started: float, failure: str | None) -> None:
        intent = pending.intent
        where = f"{intent.topic} for a callback at {_host(intent.callback)}"
        if failure is None:
            self.store.verified(pending, started)
            log.info("%s of %s verified", intent.mode.value, where)
        else:
            self.store.forget(pending)
            log.warning("%s of %s not verified (%s); request dropped", intent.mode.value, where, failure)

    def _delivered(self, delivery: Delivery, outcome: Outcome, at: float) -> None:
        where = f"{delivery.topic} to a callback at {_host(delivery.callback)}"
        if isinstance(outcome, int) and 200 <= outcome < 300:
            self.store.delivered(delivery)
        elif outcome == 410:
            self.store.remove(delivery)
            log.info("delivery of %s: HTTP 410, subscription removed", where)
        elif delivery.attempts >= len(DELIVERY_BACKOFF):
            self.store.delivered(delivery)
            log.warning(
                "delivery of %s failed (%s); dropped after %d attempts",
                where,
                _said(outcome),
                delivery.attempts + 1,
            )
        else:
            wait_for = DELIVERY_BACKOFF[delivery.attempts]
            self.store.retry(delivery, at + wait_for)
            attempts = len(DELIVERY_BACKOFF) + 1
            log.warning(
                "delivery of %s failed (%s); attempt %d of %d, the next in %g s",
                *(where, _said(outcome), delivery.attempts + 1, attempts, wait_for),
            )


def start(settings: Settings, index: CorpusIndex, clock: Callable[[], datetime]) -> Hub | None:
    """Run the hub's rounds in a daemon thread of this process, if ``settings`` name hubs
    or ask for the built-in one; the caller must be the server's one watcher process."""
    if not (settings.hub or settings.hubs):
        return None
    hub = Hub(settings, index)
    threading.Thread(target=hub.run_forever, args=(clock,), name="feeds-hub", daemon=True).start()
    return hub


def _outcome(future: Future[T]) -> T | str:
    try:
        return future.result()
    except Exception as err:  # a bug in a job: log it, and count it as a failure
        log.error("WebSub request failed: %r", err)
        return net.describe(err)


def _host(url: str) -> str:
    """Only the host of a callback goes to the log: the rest of it is the subscriber's secret."""
    return urlsplit(url).netloc.rpartition("@")[2]


def _said(outcome: Outcome) -> str:
    return f"HTTP {outcome}" if isinstance(outcome, int) else outcome
