"""Telling hubs that feeds changed: a form POST of ``hub.mode=publish`` and ``hub.url``
for each feed, as hubs take it (WebSub §6 leaves the form to the hubs; this is the one
of PubSubHubbub 0.3 §7.1 that they follow).

One request names every feed that changed (``hub.url`` repeated, up to
:data:`MAX_BATCH`), as that form allows; a hub that answers such a request with a 4xx
is sent one feed a request from then on, and ``ping_batch = false`` sends one feed a
request to every hub. Each hub has a thread of its own, so a slow hub delays only its
own pings; feeds that change while a ping is under way go together in the next.
"""

from __future__ import annotations

import http.client
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from urllib.parse import urlencode

from . import net

log = logging.getLogger(__name__)

PING_ATTEMPTS = 3
PING_BACKOFF = (1.0, 3.0)
"""Seconds before the second and the third attempt."""
PING_CONNECT_TIMEOUT = 3.0
PING_TIMEOUT = 5.0
"""Seconds one ping may take in all."""
MAX_BATCH = 50
"""Feeds named in one request at most."""
FORM = "application/x-www-form-urlencoded"

Send = Callable[..., net.Answer]


class Pinger:
    """Pings to every hub of ``hubs``, sent in the background."""

    def __init__(self, hubs: Sequence[str], *, batch: bool = True, send: Send = net.request) -> None:
        self.hubs = [_Hub(url, batch, send) for url in hubs]

    def ping(self, topics: Iterable[str]) -> None:
        """Tell every hub that ``topics`` changed, and return at once."""
        wanted = list(dict.fromkeys(topics))
        if wanted:
            for hub in self.hubs:
                hub.add(wanted)

    def wait(self, timeout: float) -> list[str]:
        """Wait at most ``timeout`` seconds for every ping to be sent; one line for each
        hub that was not told of every feed, or that did not answer in time."""
        deadline = time.monotonic() + timeout
        problems: list[str] = []
        for hub in self.hubs:
            left = hub.settle(deadline - time.monotonic())
            problems.extend(hub.failures)
            if left:
                problems.append(
                    f"{hub.url}: no answer within {timeout:g} s; gave up on telling it of {left} feeds"
                )
        return problems


class _Hub:
    def __init__(self, url: str, batch: bool, send: Send) -> None:
        self.url = url
        self.batch = batch
        self.send = send
        self.failures: deque[str] = deque(maxlen=100)
        self._pending: dict[str, None] = {}
        self._sending = 0
        self._changes = threading.Condition()
        self._thread: threading.Thread | None = None

    def add(self, topics: list[str]) -> None:
        with self._changes:
            self._pending.update(dict.fromkeys(topics))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="feeds-ping", daemon=True)
                self._thread.start()
            self._changes.notify_all()

    def settle(self, timeout: float) -> int:
        """Wait until nothing is left to send; how many feeds are left."""
        with self._changes:
            self._changes.wait_for(lambda: not self._pending and not self._sending, max(timeout, 0.0))
            return len(self._pending) + self._sending

    def _run(self) -> None:
        while True:
            with self._changes:
                self._changes.wait_for(lambda: bool(self._pending))
                topics = list(self._pending)
                self._pending.clear()
                self._sending = len(topics)
            try:
                self._send_all(topics)
            finally:
                with self._changes:
                    self._sending = 0
                    self._changes.notify_all()

    def _send_all(self, topics: list[str]) -> None:
        size = MAX_BATCH if self.batch else 1
        for start in range(0, len(topics), size):
            self._send(topics[start : start + size])

    def _send(self, topics: list[str]) -> None:
        body = urlencode([("hub.mode", "publish"), *(("hub.url", topic) for topic in topics)]).encode()
        problem = ""
        for attempt in range(1, PING_ATTEMPTS + 1):
            try:
                answer = self.send(
                    "POST",
                    self.url,
                    headers=[("Content-Type", FORM)],
                    body=body,
                    guard=False,  # the operator's own hubs, wherever they are
                    max_body=1024,
                    connect_timeout=PING_CONNECT_TIMEOUT,
                    total_timeout=PING_TIMEOUT,
                )
            except (net.Refused, OSError, http.client.HTTPException) as err:
                problem = net.describe(err)
            else:
                if 200 <= answer.status < 300:
                    return
                problem = f"HTTP {answer.status}"
                if 400 <= answer.status < 500 and len(topics) > 1:
                    log.info(
                        "hub %s refused a ping of %d feeds (%s); one feed a ping from now on",
                        *(self.url, len(topics), problem),
                    )
                    self.batch = False
                    for topic in topics:
                        self._send([topic])
                    return
            log.warning(
                "ping of %s for %d feeds failed (attempt %d of %d): %s",
                *(self.url, len(topics), attempt, PING_ATTEMPTS, problem),
            )
            if attempt < PING_ATTEMPTS:
                time.sleep(PING_BACKOFF[attempt - 1])
        self.failures.append(
            f"{self.url}: not told of {len(topics)} feeds: {problem} ({PING_ATTEMPTS} attempts)"
        )
