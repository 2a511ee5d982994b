"""Documents already rendered are answered without Flask, exactly as Flask answers them."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

HEADER_SETS: list[dict[str, str]] = [
    {},
    {"Accept-Encoding": "gzip"},
    {"Accept-Encoding": "gzip;q=0, *"},
    {"If-Modified-Since": "Sun, 01 Jan 2040 00:00:00 GMT"},
    {"If-Modified-Since": "Sun, 01 Jan 2000 00:00:00 GMT"},
    {"If-None-Match": '"nope"', "If-Modified-Since": "Sun, 01 Jan 2040 00:00:00 GMT"},
    {"Sec-Fetch-Dest": "document"},  # a browser's navigation: a feed's page
    {"Sec-Fetch-Dest": "document", "Accept-Encoding": "gzip"},
    {"Sec-Fetch-Dest": "empty"},
]


def answer(client: Any, path: str, headers: dict[str, str], method: str = "GET") -> tuple[int, Any, bytes]:
    response = client.open(path, method=method, headers=headers)
    kept = sorted((k, v) for k, v in response.headers.items() if k not in {"Date", "Server"})
    return response.status_code, kept, response.get_data()


def paths(app: Flask) -> list[str]:
    return list(app.extensions["feeds"].version.publication.paths())


@pytest.mark.parametrize("headers", HEADER_SETS, ids=lambda h: ",".join(h) or "plain")
def test_cached_answers_equal_the_apps(app: Flask, client: Any, headers: dict[str, str]) -> None:
    for path in paths(app):
        through_flask = answer(client, path + "?unknown=1", headers)  # a query goes through Flask
        assert through_flask[0] == 200 or "If-Modified-Since" in headers
        cached = answer(client, path, headers)
        assert cached == through_flask, path
        etag = dict(through_flask[1]).get("ETag")
        revalidated = answer(client, path, {**headers, "If-None-Match": etag})
        assert revalidated[0] == 304 and revalidated == answer(
            client, path + "?unknown=1", {**headers, "If-None-Match": etag}
        )
        head = answer(client, path, headers, method="HEAD")
        assert head[0] == cached[0] and head[1] == cached[1] and head[2] == b""


def test_cached_answers_do_not_reach_flask(app: Flask, client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    assert client.get("/feeds/all.atom").status_code == 200  # rendered, now in the cache
    assert client.get("/feeds/all.atom", headers={"Sec-Fetch-Dest": "document"}).status_code == 200
    calls: list[str] = []
    dispatch = app.full_dispatch_request

    def counted() -> Any:
        calls.append("flask")
        return dispatch()

    monkeypatch.setattr(app, "full_dispatch_request", counted)
    assert client.get("/feeds/all.atom").status_code == 200
    assert client.get("/feeds/all.atom", headers={"Sec-Fetch-Dest": "document"}).status_code == 200
    assert client.get("/feeds/all.html").status_code == 200  # rendered for the navigation above
    assert client.get("/feeds/all.rss").status_code == 200  # not rendered yet: Flask renders it
    assert client.get("/feeds/all.rss").status_code == 200
    assert client.post("/feeds/all.rss").status_code == 405
    assert calls == ["flask", "flask"]
