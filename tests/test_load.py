"""A real ``feeds serve`` under load while its corpus changes.

A hundred clients (threads with http.client) poll the index, the OPML file and feeds in
every format, with and without gzip, with conditional GETs, for 30 seconds, while another
thread rewrites, adds and removes corpus files. Every answer must be a 200 or a 304, and
every 200 a whole, valid document: each is parsed, and each distinct document (its strong
ETag) is validated in full once (feedparser, the Atom grammar, the JSON Feed schema).

Prints requests per second and latency percentiles; with ``LOAD_REPORT=path`` set, also
writes them there as Markdown (for BENCHMARKS.md).
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import json
import os
import platform
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree
from lxml import html as lxml_html

from tests.conftest import item_text, minimal_item
from tests.test_serve_process import serving
from tests.test_web import feed_urls

CLIENTS = 100
DURATION = 30.0
WORKERS = 2
WATCH_INTERVAL = 0.5
ITEMS = 60
TOPICS = ["AI", "Space", "Climate", "Health", "Sport", "Money"]
HTTP_TIMEOUT = 30.0


def corpus_item(n: int, revision: int, rng: random.Random) -> str:
    topics = sorted({rng.choice(TOPICS) for _ in range(rng.randint(1, 2))})
    return item_text(
        minimal_item(n),
        title=f"Story {n} revision {revision}",
        topics=topics,
        heat=rng.randrange(-1, 100),
        quality=rng.randrange(0, 101),
        body=f"Body of story {n}, revision {revision}.\n\n" + "Words and more words. " * 30,
    )


@dataclass
class Tally:
    """What the clients saw; each client adds to it under the lock."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    digests: dict[tuple[str, bool], dict[str, str]] = field(default_factory=dict)
    """(path, gzip) -> ETag -> sha256 of the body: one ETag, one body."""
    documents: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    """sha256 -> (path, body) of each distinct document, validated after the run."""

    def error(self, message: str) -> None:
        with self.lock:
            if len(self.errors) < 50:
                self.errors.append(message)
            else:
                self.errors[-1] = f"... and more: {message}"


def parse(path: str, body: bytes) -> None:
    """Raise unless ``body`` is a whole document of the kind ``path`` names."""
    stem = path.split("?", 1)[0]
    if stem == "/":
        assert body.rstrip().endswith(b"</html>")
        lxml_html.document_fromstring(body)
    elif stem.endswith(".json"):
        document = json.loads(body)
        assert document["version"] == "https://jsonfeed.org/version/1.1" and isinstance(
            document["items"], list
        )
    else:
        root = etree.fromstring(body)
        assert root.tag in {"rss", "{http://www.w3.org/2005/Atom}feed", "opml"}, root.tag


def validate(path: str, body: bytes) -> None:
    """Full validity of one document: the JSON Feed schema, the Atom grammar, feedparser."""
    stem = path.split("?", 1)[0]
    if stem.endswith((".rss", ".atom", ".json")):
        feed_urls(stem.rsplit(".", 1)[1], body)


def client(port: int, paths: list[str], deadline: float, seed: int, tally: Tally) -> None:
    rng = random.Random(seed)
    held: dict[tuple[str, bool], str] = {}
    while time.monotonic() < deadline:
        path = rng.choice(paths)
        wants_gzip = rng.random() < 0.5
        headers = {"Accept-Encoding": "gzip"} if wants_gzip else {}
        if (path, wants_gzip) in held:
            headers["If-None-Match"] = held[(path, wants_gzip)]
        started = time.monotonic()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=HTTP_TIMEOUT)
        try:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as err:
            tally.error(f"{path}: {type(err).__name__}: {err}")
            continue
        finally:
            connection.close()
        elapsed = time.monotonic() - started
        with tally.lock:
            tally.latencies.append(elapsed)
            tally.statuses[response.status] += 1
        etag = response.getheader("ETag")
        if response.status == 304:
            if body or etag != headers.get("If-None-Match"):
                tally.error(f"{path}: 304 with a body or another ETag")
            continue
        if response.status != 200 or etag is None:
            tally.error(f"{path}: status {response.status}, ETag {etag}: {body[:200]!r}")
            continue
        try:
            assert int(response.getheader("Content-Length", "-1")) == len(body)
            assert (response.getheader("Content-Encoding") == "gzip") == wants_gzip
            plain = gzip.decompress(body) if wants_gzip else body
            parse(path, plain)
        except Exception as err:  # any failure at all is a malformed response, counted
            tally.error(f"{path}: malformed 200 ({type(err).__name__}: {err})")
            continue
        digest = hashlib.sha256(plain).hexdigest()
        with tally.lock:
            known = tally.digests.setdefault((path, wants_gzip), {}).setdefault(etag, digest)
            tally.documents.setdefault(digest, (path, plain))
        if known != digest:
            tally.error(f"{path}: ETag {etag} stands for two different bodies")
        held[(path, wants_gzip)] = etag


def writer(corpus: Path, deadline: float, changes: list[str]) -> None:
    """Change the corpus every 0.3 s: atomic rewrites, rewrites in place (a reader may catch a
    half-written file), new files, removed files."""
    rng = random.Random(1)
    revision = 0
    added: list[Path] = []
    while time.monotonic() < deadline - 1:
        revision += 1
        kind = rng.choice(["atomic", "in place", "add", "remove"])
        if kind == "remove" and added:
            added.pop(rng.randrange(len(added))).unlink()
        elif kind == "add" or kind == "remove":
            path = corpus / f"new-{revision}.txt"
            path.write_text(corpus_item(1000 + revision, revision, rng), encoding="utf-8")
            added.append(path)
        else:
            n = rng.randrange(ITEMS)
            path = corpus / f"{n:03}.txt"
            text = corpus_item(n, revision, rng)
            if kind == "atomic":
                temp = corpus / f".{n:03}.tmp"
                temp.write_text(text, encoding="utf-8")
                os.replace(temp, path)
            else:
                with path.open("w", encoding="utf-8") as handle:
                    handle.write(text[: len(text) // 2])
                    handle.flush()
                    time.sleep(0.01)
                    handle.write(text[len(text) // 2 :])
        changes.append(kind)
        time.sleep(0.3)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


@pytest.mark.slow
def test_a_real_server_under_load_while_the_corpus_changes(tmp_path: Path) -> None:
    rng = random.Random(0)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for n in range(ITEMS):
        (corpus / f"{n:03}.txt").write_text(corpus_item(n, 0, rng), encoding="utf-8")
    args = [str(corpus), "--watch-interval", str(WATCH_INTERVAL)]
    with serving(args, cwd=tmp_path, workers=WORKERS) as server:
        paths = ["/", "/opml.xml", "/feeds/hot/all.rss", "/feeds/all.json?limit=10&order=hot"]
        paths += [
            f"/feeds/{stem}.{fmt}"
            for stem in ["all", "ai", "space", "money"]
            for fmt in ("rss", "atom", "json")
        ]
        tally = Tally()
        changes: list[str] = []
        started = time.monotonic()
        deadline = started + DURATION
        threads = [threading.Thread(target=writer, args=(corpus, deadline, changes), daemon=True)]
        threads += [
            threading.Thread(target=client, args=(server.port, paths, deadline, seed, tally), daemon=True)
            for seed in range(CLIENTS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=max(0.0, deadline + HTTP_TIMEOUT + 5 - time.monotonic()))
        elapsed = time.monotonic() - started
        stuck = sum(thread.is_alive() for thread in threads)
        log = server.log()
        workers_left = len(server.workers())

    report = summary(tally, elapsed, len(changes), feeds=len(paths) - 2)
    print("\n" + report)
    if os.environ.get("LOAD_REPORT"):
        Path(os.environ["LOAD_REPORT"]).write_text(report + "\n", encoding="utf-8")

    assert stuck == 0, f"{stuck} threads still running"
    assert tally.errors == [], f"{tally.errors}\n{log[-3000:]}"
    assert set(tally.statuses) <= {200, 304}, tally.statuses
    assert tally.statuses[304] > 0 and tally.statuses[200] > 0
    assert len(changes) > 50
    # The changes reached the clients: the feed of all items was seen in many versions.
    assert len(tally.digests.get(("/feeds/all.json", False), {})) > 10
    assert "Traceback" not in log and "[ERROR]" not in log, log[-3000:]
    assert workers_left == WORKERS  # no worker died or timed out
    for path, body in tally.documents.values():
        validate(path, body)


def summary(tally: Tally, elapsed: float, changes: int, *, feeds: int) -> str:
    requests = len(tally.latencies)
    ms = {share: 1000 * percentile(tally.latencies, share) if requests else 0.0 for share in (0.5, 0.9, 0.99)}
    machine = (
        f"{os.cpu_count()} CPUs (nproc {_nproc()}), {platform.machine()}, Python {sys.version.split()[0]}"
    )
    percentiles = f"{ms[0.5]:.1f} ms | {ms[0.9]:.1f} ms | {ms[0.99]:.1f} ms"
    return "\n".join(
        [
            f"## Load: feeds serve under {CLIENTS} polling clients ({datetime.now(UTC):%Y-%m-%d})",
            "",
            f"`tests/test_load.py`: {CLIENTS} client threads (http.client, one connection per request) "
            f"poll the index, the OPML file and {feeds} feeds, half of them asking for gzip, with "
            f"If-None-Match, for {DURATION:.0f} s against `feeds serve` with {WORKERS} gunicorn threaded "
            f"workers (watch interval {WATCH_INTERVAL} s), while the {ITEMS}-item corpus changed {changes} "
            "times (atomic and in-place rewrites, files added and removed). Clients and server share "
            "the machine.",
            "",
            "| requests | requests/s | p50 | p90 | p99 | 200 | 304 | errors |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|",
            f"| {requests} | {requests / elapsed:.0f} | {percentiles} "
            f"| {tally.statuses[200]} | {tally.statuses[304]} | {len(tally.errors)} |",
            "",
            f"Machine: {machine}.",
        ]
    )


def _nproc() -> str:
    try:
        return subprocess.run(["nproc"], capture_output=True, text=True, timeout=5).stdout.strip()
    except OSError:
        return "?"
