"""Rounds that take the last round's fingerprints of the archives no change touched give
exactly the files an export from scratch gives, whatever the changes."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from feeds.config import Settings
from feeds.export import MANIFEST, export_site
from feeds.index import changes
from tests.conftest import NOW, item_text, minimal_item

TOPICS = ["AI", "Space", "Chips", "Climate"]
START = datetime(2024, 1, 1, tzinfo=UTC)
BASE = "http://feeds.test/"


def url(number: int) -> str:
    return f"https://news.example/{number}"


class Corpus:
    """A corpus of items, each told by one file, edited at random as a person would."""

    def __init__(self, root: Path, rng: random.Random, size: int) -> None:
        self.root = root
        self.rng = rng
        self.fronts: dict[str, dict[str, Any]] = {}
        self.next = 0
        for _ in range(size):
            self.add()

    def add(self, when: datetime | None = None) -> None:
        number = self.next
        self.next += 1
        rng = self.rng
        front = minimal_item(number) | {
            "title": f"Story {number}",
            "publishedDateTime": when or START + timedelta(hours=rng.randrange(24 * 365)),
            "webUrl": url(number),
            "heat": rng.choice([-1, -1, 20, 60, 90]),
            "topics": rng.sample(TOPICS, rng.randint(1, 2)),
            "published": rng.random() < 0.85,
        }
        if self.fronts and rng.random() < 0.4:
            self.relate(front)
        self.fronts[f"{number:04d}.txt"] = front
        self.write(f"{number:04d}.txt")

    def relate(self, front: dict[str, Any]) -> None:
        """Name an item near in time (one story) or any item (a related story)."""
        others = list(self.fronts.values())
        other = self.rng.choice(others)
        if self.rng.random() < 0.6:
            front["publishedDateTime"] = other["publishedDateTime"] + timedelta(
                hours=self.rng.randint(-60, 60)
            )
        related = list(front.get("related") or [])
        related.append({"title": f"About {other['title']}", "webUrl": other["webUrl"]})
        front["related"] = related

    def write(self, name: str) -> None:
        (self.root / name).write_text(item_text(self.fronts[name]), encoding="utf-8")

    def edit(self) -> str:
        """One change, at random; what it was."""
        rng = self.rng
        name = rng.choice(sorted(self.fronts))
        front = self.fronts[name]
        kind = rng.choice(
            [
                "title",
                "date",
                "published",
                "topics",
                "heat",
                "relate",
                "add",
                "add old",
                "delete",
                "copy",
                "later",
            ]
        )
        if kind == "title":
            front["title"] += " (corrected)"
        elif kind == "date":
            front["publishedDateTime"] = START + timedelta(hours=rng.randrange(24 * 365))
        elif kind == "published":
            front["published"] = not front["published"]
        elif kind == "topics":
            front["topics"] = rng.sample(TOPICS, rng.randint(1, 3))
        elif kind == "heat":
            front["heat"] = rng.choice([-1, 5, 55, 95])
        elif kind == "relate":
            self.relate(front)
        elif kind == "add":
            self.add(START + timedelta(days=366))
            return kind
        elif kind == "add old":
            self.add()
            return kind
        elif kind == "delete":
            del self.fronts[name]
            (self.root / name).unlink()
            return kind
        elif kind == "copy":  # a second file with the same URL: the newer is published
            copy = f"{self.next:04d}.txt"
            self.next += 1
            self.fronts[copy] = front | {"title": front["title"] + " (copy)"}
            self.write(copy)
            return kind
        elif kind == "later":  # scheduled, then come due
            front["publishedDateTime"] = NOW + timedelta(hours=rng.randint(1, 30))
        self.write(name)
        return kind


def contents(out: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(out)): path.read_bytes()
        for path in sorted(out.rglob("*"))
        if path.is_file() and path.name != MANIFEST
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("collapse", [True, False])
def test_rounds_that_reuse_fingerprints_export_what_an_export_from_scratch_does(
    tmp_path: Path, fingerprints: list[str], seed: int, collapse: bool
) -> None:
    rng = random.Random(seed)
    root = tmp_path / "corpus"
    root.mkdir()
    corpus = Corpus(root, rng, 90)
    settings = Settings(
        corpus=root,
        base_url=BASE,
        index=str(tmp_path / "index.db"),
        feed_limit=6,
        archive_size=4,
        collapse=collapse,
        selections={"hot": 50},
    )
    out = tmp_path / "out"
    asked = fingerprints
    now = NOW
    export_site(settings, out, now=now)
    reused = 0
    for step in range(24):
        kind = corpus.edit()
        now += timedelta(hours=rng.choice([0, 1, 7]))
        asked.clear()
        export_site(settings, out, now=now)
        documents = sum(1 for name in contents(out) if not name.endswith(".gz") and ".open-" not in name)
        reused += documents - len(asked)
        fresh = tmp_path / f"fresh{step}"
        export_site(replace(settings, index=str(tmp_path / f"fresh{step}.db")), fresh, now=now)
        assert contents(out) == contents(fresh), f"after step {step} ({kind})"
    assert reused > 0  # the rounds took some fingerprints from the last one


@pytest.mark.parametrize("edit", [False, True])
def test_an_archived_item_naming_a_scheduled_one_changes_when_it_comes_due(
    tmp_path: Path, edit: bool
) -> None:
    """Nothing in the index changes when a scheduled item comes due; what names it does."""
    root = tmp_path / "corpus"
    root.mkdir()
    fronts = {
        number: minimal_item(number) | {"publishedDateTime": START + timedelta(days=number)}
        for number in range(30)
    }
    fronts[40] = minimal_item(40) | {"publishedDateTime": NOW + timedelta(hours=5)}
    fronts[2]["related"] = [{"title": "Coming soon", "webUrl": url(40)}]
    for number, front in fronts.items():
        (root / f"{number:04d}.txt").write_text(item_text(front | {"webUrl": url(number)}), encoding="utf-8")
    settings = Settings(
        corpus=root, base_url=BASE, index=str(tmp_path / "index.db"), feed_limit=6, archive_size=4
    )
    out = tmp_path / "out"
    export_site(settings, out, now=NOW)
    before = contents(out)
    if edit:  # another change, far from both
        (root / "0025.txt").write_text(
            item_text(fronts[25] | {"title": "Edited", "webUrl": url(25)}), encoding="utf-8"
        )
    later = NOW + timedelta(hours=6)
    export_site(settings, out, now=later)
    fresh = tmp_path / "fresh"
    export_site(replace(settings, index=str(tmp_path / "fresh.db")), fresh, now=later)
    after = contents(out)
    assert after == contents(fresh)
    naming = [name for name, body in after.items() if "/archive/" in name and b"Coming soon" in body]
    assert "feeds/all/archive/20240103-000000.rss" in naming  # where item 2 is
    assert all(b"Coming soon" not in before[name] for name in naming)


def test_a_round_older_than_the_kept_changes_finds_every_fingerprint_again(
    tmp_path: Path, fingerprints: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(changes, "KEPT_GENERATIONS", 1)
    root = tmp_path / "corpus"
    root.mkdir()
    corpus = Corpus(root, random.Random(4), 40)
    settings = Settings(
        corpus=root, base_url=BASE, index=str(tmp_path / "index.db"), feed_limit=6, archive_size=4
    )
    out = tmp_path / "out"
    export_site(settings, out, now=NOW)
    for _ in range(3):  # other rounds over the same index, elsewhere, move it on
        corpus.fronts["0001.txt"]["title"] += " (corrected)"
        corpus.write("0001.txt")
        export_site(settings, tmp_path / "elsewhere", now=NOW)
    fingerprints.clear()
    export_site(settings, out, now=NOW)
    documents = [name for name in contents(out) if not name.endswith(".gz") and ".open-" not in name]
    assert len(fingerprints) == len(documents)  # none taken from the last round
    fresh = tmp_path / "fresh"
    export_site(replace(settings, index=str(tmp_path / "fresh.db")), fresh, now=NOW)
    assert contents(out) == contents(fresh)
