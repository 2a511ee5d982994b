"""Nothing unpublished leaves the process: one corpus, served and exported, every URL and
every file walked, and no byte anywhere holds an unpublished item's title or link, a
``secured`` value, or the value of a key the format does not know.

The corpus is the seeds (whose published item 000 lists the unpublished item 001 as a
related story, and whose items carry ``secured`` blobs) and more of the same kind: a
draft, a scheduled item, a story withdrawn by a newer unpublished copy, published items
that point at all of them as related stories by every spelling of their URLs, and unknown
keys at every level. Every planted value holds ``LEAK`` or ``SECRET``, which no published
text does, so one search finds them all whatever a format does to the text around them.
"""

from __future__ import annotations

import gzip
import html
import itertools
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from flask.testing import FlaskClient
from lxml import etree
from lxml import html as lxml_html

from feeds.builders.uri import as_uri
from feeds.config import Settings
from feeds.corpus import load_corpus
from feeds.web import create_app
from tests.conftest import NOW, SEEDS, item_text, minimal_item
from tests.test_hostile import child_env, feeds_cli, read_tree

BASE = "http://feeds.test/"
SELECTIONS = {"hot": 50, "top": 90}
PARAMS: dict[str, list[str | None]] = {
    "min_heat": [None, "0", "60", "95"],
    "min_quality": [None, "0", "90"],
    "order": [None, "latest", "hot"],
    "limit": [None, "1", "500"],
}
"""Every combination of these is asked of every feed (108 queries a feed)."""
MARKERS = (b"leak", b"secret")
"""Searched for case-insensitively: topic slugs are lowercase."""


def hidden(name: str, **fields: Any) -> dict[str, Any]:
    """An item whose every text field holds a marker."""
    url = f"https://{name}.leak.example/story"
    return {
        "title": f"LEAKTITLE-{name}",
        "excerpt": f"LEAKEXCERPT-{name}",
        "publishedDateTime": "2024-03-01T00:00:00Z",
        "originalUrl": url,
        "webUrl": url,
        "ampWebUrl": url + "?amp=LEAK",
        "category": f"LEAKCATEGORY-{name}",
        "type": f"LEAKTYPE-{name}",
        "heat": 99,
        "quality": 99,
        "published": False,
        "provider": {"name": f"LEAKPROVIDER-{name}", "domain": f"{name}.leak.example"},
        "topics": [f"LEAKTOPIC-{name}", "Public", "AI"],
        "images": [{"url": f"https://{name}.leak.example/image.jpg"}],
        "secured": f"SECRET-BLOB-{name}",
        **fields,
    }


def published(n: int, related: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    """A published item carrying unknown keys and ``secured`` values at every level."""
    return minimal_item(n) | {
        "title": f"Public story {n}",
        "topics": ["Public", "Hot stuff"],
        "heat": 60 + n,
        "quality": 95,
        "secured": f"SECRET-PUBLISHED-{n}",
        "internalNotes": f"LEAKNOTE-{n}",
        "apiKey": f"LEAKAPIKEY-{n}",
        "extra": {"deep": [f"LEAKDEEP-{n}", {"deeper": f"LEAKDEEPER-{n}"}]},
        "provider": {"name": f"Provider {n}", "token": f"LEAKPROVIDERTOKEN-{n}", "secured": f"SECRET-P-{n}"},
        "images": [{"url": f"https://img.example/{n}.jpg", "signature": f"LEAKSIGNATURE-{n}"}],
        "related": related,
        **fields,
    }


RELATED_TO_HIDDEN = [
    {"title": "LEAKTITLE-draft", "webUrl": "https://draft.leak.example/story", "internal": "LEAKINTERNAL"},
    {"title": "LEAKTITLE-draft", "originalUrl": "https://draft.leak.example/story"},
    {"title": "LEAKTITLE-scheduled", "originalUrl": "HTTPS://SCHEDULED.leak.example:443/story#fragment"},
    {"title": "LEAKTITLE-scheduled", "webUrl": "https://scheduled.LEAK.example/story"},
    {"title": "LEAKTITLE-withdrawn-new", "webUrl": "https://withdrawn.leak.example/story"},
    {"title": "Public related story", "webUrl": "https://public-related.example/", "secured": "SECRET-REL"},
]
"""Related stories of a published item: each an unpublished item of the corpus by one
spelling of its URL, but the last, which must be shown."""


def corpus_files() -> dict[str, str]:
    return {
        "draft.txt": item_text(hidden("draft"), body="LEAKBODY-draft"),
        "scheduled.txt": item_text(
            hidden("scheduled", published=True, publishedDateTime="2999-01-01T00:00:00Z"),
            body="LEAKBODY-scheduled",
        ),
        "withdrawn-old.txt": item_text(
            hidden(
                "withdrawn", title="LEAKTITLE-withdrawn-old", published=True, publishedDateTime="2024-01-01"
            )
        ),
        "withdrawn-new.txt": item_text(
            hidden("withdrawn", title="LEAKTITLE-withdrawn-new", publishedDateTime="2024-02-01")
        ),
        "public-1.txt": item_text(published(1, RELATED_TO_HIDDEN), body="Public body."),
        "public-2.txt": item_text(published(2, RELATED_TO_HIDDEN[::-1], heat=95)),
    }


@dataclass
class Secrets:
    """What must never be published, as bytes in each form a document could hold it."""

    values: list[str]

    @classmethod
    def of(cls, corpus: Path) -> Secrets:
        loaded = load_corpus(corpus)
        values = []
        for item in loaded.items:
            if not (item.published and item.published_at <= NOW):
                values += [item.title, item.url, item.id, item.web_url or item.url]
        # Every secured value of the seeds, whole and in parts (a part would still be a leak).
        for path in sorted(corpus.glob("*.txt")):
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.startswith("secured:"):
                    blob = line.split(":", 1)[1].strip().strip('"')
                    values += [blob, *(blob[i : i + 24] for i in range(0, len(blob) - 24, 97))]
        return cls(values)

    def forms(self) -> Iterator[bytes]:
        for value in self.values:
            references = value.replace("&", "&#x26;").replace("<", "&#x3C;").replace(">", "&#x3E;")
            for form in {value, html.escape(value), references, json.dumps(value)[1:-1]}:
                yield form.encode()
            if value.startswith("http"):
                yield as_uri(value).encode()

    def assert_absent(self, data: bytes, where: str) -> None:
        lowered = data.lower()
        for marker in MARKERS:
            assert marker not in lowered, (
                f"{where}: {marker!r} at {lowered.find(marker)}: {_around(data, marker)!r}"
            )
        for form in self.forms():
            assert form not in data, f"{where}: {form[:80]!r}"


def _around(data: bytes, marker: bytes) -> bytes:
    at = data.lower().find(marker)
    return data[max(0, at - 80) : at + 80]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    shutil.copytree(SEEDS, root)
    for name, text in corpus_files().items():
        (root / name).write_text(text, encoding="utf-8")
    return root


def response_bytes(response: Any) -> bytes:
    """Status line, every header and the body (decompressed), as one string of bytes."""
    headers = "".join(f"{name}: {value}\n" for name, value in response.headers.items())
    body: bytes = response.data
    if response.headers.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    return f"{response.status}\n{headers}\n".encode() + body


def feed_paths(client: FlaskClient) -> set[str]:
    """Every feed the index page and the OPML file link to."""
    index = lxml_html.document_fromstring(client.get("/").data)
    hrefs = {a.get("href") for a in index.iter("a", "link") if a.get("href")}
    opml = etree.fromstring(client.get("/opml.xml").data)
    urls = {outline.get("xmlUrl") for outline in opml.iter("outline")}
    paths = {"/" + href for href in hrefs if href.startswith("feeds/")}
    paths |= {urlsplit(url).path for url in urls}
    return paths


def test_nothing_unpublished_is_served_or_exported(corpus: Path, tmp_path: Path) -> None:
    secrets = Secrets.of(corpus)
    assert len(secrets.values) > 30
    loaded = load_corpus(corpus)
    visible = [item for item in loaded.items if item.published and item.published_at <= NOW]
    assert sorted(item.title for item in visible) == sorted(
        ["Public story 1", "Public story 2", loaded.items[0].title]
    )
    # The trap of the seeds is set: published 000 names unpublished 001 as a related story.
    seed_000, seed_001 = loaded.items[0], loaded.items[1]
    assert seed_001.id in {story.id for story in seed_000.related} and not seed_001.published

    settings = Settings(corpus=corpus, base_url=BASE, selections=SELECTIONS)
    app = create_app(settings, clock=lambda: NOW, watch=False)
    client = app.test_client()
    seen = 0
    try:
        paths = feed_paths(client)
        # all, four topics (AI, AI Ethics, Public, Hot stuff), each plain and per selection, in three
        # formats and as a page
        assert len(paths) == 5 * 3 * 4, sorted(paths)
        assert "/feeds/hot/public.json" in paths and "/feeds/top/all.rss" in paths
        for path in ["/", "/opml.xml"]:
            for headers in ({}, {"Accept-Encoding": "gzip"}):
                response = client.get(path, headers=headers)
                assert response.status_code == 200
                secrets.assert_absent(response_bytes(response), path)
                seen += 1
        names = list(PARAMS)
        for path in sorted(paths):
            for values in itertools.product(*PARAMS.values()):
                query = urlencode([(k, v) for k, v in zip(names, values, strict=True) if v is not None])
                url = f"{path}?{query}" if query else path
                response = client.get(url)
                assert response.status_code == 200, url
                secrets.assert_absent(response_bytes(response), url)
                seen += 1
            for method, headers in (("GET", {"Accept-Encoding": "gzip"}), ("HEAD", {})):
                response = client.open(path, method=method, headers=headers)
                secrets.assert_absent(response_bytes(response), f"{method} {path}")
        # The related story that is published is there: the filter is not a blanket one.
        assert b"Public related story" in client.get("/feeds/all.json").data
        # A topic only unpublished items have has no feed.
        for path in ("/feeds/leaktopic-draft.rss", "/feeds/hot/leaktopic-draft.json"):
            assert client.get(path).status_code == 404
    finally:
        app.extensions["feeds"].close()
    assert seen == 60 * 108 + 4

    out = tmp_path / "out"
    args = ["export", str(corpus), str(out), "--gzip", "--base-url", BASE, "--selections", "hot=50,top=90"]
    export = feeds_cli(args, cwd=tmp_path, timeout=120, env=child_env(tmp_path / "cache"))
    assert export.returncode == 0, export.stderr
    files = read_tree(out)
    assert len(files) == 2 * (60 + 2) + 1  # every feed and page, the index, the OPML, gzipped; the manifest
    for name, data in files.items():
        secrets.assert_absent(data, name)
    assert b"Public related story" in files["feeds/all.json"]
    # What the export prints goes to the operator, who may see a key's name, never its value.
    assert "internalNotes" in export.stderr
    secrets.assert_absent((export.stdout + export.stderr).encode(), "export output")


def test_a_related_story_naming_an_unpublished_item_by_its_web_url_is_left_out(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    root.mkdir()
    web = "https://draft.leak.example/story"
    draft = hidden("draft", originalUrl="https://publisher.leak.example/story?utm=LEAK", webUrl=web)
    (root / "draft.txt").write_text(item_text(draft), encoding="utf-8")
    public = minimal_item(1) | {"related": [{"title": "LEAKTITLE-draft", "webUrl": web}]}
    (root / "public.txt").write_text(item_text(public), encoding="utf-8")
    app = create_app(Settings(corpus=root, base_url=BASE), clock=lambda: NOW, watch=False)
    try:
        for fmt in ("rss", "atom", "json"):
            body = app.test_client().get(f"/feeds/all.{fmt}").data
            assert b"Story 1" in body
            assert b"LEAK" not in body, fmt
    finally:
        app.extensions["feeds"].close()


def test_the_search_finds_a_planted_value_in_every_form() -> None:
    secrets = Secrets(["Title & <more>", "https://x.example/ü"])
    for data in (
        b"<title>Title &amp; &lt;more&gt;</title>",
        b"<title>Title &#x26; &#x3C;more&#x3E;</title>",
        b'{"title": "Title & <more>"}',
        b"<link>https://x.example/%C3%BC</link>",
        b"a secured value: SECRET-x",
        b"topic slug leaktopic-x",
    ):
        with pytest.raises(AssertionError):
            secrets.assert_absent(data, "planted")
    secrets.assert_absent(b"<title>Other</title>", "clean")
