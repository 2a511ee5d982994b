"""The built-in hub faces the internet and calls URLs that strangers give it. Each abuse
has its answer: a 4xx with one line, never a 500; callbacks that are not public http(s)
URLs refused when asked for and again when called (DNS rebinding included, with no
connection made); bounded secrets, bodies and numbers of subscriptions."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feeds.config import Settings
from feeds.index import open_index
from feeds.web import create_app
from feeds.websub.endpoint import MAX_BODY, RESOLVE_TIMEOUT, Endpoint
from feeds.websub.hub import Hub
from feeds.websub.store import Intent, Mode, Pending, Store
from tests import websub_peers
from tests.conftest import NOW, CorpusWriter
from tests.test_serve_process import serving
from tests.test_web import story
from tests.test_websub_serve import post_form
from tests.websub_peers import Subscriber

BASE = "http://feeds.test/"
TOPIC = f"{BASE}feeds/ai.rss"
PUBLIC = "93.184.216.34"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
REFUSED = "hub.callback refused: its host must resolve, and only to public addresses.\n"


@pytest.fixture
def hub_settings(write_corpus: CorpusWriter, tmp_path: Path) -> Settings:
    corpus = write_corpus({"a.txt": story(1, topics=["AI"]), "b.txt": story(2, topics=["Space"])})
    return Settings(
        corpus=corpus,
        base_url=BASE,
        hub=True,
        index=str(tmp_path / "index.sqlite3"),
        hub_store=str(tmp_path / "hub.sqlite3"),
    )


def app_of(settings: Settings) -> Flask:
    app = create_app(settings, clock=lambda: NOW, watch=False)
    endpoint: Endpoint = app.extensions["feeds-hub"]
    endpoint.resolver = lambda host, port: [PUBLIC]  # every name is public unless a test says otherwise
    return app


@pytest.fixture
def app(hub_settings: Settings) -> Flask:
    return app_of(hub_settings)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def ask(client: FlaskClient, body: str | bytes, headers: dict[str, str] | None = None) -> tuple[int, str]:
    response = client.post("/websub", data=body, headers=FORM if headers is None else headers)
    text = response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert text.endswith("\n") and text.count("\n") == 1, text  # one line
    return response.status_code, text


def form(
    callback: str = "https://sub.example/cb", topic: str = TOPIC, mode: str = "subscribe", **extra: str
) -> str:
    fields = {"hub.mode": mode, "hub.topic": topic, "hub.callback": callback}
    return urlencode(fields | {f"hub.{name}": value for name, value in extra.items()})


def pending(app: Flask) -> list[Pending]:
    endpoint: Endpoint = app.extensions["feeds-hub"]
    return endpoint.store.pending(100)


def test_a_good_request_is_accepted(app: Flask, client: FlaskClient) -> None:
    assert ask(client, form(lease_seconds="3600", secret="x", extra="ignored"))[0] == 202
    (request,) = pending(app)
    assert request.intent == Intent(
        Mode.SUBSCRIBE, TOPIC, "https://sub.example/cb", "sub.example", 3600, b"x"
    )


@pytest.mark.parametrize(
    "callback",
    [
        "ftp://sub.example/cb",
        "javascript:alert(1)",
        "mailto:a@sub.example",
        "/relative/cb",
        "http://",
        "sub.example/cb",
        "http://user:password@sub.example/cb",
        "http://sub.example/cb#fragment",
        "http://sub.example/a b",
        "http://sub.example/\x00",
        "http://пример.example/cb",
        "http://sub.example:99999/cb",
        "http://[::1/cb",
        "http://[not-an-address]/cb",
        "http://sub.example/" + "a" * 2000,
    ],
)
def test_a_callback_must_be_an_http_url(app: Flask, client: FlaskClient, callback: str) -> None:
    status, text = ask(client, form(callback))
    assert status == 400 and text.startswith("hub.callback"), text
    assert callback not in text
    assert pending(app) == []


@pytest.mark.parametrize(
    "callback",
    [
        "http://127.0.0.1/cb",
        "http://127.1.2.3:8080/cb",
        "http://[::1]/cb",
        "http://[::ffff:127.0.0.1]/cb",
        "http://[::ffff:7f00:1]/cb",
        "http://10.0.0.5/cb",
        "http://192.168.1.1/cb",
        "http://172.31.255.255/cb",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1]/cb",
        "http://[fd00::1]/cb",
        "http://224.0.0.1/cb",
        "http://0.0.0.0/cb",
        "http://100.64.1.1/cb",
        "http://240.0.0.1/cb",
    ],
)
def test_callbacks_to_addresses_that_are_not_public_are_refused(
    app: Flask, client: FlaskClient, callback: str
) -> None:
    assert ask(client, form(callback)) == (403, REFUSED)
    assert pending(app) == []


@pytest.mark.parametrize(
    "answer", [["127.0.0.1"], ["10.0.0.1"], [PUBLIC, "192.168.0.1"], ["::1"], ["fe80::1"]]
)
def test_callback_names_that_resolve_to_private_addresses_are_refused(
    app: Flask, client: FlaskClient, answer: list[str]
) -> None:
    app.extensions["feeds-hub"].resolver = lambda host, port: answer
    assert ask(client, form("https://intranet.example/cb")) == (403, REFUSED)  # nothing about the network
    assert pending(app) == []


def test_a_host_that_resolves_slowly_is_refused_in_bounded_time(app: Flask, client: FlaskClient) -> None:
    def slow(host: str, port: int) -> list[str]:
        time.sleep(RESOLVE_TIMEOUT + 3)
        return [PUBLIC]

    app.extensions["feeds-hub"].resolver = slow
    started = time.monotonic()
    status, text = ask(client, form("https://slow.example/cb"))
    assert (status, text) == (403, f"hub.callback's host did not resolve within {RESOLVE_TIMEOUT:g} s.\n")
    assert time.monotonic() - started < RESOLVE_TIMEOUT + 2


def test_private_callbacks_when_allowed(hub_settings: Settings) -> None:
    app = app_of(replace(hub_settings, hub_private_callbacks=True))
    assert ask(app.test_client(), form("http://127.0.0.1:8080/cb"))[0] == 202
    assert ask(app.test_client(), form("ftp://127.0.0.1/cb"))[0] == 400  # still only http(s)


@pytest.mark.parametrize(
    ("body", "status", "start"),
    [
        (form(topic="https://elsewhere.example/feeds/ai.rss"), 400, "hub.topic must be"),
        (form(topic=f"{BASE}feeds/ai.rss?limit=1"), 400, "hub.topic must be"),
        (form(topic=f"{BASE}feeds/ai.rss#x"), 400, "hub.topic must be"),
        (form(topic=f"{BASE}feeds/nowhere.rss"), 400, "hub.topic must be"),
        (form(topic=f"{BASE}feeds/../feeds/ai.rss"), 400, "hub.topic must be"),
        (form(topic=f"{BASE}opml.xml"), 400, "hub.topic must be"),
        (form(topic=BASE), 400, "hub.topic must be"),
        (form(topic="http://[feeds.test/feeds/ai.rss"), 400, "hub.topic must be"),
        (form(mode="publish"), 400, "hub.mode must be"),
        (form(mode="SUBSCRIBE"), 400, "hub.mode must be"),
        (form() + "&hub.topic=" + quote(TOPIC), 400, "Give hub.topic once."),
        (form() + "&hub.mode=unsubscribe", 400, "Give hub.mode once."),
        ("hub.mode=subscribe&hub.topic=" + quote(TOPIC), 400, "hub.callback is missing."),
        ("hub.mode=subscribe&hub.callback=https://sub.example/", 400, "hub.topic is missing."),
        ("", 400, "hub.mode is missing."),
        (form(lease_seconds="0"), 400, "hub.lease_seconds must be"),
        (form(lease_seconds="-5"), 400, "hub.lease_seconds must be"),
        (form(lease_seconds="1e3"), 400, "hub.lease_seconds must be"),
        (form(lease_seconds="٣"), 400, "hub.lease_seconds must be"),
        (form(secret=""), 400, "hub.secret must be"),
        (form(secret="s" * 201), 400, "hub.secret must be 1 to 200 bytes."),
        (form(secret="€" * 67), 400, "hub.secret must be 1 to 200 bytes."),  # 201 bytes of UTF-8
        (b"hub.mode=subscribe&hub.topic=\xff\xfe", 400, "The request body must be a UTF-8 form"),
        ("&".join(f"x{n}=1" for n in range(60)), 400, "The request body must be a UTF-8 form"),
    ],
)
def test_malformed_requests_get_a_4xx_with_one_line(
    app: Flask, client: FlaskClient, body: str | bytes, status: int, start: str
) -> None:
    answer = ask(client, body)
    assert answer[0] == status and answer[1].startswith(start), answer
    assert pending(app) == []


def test_topics_match_as_urls_do(app: Flask, client: FlaskClient) -> None:
    """Scheme and host in any case, a default port, unreserved characters escaped (§5.1.1)."""
    assert ask(client, form(topic="HTTP://Feeds.TEST:80/feeds/%61i.rss"))[0] == 202
    assert [request.intent.topic for request in pending(app)] == [TOPIC]


def test_secrets_up_to_200_bytes(app: Flask, client: FlaskClient) -> None:
    assert ask(client, form(secret="s" * 200))[0] == 202
    assert ask(client, form("https://sub.example/2", secret="€" * 66))[0] == 202  # 198 bytes
    assert [len(request.intent.secret or b"") for request in pending(app)] == [200, 198]


def test_bodies_are_bounded(client: FlaskClient) -> None:
    big = form(extra="x" * MAX_BODY)
    assert ask(client, big) == (413, f"The request body must be at most {MAX_BODY} bytes.\n")
    assert ask(client, form(), {"Content-Type": "text/plain"})[0] == 415
    assert ask(client, '{"hub.mode": "subscribe"}', {"Content-Type": "application/json"})[0] == 415
    assert ask(client, form(), {})[0] == 415


def test_only_post(client: FlaskClient) -> None:
    for method in ("GET", "HEAD", "PUT", "DELETE", "OPTIONS"):
        response = client.open("/websub", method=method)
        assert response.status_code == 405 and response.headers["Allow"] == "POST", method
    assert client.post("/feeds/ai.rss", data=form(), headers=FORM).status_code == 405


def test_no_hub_no_endpoint(hub_settings: Settings) -> None:
    client = create_app(replace(hub_settings, hub=False), clock=lambda: NOW, watch=False).test_client()
    assert client.post("/websub", data=form(), headers=FORM).status_code == 404


def test_subscriptions_are_bounded_per_topic_and_per_host(hub_settings: Settings) -> None:
    app = app_of(replace(hub_settings, hub_max_per_topic=2, hub_max_per_host=3))
    client = app.test_client()
    assert ask(client, form("https://a.example/1"))[0] == 202
    assert ask(client, form("https://b.example/1"))[0] == 202
    status, text = ask(client, form("https://c.example/1"))
    assert (status, text) == (403, "Refused: this topic has 2 subscriptions, the most this hub keeps.\n")
    assert ask(client, form("https://a.example/1", lease_seconds="7200"))[0] == 202  # a renewal adds none
    space = f"{BASE}feeds/space.rss"
    assert ask(client, form("https://a.example/2", topic=space))[0] == 202
    assert ask(client, form("https://a.example/3", topic=space))[0] == 202
    status, text = ask(client, form("https://a.example/4", topic=f"{BASE}feeds/all.rss"))
    assert (status, text) == (
        403,
        "Refused: a.example has 3 subscriptions, the most this hub keeps per host.\n",
    )
    assert len(pending(app)) == 4  # the renewal took the place of the request it renews


def test_a_store_that_cannot_be_written_is_a_503(hub_settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "a-folder").mkdir()
    client = app_of(replace(hub_settings, hub_store=str(tmp_path / "a-folder"))).test_client()
    assert ask(client, form()) == (503, "The hub cannot take requests just now; try again later.\n")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(
                ["hub.mode", "hub.topic", "hub.callback", "hub.secret", "hub.lease_seconds", "x"]
            ),
            st.one_of(
                st.text(max_size=60),
                st.sampled_from(
                    ["subscribe", "unsubscribe", TOPIC, "https://sub.example/cb", "http://[::1]/"]
                ),
            ),
        ),
        max_size=8,
    )
)
def test_any_form_gets_an_answer_never_a_500(client: FlaskClient, fields: list[tuple[str, str]]) -> None:
    response = client.post("/websub", data=urlencode(fields), headers=FORM)
    assert response.status_code in {202, 400, 403}, response.get_data(as_text=True)


# -- at connect time ------------------------------------------------------------------------------


subscriber = websub_peers.subscriber


def test_dns_rebinding_is_caught_when_the_hub_calls_back(
    hub_settings: Settings, subscriber: Subscriber
) -> None:
    """Public when asked, loopback when called: the hub refuses before connecting."""
    answers = iter([[PUBLIC], ["127.0.0.1"]])
    app = app_of(hub_settings)
    app.extensions["feeds-hub"].resolver = lambda host, port: next(answers)
    callback = f"http://rebind.example:{subscriber.port}/r/cb"
    assert ask(app.test_client(), form(callback))[0] == 202
    index = open_index(hub_settings)
    hub = Hub(hub_settings, index, resolver=lambda host, port: next(answers))
    hub.run_pending(NOW)
    hub.settle(10)
    hub.run_pending(NOW)
    assert subscriber.connections == 0
    assert hub.store.pending(10) == [] and hub.store.subscriptions(NOW.timestamp()) == []
    index.close()


def test_a_subscription_whose_host_turns_private_gets_no_delivery(
    hub_settings: Settings, subscriber: Subscriber, caplog: pytest.LogCaptureFixture
) -> None:
    index = open_index(hub_settings)
    index.refresh()
    hub = Hub(hub_settings, index, resolver=lambda host, port: ["127.0.0.1"])
    hub.run_pending(NOW)
    callback = f"http://turned.example:{subscriber.port}/t/cb"
    intent = Intent(Mode.SUBSCRIBE, TOPIC, callback, "turned.example", 3600)
    Store(Path(hub_settings.hub_store or "")).verified(
        Pending(0, intent), NOW.timestamp()
    )  # verified when public
    (hub_settings.corpus / "c.txt").write_text(story(3, topics=["AI"]), encoding="utf-8")
    index.refresh()
    hub.run_pending(NOW)
    hub.settle(10)
    hub.run_pending(NOW)
    assert subscriber.connections == 0
    assert "turned.example resolves to 127.0.0.1, which is a loopback address" in caplog.text
    index.close()


def test_the_hub_refuses_private_callbacks_over_real_http(write_corpus: CorpusWriter, tmp_path: Path) -> None:
    corpus = write_corpus({"a.txt": story(1, topics=["AI"])})
    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    with Subscriber() as subscriber, serving([str(corpus), "--hub"], cwd=tmp_path) as server:
        hub, topic = f"{server.base}websub", f"{server.base}feeds/ai.rss"
        fields = [("hub.mode", "subscribe"), ("hub.topic", topic), ("hub.callback", subscriber.callback("x"))]
        status, text = post_form(hub, fields)
        assert (status, text) == (403, REFUSED)
        assert post_form(hub, [*fields[:2], ("hub.callback", "http://localhost:1/cb")]) == (403, REFUSED)
        assert post_form(hub, [*fields[:2], ("hub.callback", "http://[::1]:1/cb")]) == (403, REFUSED)
        status, text = post_form(hub, [*fields[:2], ("hub.callback", "gopher://x/")])
        assert status == 400
        assert post_form(hub, [*fields, ("pad", "x" * 20_000)])[0] == 413
        assert server.fetch("/websub")[0] == 405
        time.sleep(1)
        assert subscriber.connections == 0
        assert "Traceback" not in server.log()
