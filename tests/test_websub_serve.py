"""WebSub with a real ``feeds serve`` over loopback HTTP: a subscriber finds the built-in hub
from a feed's ``Link`` header, subscribes, confirms, and gets each change, signed;
unsubscribing and an expired lease stop deliveries; a restart keeps the subscriptions;
external hubs get one ping per changed feed, and a hub that is down or slow slows nothing.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import feedparser
import pytest

from feeds.config import Settings
from feeds.corpus import load_corpus
from feeds.publication import Publication
from tests import test_serve_process
from tests.conftest import CorpusWriter, log_messages
from tests.test_hostile import feeds_cli
from tests.test_serve_process import HTTP_TIMEOUT, STOP_TIMEOUT, Server, free_port, serving
from tests.test_web import feed_urls, link_header, story, url_of
from tests.websub_peers import WAIT, StandInHub, Subscriber, closed_port

HUB_SETTINGS = """
[tool.feeds]
hub_private_callbacks = true
hub_lease_min = 1
"""
"""The tests' subscribers listen on loopback, and one of them wants a one-second lease."""


corpus = test_serve_process.corpus  # the serve tests' three stories


@contextmanager
def hub_server(
    corpus: Path, cwd: Path, *args: str, port: int | None = None, settings: str = ""
) -> Iterator[Server]:
    (cwd / "pyproject.toml").write_text(HUB_SETTINGS + settings, encoding="utf-8")
    with serving([str(corpus), "--hub", "--watch-interval", "0.2", *args], cwd=cwd, port=port) as server:
        wait_log(server, "changes are told from now on")  # the hub has looked at every feed
        yield server


def wait_log(server: Server, text: str, count: int = 1) -> None:
    deadline = time.monotonic() + WAIT
    while server.log().count(text) < count:
        assert server.process.poll() is None, server.log()
        assert time.monotonic() < deadline, f"{text!r} not logged:\n{server.log()}"
        time.sleep(0.05)


def discover(server: Server, path: str) -> tuple[str, list[str]]:
    """The topic and the hubs of a feed, from its ``Link`` header, as a subscriber finds them."""
    status, headers, _ = server.fetch(path, method="HEAD")
    assert status == 200
    links = link_header(headers["Link"])
    (topic,) = [target for target, params in links if params["rel"] == "self"]
    return topic, [target for target, params in links if params["rel"] == "hub"]


def post_form(url: str, fields: list[tuple[str, str]]) -> tuple[int, str]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=HTTP_TIMEOUT)
    try:
        body = urlencode(fields)
        connection.request("POST", parts.path, body, {"Content-Type": "application/x-www-form-urlencoded"})
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def subscribe(hub: str, topic: str, callback: str, mode: str = "subscribe", **extra: str) -> None:
    fields = [("hub.mode", mode), ("hub.topic", topic), ("hub.callback", callback)]
    fields += [(f"hub.{name}", value) for name, value in extra.items()]
    status, text = post_form(hub, fields)
    assert status == 202, text


def verified(server: Server, mode: str, topic: str, subscriber: Subscriber, count: int = 1) -> None:
    wait_log(server, f"{mode} of {topic} for a callback at 127.0.0.1:{subscriber.port} verified", count)


def test_a_subscriber_finds_the_hub_subscribes_and_gets_each_change_signed(
    corpus: Path, tmp_path: Path
) -> None:
    with Subscriber() as subscriber, hub_server(corpus, tmp_path) as server:
        topic, hubs = discover(server, "/feeds/ai.atom")
        assert (topic, hubs) == (f"{server.base}feeds/ai.atom", [f"{server.base}websub"])
        subscribe(hubs[0], topic, subscriber.callback("main"), secret="s3cret", lease_seconds="86400")
        verification = subscriber.wait_verified("main")
        assert verification.query["hub.topic"] == topic
        assert verification.query["hub.lease_seconds"] == "86400"
        assert len(verification.query["hub.challenge"]) >= 32
        verified(server, "subscribe", topic, subscriber)

        (corpus / "d.txt").write_text(story(4, topics=["AI"]), encoding="utf-8")
        (delivery,) = subscriber.wait_deliveries("main")
        assert delivery.signed_with(b"s3cret")
        assert not delivery.signed_with(b"another secret")
        assert delivery.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
        links = link_header(delivery.headers["Link"])
        assert {(target, params["rel"]) for target, params in links} == {(hubs[0], "hub"), (topic, "self")}
        parsed = feedparser.parse(delivery.body)
        assert not parsed.bozo and parsed.feed.title == "feeds: AI"
        assert feed_urls("atom", delivery.body) == [url_of(4), url_of(2), url_of(1)]
        assert delivery.body == server.fetch("/feeds/ai.atom")[2]  # the feed as it is served now

        (corpus / "e.txt").write_text(story(5, topics=["AI"]), encoding="utf-8")
        second = subscriber.wait_deliveries("main", 2)[1]
        assert second.signed_with(b"s3cret") and url_of(5) in feed_urls("atom", second.body)
        # a change elsewhere is no change of this topic
        (corpus / "f.txt").write_text(story(6, topics=["Space"]), encoding="utf-8")
        subscribe(hubs[0], f"{server.base}feeds/space.json", subscriber.callback("space"))
        verified(server, "subscribe", f"{server.base}feeds/space.json", subscriber)
        (corpus / "g.txt").write_text(story(7, topics=["Space"]), encoding="utf-8")
        (space,) = subscriber.wait_deliveries("space")
        assert "X-Hub-Signature" not in space.headers  # subscribed with no secret
        assert space.headers["Content-Type"] == "application/feed+json; charset=utf-8"
        assert len(subscriber.deliveries("main")) == 2
        assert "Traceback" not in server.log()


def test_unsubscribing_and_an_expired_lease_stop_deliveries(corpus: Path, tmp_path: Path) -> None:
    with Subscriber() as subscriber, hub_server(corpus, tmp_path) as server:
        topic, (hub,) = discover(server, "/feeds/all.rss")
        for name, lease in (("stays", "3600"), ("leaves", "3600"), ("lapses", "1")):
            subscribe(hub, topic, subscriber.callback(name), lease_seconds=lease)
        verified(server, "subscribe", topic, subscriber, 3)
        assert subscriber.wait_verified("lapses").query["hub.lease_seconds"] == "1"
        subscribe(hub, topic, subscriber.callback("leaves"), mode="unsubscribe")
        assert "hub.challenge" in subscriber.wait_verified("leaves", "unsubscribe").query
        verified(server, "unsubscribe", topic, subscriber)
        wait_log(server, "1 WebSub subscriptions expired")

        (corpus / "d.txt").write_text(story(4, topics=["AI"]), encoding="utf-8")
        subscriber.wait_deliveries("stays")
        # deliveries of one change go out in the same round: none is still on its way
        time.sleep(1.0)
        assert subscriber.deliveries("leaves") == [] and subscriber.deliveries("lapses") == []


@pytest.mark.parametrize("index", ["", 'index = "memory"\n'], ids=["index", "index in memory"])
def test_a_restart_keeps_the_subscriptions(corpus: Path, tmp_path: Path, index: str) -> None:
    with Subscriber() as subscriber:
        with hub_server(corpus, tmp_path, settings=index) as server:
            topic, (hub,) = discover(server, "/feeds/space.rss")
            subscribe(hub, topic, subscriber.callback("kept"), secret="k")
            verified(server, "subscribe", topic, subscriber)
            server.process.send_signal(signal.SIGINT)
            assert server.process.wait(STOP_TIMEOUT) == 0
        # changed while no server ran: told when it starts again, at the same address
        (corpus / "d.txt").write_text(story(4, topics=["Space"]), encoding="utf-8")
        with hub_server(corpus, tmp_path, port=server.port, settings=index) as server:
            (first,) = subscriber.wait_deliveries("kept")
            assert first.signed_with(b"k") and url_of(4) in feed_urls("rss", first.body)
            (corpus / "e.txt").write_text(story(5, topics=["Space"]), encoding="utf-8")
            second = subscriber.wait_deliveries("kept", 2)[1]
            assert second.signed_with(b"k") and url_of(5) in feed_urls("rss", second.body)
            assert len(subscriber.verifications("kept")) == 1


# -- external hubs -----------------------------------------------------------------------------


def changed_topics(settings: Settings, before: Path, after: Path) -> set[str]:
    """The feed URLs whose bytes differ between two corpora, as ``settings`` publish them."""
    from tests.conftest import NOW

    old = Publication(load_corpus(before).items, settings, NOW)
    new = Publication(load_corpus(after).items, settings, NOW)
    topics = set()
    for path in new.catalogue.feed_paths(pages=False):
        then, now = old.render(path), new.render(path)
        if then is None or now is None or then.body != now.body:
            topics.add(new.url(path))
    return topics


def test_external_hubs_get_one_ping_per_changed_feed(
    corpus: Path, tmp_path: Path, write_corpus: CorpusWriter
) -> None:
    with StandInHub() as hub:
        (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
        args = [str(corpus), "--hub-url", hub.url, "--watch-interval", "0.2"]
        with serving(args, cwd=tmp_path) as server:
            wait_log(server, "changes are told from now on")
            assert discover(server, "/feeds/ai.json")[1] == [hub.url]
            settings = Settings(corpus=corpus, base_url=server.base, hubs=(hub.url,))
            before = write_corpus({path.name: path.read_text() for path in corpus.iterdir()})
            (corpus / "d.txt").write_text(story(4, topics=["Space"], heat=10), encoding="utf-8")
            first = changed_topics(settings, before, corpus)
            assert first and f"{server.base}feeds/ai.rss" not in first  # AI did not change
            hub.wait_for(lambda seen: len(hub.topics()) >= len(first))
            # a second change: anything left over from the first would have come before it
            before = write_corpus({path.name: path.read_text() for path in corpus.iterdir()})
            (corpus / "a.txt").write_text(story(1, topics=["AI"], heat=80, title="Renamed"), encoding="utf-8")
            second = changed_topics(settings, before, corpus)
            hub.wait_for(lambda seen: len(hub.topics()) >= len(first) + len(second))
            time.sleep(1.0)
            topics = hub.topics()
            assert sorted(topics[: len(first)]) == sorted(first)
            assert sorted(topics[len(first) :]) == sorted(second)
            assert all(seen.method == "POST" and ("hub.mode", "publish") in seen.form for seen in hub.seen)
            assert len(hub.seen) == 2  # batched: one request per change


def test_a_hub_that_is_down_or_slow_slows_nothing(corpus: Path, tmp_path: Path) -> None:
    down = f"http://127.0.0.1:{closed_port()}/"
    with StandInHub(delay=30) as slow, Subscriber() as subscriber:
        (tmp_path / "pyproject.toml").write_text(HUB_SETTINGS, encoding="utf-8")
        args = [str(corpus), "--hub", "--hub-url", down, "--hub-url", slow.url, "--watch-interval", "0.2"]
        with serving(args, cwd=tmp_path) as server:
            wait_log(server, "changes are told from now on")
            topic, hubs = discover(server, "/feeds/ai.json")
            assert hubs == [down, slow.url, f"{server.base}websub"]
            subscribe(hubs[-1], topic, subscriber.callback("fast"))
            verified(server, "subscribe", topic, subscriber)
            for number in (4, 5):
                started = time.monotonic()
                (corpus / f"{number}.txt").write_text(story(number, topics=["AI"]), encoding="utf-8")
                while url_of(number) not in feed_urls("json", server.fetch("/feeds/ai.json")[2]):
                    assert time.monotonic() - started < 10, "the change took too long to show"
                    time.sleep(0.05)
                subscriber.wait_deliveries("fast", number - 3, timeout=10)
                for _ in range(20):  # every answer as quick as ever
                    asked = time.monotonic()
                    assert server.fetch("/feeds/all.rss")[0] == 200
                    assert time.monotonic() - asked < 2
            assert re.search(
                r"ping of http://127\.0\.0\.1:\d+/ for \d+ feeds failed \(attempt 1 of 3\)", server.log()
            )


def test_a_hub_store_that_cannot_be_opened_stops_feeds_serve(corpus: Path, tmp_path: Path) -> None:
    (tmp_path / "a-folder").mkdir()
    (tmp_path / "pyproject.toml").write_text('[tool.feeds]\nhub_store = "a-folder"\n', encoding="utf-8")
    serve = ["serve", str(corpus), "--hub", "--port", str(free_port())]
    result = feeds_cli(serve, cwd=tmp_path, timeout=60, env=dict(os.environ))
    assert result.returncode == 2, result.stderr
    [line] = log_messages(result.stderr, "ERROR")
    assert line.startswith(f"cannot open the hub store {tmp_path / 'a-folder'}")
    assert "Traceback" not in result.stderr and result.stdout == ""  # refused before the banner
