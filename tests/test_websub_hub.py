"""The built-in hub, round by round, on a clock the test sets: verification of intent
(WebSub §5.3), leases, content distribution (§7) with its signature, retries and their
end, what counts as a change, and a restart. Requests reach it through the app, and it
calls back a real subscriber on loopback."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import feedparser
import pytest
from flask.testing import FlaskClient

from feeds.config import Settings
from feeds.index import CorpusIndex, open_index
from feeds.publication import Publication
from feeds.web import create_app
from feeds.websub.hub import DELIVERY_BACKOFF, Hub
from tests import websub_peers
from tests.conftest import CorpusWriter
from tests.test_web import feed_urls, story, url_of
from tests.websub_peers import StandInHub, Subscriber

BASE = "http://feeds.test/"
TOPIC = f"{BASE}feeds/ai.atom"
START = datetime(2026, 1, 1, tzinfo=UTC)
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@dataclass
class Rig:
    """A corpus, its index, the app that takes requests, and the hub, at ``now``."""

    corpus: Path
    settings: Settings
    index: CorpusIndex
    client: FlaskClient
    hub: Hub
    now: datetime = START

    def ask(self, mode: str, topic: str, callback: str, **extra: str) -> tuple[int, str]:
        fields = {"hub.mode": mode, "hub.topic": topic, "hub.callback": callback}
        fields |= {f"hub.{name}": value for name, value in extra.items()}
        response = self.client.post("/websub", data=urlencode(fields), headers=FORM)
        return response.status_code, response.get_data(as_text=True)

    def subscribe(self, topic: str, callback: str, **extra: str) -> None:
        assert self.ask("subscribe", topic, callback, **extra)[0] == 202

    def round(self, after: float = 0.0) -> None:
        """Let ``after`` seconds pass, then run a round, wait for its requests, and take up
        their answers."""
        self.now += timedelta(seconds=after)
        self.hub.run_pending(self.now)
        self.hub.settle(10)
        self.hub.run_pending(self.now)

    def write(self, name: str, text: str) -> None:
        (self.corpus / name).write_text(text, encoding="utf-8")
        self.index.refresh()

    def served(self, path: str) -> bytes:
        document = Publication.from_source(self.index.selection(self.now), self.settings).render(path)
        assert document is not None
        return document.body

    def restart(self) -> None:
        self.hub = Hub(self.settings, self.index)


def make_rig(corpus: Path, tmp_path: Path, **changes: object) -> Rig:
    settings = Settings(
        corpus=corpus,
        base_url=BASE,
        hub=True,
        hub_private_callbacks=True,
        index=str(tmp_path / "index.sqlite3"),
        hub_store=str(tmp_path / "hub.sqlite3"),
        hub_lease_min=60,
        hub_lease_default=20_000,
        hub_lease_max=86400,
    )
    settings = replace(settings, **changes)  # type: ignore[arg-type]
    index = open_index(settings)
    index.refresh()
    made: list[Rig] = []
    client = create_app(settings, clock=lambda: made[0].now if made else START, watch=False).test_client()
    made.append(Rig(corpus, settings, index, client, Hub(settings, index)))
    made[0].round()  # the first look: every feed noted
    return made[0]


@pytest.fixture
def corpus(write_corpus: CorpusWriter) -> Path:
    return write_corpus({"a.txt": story(1, topics=["AI"], heat=80), "b.txt": story(2, topics=["Space"])})


@pytest.fixture
def rig(corpus: Path, tmp_path: Path) -> Iterator[Rig]:
    made = make_rig(corpus, tmp_path)
    yield made
    made.index.close()


subscriber = websub_peers.subscriber


# -- verification of intent ---------------------------------------------------------------------


def test_a_subscription_is_verified_then_each_change_delivered_signed(
    rig: Rig, subscriber: Subscriber
) -> None:
    callback = subscriber.callback("main", "id=7&hub.mode=keep")
    status, text = rig.ask("subscribe", TOPIC, callback, secret="s3cret", lease_seconds="7200")
    assert (status, text) == (202, "Accepted: the hub now asks the callback to confirm this subscribe.\n")
    assert subscriber.seen == []  # verification is the hub process's work, never the request's
    rig.round()
    (verification,) = subscriber.verifications("main")
    # the callback's own query first, untouched; the hub's parameters after it (§5.1.2)
    assert verification.target.startswith("/main/cb?id=7&hub.mode=keep&hub.mode=subscribe&hub.topic=")
    assert verification.query["hub.topic"] == TOPIC and verification.query["hub.lease_seconds"] == "7200"
    challenge = verification.query["hub.challenge"]
    assert len(challenge) >= 32
    assert rig.hub.store.subscriptions(rig.now.timestamp()) == [(TOPIC, callback)]

    rig.write("c.txt", story(3, topics=["AI"]))
    rig.round()
    (delivery,) = subscriber.deliveries("main")
    assert delivery.target == "/main/cb?id=7&hub.mode=keep"
    assert delivery.body == rig.served("/feeds/ai.atom")
    assert delivery.signed_with(b"s3cret")
    assert delivery.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    assert delivery.headers["Link"] == f'<{BASE}websub>; rel="hub", <{TOPIC}>; rel="self"'
    assert feed_urls("atom", delivery.body) == [url_of(3), url_of(1)]
    assert not feedparser.parse(delivery.body).bozo
    rig.round(60)
    assert len(subscriber.deliveries("main")) == 1  # one change, one delivery
    # each verification has a challenge of its own
    rig.subscribe(TOPIC, callback, secret="s3cret")
    rig.round()
    assert subscriber.verifications("main")[1].query["hub.challenge"] != challenge


@pytest.mark.parametrize(
    ("asked", "granted"), [(None, "20000"), ("10", "60"), ("7200", "7200"), ("999999999999", "86400")]
)
def test_leases_are_the_default_or_as_asked_within_bounds(
    rig: Rig, subscriber: Subscriber, asked: str | None, granted: str
) -> None:
    rig.subscribe(TOPIC, subscriber.callback("s"), **({"lease_seconds": asked} if asked else {}))
    rig.round()
    assert subscriber.verifications("s")[0].query["hub.lease_seconds"] == granted


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ((404, [], b"no"), "HTTP 404"),
        ((500, [], b""), "HTTP 500"),
        ((200, [], b"something else"), "the answer is not the challenge"),
        ((302, [("Location", "http://127.0.0.1:1/")], b""), "HTTP 302"),
    ],
)
def test_only_an_echo_of_the_challenge_makes_a_subscription(
    rig: Rig,
    subscriber: Subscriber,
    caplog: pytest.LogCaptureFixture,
    answer: tuple[int, list[tuple[str, str]], bytes],
    why: str,
) -> None:
    subscriber.verify_answers["no"] = answer
    rig.subscribe(TOPIC, subscriber.callback("no"))
    with caplog.at_level(logging.INFO, "feeds.websub"):
        rig.round()
    assert len(subscriber.verifications("no")) == 1  # asked once, and no redirect followed
    assert rig.hub.store.subscriptions(rig.now.timestamp()) == []
    assert rig.hub.store.pending(10) == []  # dropped
    assert (
        f"subscribe of {TOPIC} for a callback at 127.0.0.1:{subscriber.port} not verified ({why})"
        in caplog.text
    )
    rig.write("c.txt", story(3, topics=["AI"]))
    rig.round()
    assert subscriber.deliveries("no") == []


def test_a_failed_renewal_leaves_the_subscription_as_it_was(rig: Rig, subscriber: Subscriber) -> None:
    callback = subscriber.callback("r")
    rig.subscribe(TOPIC, callback, secret="old", lease_seconds="600")
    rig.round()
    rig.subscribe(TOPIC, callback, secret="new", lease_seconds="7200")
    subscriber.verify_answers["r"] = (404, [], b"")  # say a stranger asked for it
    rig.round(300)
    rig.write("c.txt", story(3, topics=["AI"]))
    rig.round()
    assert subscriber.deliveries("r")[-1].signed_with(b"old")
    rig.round(301)  # the old lease, from the first verification, has run out
    assert rig.hub.store.subscriptions(rig.now.timestamp()) == []

    del subscriber.verify_answers["r"]
    rig.subscribe(TOPIC, callback, secret="new", lease_seconds="7200")
    rig.round()
    rig.write("d.txt", story(4, topics=["AI"]))
    rig.round(3600)
    assert subscriber.deliveries("r")[-1].signed_with(b"new")


def test_unsubscribing_ends_deliveries(rig: Rig, subscriber: Subscriber) -> None:
    rig.subscribe(TOPIC, subscriber.callback("u"))
    rig.round()
    assert rig.ask("unsubscribe", TOPIC, subscriber.callback("u"), lease_seconds="nonsense")[0] == 202
    rig.round()
    verification = subscriber.verifications("u")[-1]
    assert verification.query["hub.mode"] == "unsubscribe" and "hub.challenge" in verification.query
    rig.write("c.txt", story(3, topics=["AI"]))
    rig.round()
    assert subscriber.deliveries("u") == []


def test_unsubscribing_from_nothing_calls_no_one(rig: Rig, subscriber: Subscriber) -> None:
    assert rig.ask("unsubscribe", TOPIC, subscriber.callback("never"))[0] == 202
    rig.round()
    assert subscriber.seen == []


def test_a_lease_expires(rig: Rig, subscriber: Subscriber, caplog: pytest.LogCaptureFixture) -> None:
    rig.subscribe(TOPIC, subscriber.callback("short"), lease_seconds="60")
    rig.subscribe(TOPIC, subscriber.callback("long"), lease_seconds="600")
    rig.round()
    with caplog.at_level(logging.INFO, "feeds.websub"):
        rig.round(60)
    assert "1 WebSub subscriptions expired" in caplog.text
    assert rig.hub.store.subscriptions(rig.now.timestamp()) == [(TOPIC, subscriber.callback("long"))]
    rig.write("c.txt", story(3, topics=["AI"]))
    rig.round()
    assert subscriber.deliveries("short") == [] and len(subscriber.deliveries("long")) == 1


# -- content distribution ------------------------------------------------------------------------


def test_a_failing_delivery_is_retried_with_backoff_then_dropped(
    rig: Rig, subscriber: Subscriber, caplog: pytest.LogCaptureFixture
) -> None:
    rig.subscribe(TOPIC, subscriber.callback("down"))
    rig.round()
    subscriber.statuses["down"] = 503
    rig.write("c.txt", story(3, topics=["AI"]))
    with caplog.at_level(logging.INFO, "feeds.websub"):
        rig.round()
        for wait in DELIVERY_BACKOFF:
            count = len(subscriber.deliveries("down"))
            rig.round(wait - 1)
            assert len(subscriber.deliveries("down")) == count  # not before its time
            rig.round(1)
            assert len(subscriber.deliveries("down")) == count + 1
        rig.round(10 * DELIVERY_BACKOFF[-1])
    attempts = len(DELIVERY_BACKOFF) + 1
    assert len(subscriber.deliveries("down")) == attempts
    assert f"failed (HTTP 503); dropped after {attempts} attempts" in caplog.text
    assert f"attempt 1 of {attempts}, the next in {DELIVERY_BACKOFF[0]:g} s" in caplog.text
    # the subscription stays, and the next change is tried again from the start
    subscriber.statuses["down"] = 202
    rig.write("d.txt", story(4, topics=["AI"]))
    rig.round()
    assert len(subscriber.deliveries("down")) == attempts + 1
    assert url_of(4) in feed_urls("atom", subscriber.deliveries("down")[-1].body)


def test_a_new_change_is_delivered_at_once_to_a_failing_subscriber(rig: Rig, subscriber: Subscriber) -> None:
    rig.subscribe(TOPIC, subscriber.callback("flaky"))
    rig.round()
    subscriber.statuses["flaky"] = 500
    rig.write("c.txt", story(3, topics=["AI"]))
    rig.round()
    subscriber.statuses["flaky"] = 204
    rig.write("d.txt", story(4, topics=["AI"]))
    rig.round()  # well before the retry was due
    deliveries = subscriber.deliveries("flaky")
    assert len(deliveries) == 2 and url_of(4) in feed_urls("atom", deliveries[1].body)
    rig.round(DELIVERY_BACKOFF[-1])
    assert len(subscriber.deliveries("flaky")) == 2  # delivered: nothing more to retry


def test_410_ends_the_subscription(rig: Rig, subscriber: Subscriber) -> None:
    rig.subscribe(TOPIC, subscriber.callback("gone"))
    rig.round()
    subscriber.statuses["gone"] = 410
    rig.write("c.txt", story(3, topics=["AI"]))
    rig.round()
    assert rig.hub.store.subscriptions(rig.now.timestamp()) == []


def test_only_feeds_whose_bytes_changed_are_changes(
    corpus: Path, tmp_path: Path, subscriber: Subscriber
) -> None:
    with StandInHub() as external:
        rig = make_rig(corpus, tmp_path, hubs=(external.url,))
        for path in ("ai.atom", "space.rss", "all.json"):
            rig.subscribe(f"{BASE}feeds/{path}", subscriber.callback(path.replace(".", "-")))
        rig.round()
        before = {path: rig.served(path) for path in rig.hub._paths.values()}
        # a file renamed, and a field no feed shows: what the feeds are made of changes, not their bytes
        (corpus / "a.txt").rename(corpus / "z.txt")
        rig.write(
            "b.txt",
            story(2, topics=["Space"]).replace(
                "published: true", "published: true\nampWebUrl: https://news.example/2/amp"
            ),
        )
        rig.round()
        assert rig.hub.pinger is not None and rig.hub.pinger.wait(5) == []
        assert external.seen == [] and [s for s in subscriber.seen if s.method == "POST"] == []
        rig.write("c.txt", story(3, topics=["Space"]))
        rig.round()
        assert rig.hub.pinger.wait(5) == []
        changed = {f"{BASE}{path.lstrip('/')}" for path, body in before.items() if rig.served(path) != body}
        assert sorted(external.topics()) == sorted(changed) and len(external.seen) == 1
        assert f"{BASE}feeds/ai.atom" not in changed
        assert [len(subscriber.deliveries(name)) for name in ("ai-atom", "space-rss", "all-json")] == [
            0,
            1,
            1,
        ]
        rig.index.close()


def test_a_scheduled_item_is_a_change_when_its_time_comes(rig: Rig, subscriber: Subscriber) -> None:
    rig.subscribe(TOPIC, subscriber.callback("s"))
    rig.round()
    rig.write("later.txt", story(9, topics=["AI"], when=START + timedelta(hours=1)))
    rig.round()
    assert subscriber.deliveries("s") == []  # not visible yet: no change
    rig.round(3600)
    (delivery,) = subscriber.deliveries("s")
    assert url_of(9) in feed_urls("atom", delivery.body)


def test_a_restart_keeps_subscriptions_and_tells_what_changed_meanwhile(
    rig: Rig, subscriber: Subscriber
) -> None:
    rig.subscribe(TOPIC, subscriber.callback("kept"), secret="k")
    rig.round()
    rig.write("c.txt", story(3, topics=["AI"]))  # while no hub runs
    rig.restart()
    rig.round()
    (delivery,) = subscriber.deliveries("kept")
    assert delivery.signed_with(b"k") and url_of(3) in feed_urls("atom", delivery.body)
    rig.restart()
    rig.round()
    assert len(subscriber.deliveries("kept")) == 1  # nothing new: nothing told


def test_a_delivery_due_when_the_hub_stopped_is_made_after_a_restart(
    rig: Rig, subscriber: Subscriber
) -> None:
    rig.subscribe(TOPIC, subscriber.callback("later"))
    rig.round()
    subscriber.statuses["later"] = 500
    rig.write("c.txt", story(3, topics=["AI"]))
    rig.round()
    subscriber.statuses["later"] = 202
    rig.restart()
    rig.round(DELIVERY_BACKOFF[0])
    deliveries = subscriber.deliveries("later")
    assert len(deliveries) == 2 and deliveries[0].body == deliveries[1].body
