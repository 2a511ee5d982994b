"""Archives (RFC 5005 §4) and JSON Feed paging: every item of a feed reachable, each once,
in archives that never move; served and exported alike."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from lxml import html

from feeds.archives import label_of, spans
from feeds.builders import FEED_FORMATS, Format
from feeds.catalogue import file_path
from feeds.cli import main
from feeds.config import Settings
from feeds.corpus import load_corpus
from feeds.export import export_site
from feeds.publication import CLOSED_ARCHIVE_CACHE, Publication
from feeds.web import create_app
from feeds.websub.links import written_topics
from tests.conftest import NOW, item_text, minimal_item
from tests.test_feed_validity import check_atom, check_json, check_rss

BASE = "http://feeds.test/"
START = datetime(2024, 1, 1, tzinfo=UTC)
HISTORY = "{http://purl.org/syndication/history/1.0}"
ATOM = "{http://www.w3.org/2005/Atom}"
FEEDS = ("all", "ai", "space", "hot/all", "hot/ai", "hot/space")


def front(number: int, **changes: Any) -> dict[str, Any]:
    """Item ``number`` of the corpus: one every 7 hours; every other one also in Space;
    hot (heat >= 50) from number 25 on; 10 and 11 tell one story."""
    fields = minimal_item(number) | {
        "publishedDateTime": START + timedelta(hours=7 * number),
        "heat": number * 2,
        "topics": ["AI"] if number % 2 else ["AI", "Space"],
    }
    if number in (10, 11):
        other = 21 - number
        fields["related"] = [{"title": f"Story {other}", "webUrl": f"https://news.example/{other}"}]
    return fields | changes


def write(corpus: Path, number: int, **changes: Any) -> None:
    (corpus / f"i{number:03d}.txt").write_text(item_text(front(number, **changes)))


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    for number in range(40):
        write(folder, number)
    return folder


def settings_of(corpus: Path, **changes: Any) -> Settings:
    return replace(
        Settings(corpus=corpus, index="memory", base_url=BASE, feed_limit=5, archive_size=4), **changes
    )


def export(settings: Settings, out: Path) -> list[str]:
    report = export_site(settings, out, now=NOW)
    assert not report.problems and not report.failures
    return report.written


def snapshot(out: Path) -> dict[str, bytes]:
    """Every document of an export (not its hidden files) and its bytes."""
    files = (p for p in out.rglob("*") if p.is_file() and not p.name.startswith("."))
    return {str(p.relative_to(out)): p.read_bytes() for p in files}


def archives_of(out: Path, stem: str) -> list[str]:
    """The labels of the archives of the feed ``stem`` in an export, oldest first."""
    return sorted(p.stem for p in (out / "feeds" / stem / "archive").glob("*.rss"))


def expected_ids(settings: Settings, stem: str) -> list[str]:
    """The ids of every item of the feed ``stem``, as a publication in memory selects them."""
    publication = Publication(load_corpus(settings.corpus).items, settings, NOW)
    (spec,) = [spec for spec in publication.catalogue if spec.stem == f"/feeds/{stem}"]
    return [item.id for item in publication.selection.query(replace(publication.query(spec), limit=None))]


def reader(out: Path) -> Callable[[str], bytes]:
    return lambda url: (out / file_path(url.removeprefix(BASE.rstrip("/")))).read_bytes()


def collect(get: Callable[[str], bytes], url: str, fmt: Format) -> list[list[str]]:
    """The ids of each document a client reads from the current feed at ``url`` back through
    its archives: ``prev-archive`` links, or JSON Feed's ``next_url``."""
    documents: list[list[str]] = []
    seen: set[str] = set()
    while url:
        assert url not in seen, f"{url} comes twice"
        seen.add(url)
        body = get(url)
        if fmt is Format.JSON:
            feed = json.loads(body)
            documents.append([item["id"] for item in feed["items"]])
            url = feed.get("next_url", "")
        else:
            parsed = feedparser.parse(body)
            assert not parsed.bozo, parsed.bozo_exception
            documents.append([entry.id for entry in parsed.entries])
            url = next((link.href for link in parsed.feed.links if link.rel == "prev-archive"), "")
    return documents


# ----------------------------------------------------------------- how archives are cut


@hypothesis_settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(-(10**9), 10**10), max_size=300), st.integers(1, 20))
def test_spans_hold_every_date_once_in_aligned_spans_of_at_most_size(dates: list[int], size: int) -> None:
    dates.sort()
    cut = spans(dates, size)
    assert [index for _, _, low, high in cut for index in range(low, high)] == list(range(len(dates)))
    for since, until, low, high in cut:
        length = until - since
        assert length & (length - 1) == 0 and since % length == 0, "a span of 2**n seconds, aligned"
        assert all(since <= date < until for date in dates[low:high])
        assert high - low <= size or length == 1
    assert all(a[1] <= b[0] for a, b in zip(cut, cut[1:], strict=False)), "oldest first, apart"


@hypothesis_settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 10**8), max_size=200), st.integers(0, 10**8), st.integers(1, 10))
def test_a_new_date_changes_only_the_span_that_holds_it(dates: list[int], new: int, size: int) -> None:
    dates.sort()
    before = {(since, until): dates[low:high] for since, until, low, high in spans(dates, size)}
    after_dates = sorted([*dates, new])
    after = {(since, until): after_dates[low:high] for since, until, low, high in spans(after_dates, size)}
    for (since, until), held in before.items():
        if not since <= new < until:
            assert after.get((since, until)) == held


def test_an_archive_is_named_by_its_oldest_item_in_utc() -> None:
    assert label_of(int(datetime(2023, 2, 1, 21, 0, 5, tzinfo=UTC).timestamp())) == "20230201-210005"
    assert label_of(-1) == "19691231-235959"


# ------------------------------------------------------------ every item reachable, once


def test_following_the_archives_collects_every_item_of_each_feed_once(corpus: Path, tmp_path: Path) -> None:
    settings = settings_of(corpus)
    out = tmp_path / "out"
    export(settings, out)
    for stem in FEEDS:
        expected = expected_ids(settings, stem)
        assert len(expected) > settings.feed_limit, stem  # every feed here has archives
        for fmt in FEED_FORMATS:
            current, *archives = collect(reader(out), f"{BASE}feeds/{stem}.{fmt.value}", fmt)
            assert current == expected[: settings.feed_limit], (stem, fmt)
            archived = [item for archive in archives for item in archive]
            assert len(archived) == len(set(archived)), f"{stem}.{fmt}: an item in two archives"
            assert sorted(archived) == sorted(expected), f"{stem}.{fmt}: the archives lose or add items"
            assert all(0 < len(archive) <= settings.archive_size for archive in archives)
    # The two tellings of one story are one item, in one archive.
    assert len(expected_ids(settings, "all")) == 39


def test_archive_documents_are_valid_and_say_where_they_stand(corpus: Path, tmp_path: Path) -> None:
    settings = settings_of(corpus)
    out = tmp_path / "out"
    export(settings, out)
    for stem in FEEDS:
        labels = archives_of(out, stem)
        current = {fmt: f"{BASE}feeds/{stem}.{fmt.value}" for fmt in FEED_FORMATS}
        url = {
            (label, fmt): f"{BASE}feeds/{stem}/archive/{label}.{fmt.value}"
            for label in labels
            for fmt in Format
        }
        for fmt in (Format.RSS, Format.ATOM):
            body = reader(out)(current[fmt])
            root = check_rss(body, current[fmt]) if fmt is Format.RSS else check_atom(body, current[fmt])
            assert root.find(f"{HISTORY}complete") is None
            assert links(root)["prev-archive"] == url[(labels[-1], fmt)]
            for number, label in enumerate(labels):
                body = reader(out)(url[(label, fmt)])
                root = (
                    check_rss(body, url[(label, fmt)])
                    if fmt is Format.RSS
                    else check_atom(body, url[(label, fmt)])
                )
                assert root.find(f"{HISTORY}archive") is not None
                found = links(root)
                assert found["current"] == current[fmt]
                assert found.get("prev-archive") == (url[(labels[number - 1], fmt)] if number else None)
                newer = url[(labels[number + 1], fmt)] if number + 1 < len(labels) else None
                assert found.get("next-archive") == newer
                if fmt is Format.ATOM:  # one feed, in many documents
                    assert root.findtext(f"{ATOM}id") == current[fmt]
        for label in labels:
            feed = check_json(
                reader(out)(url[(label, Format.JSON)]),
                url[(label, Format.JSON)],
                feed_url=current[Format.JSON],
            )
            assert feed["home_page_url"] == url[(label, Format.HTML)]


def links(root: Any) -> dict[str, str]:
    return {
        link.get("rel"): link.get("href")
        for link in root.iter(f"{ATOM}link")
        if link.get("rel") != "alternate"
    }


def test_a_feed_whose_items_fit_in_it_is_complete_and_has_no_archives(corpus: Path, tmp_path: Path) -> None:
    settings = settings_of(corpus, feed_limit=50, archive_size=50)
    out = tmp_path / "out"
    export(settings, out)
    assert not list(out.rglob("archive"))
    for fmt, check in ((Format.RSS, check_rss), (Format.ATOM, check_atom)):
        root = check(reader(out)(f"{BASE}feeds/ai.{fmt.value}"), f"{BASE}feeds/ai.{fmt.value}")
        assert root.find(f"{HISTORY}complete") is not None
        assert "prev-archive" not in links(root)
    assert "next_url" not in json.loads((out / "feeds/ai.json").read_bytes())


def test_pages_lead_from_a_feed_page_through_every_item(corpus: Path, tmp_path: Path) -> None:
    settings = settings_of(corpus)
    out = tmp_path / "out"
    export(settings, out)
    page, seen, shown = out / "feeds/ai.html", set(), []
    while True:
        assert page not in seen
        seen.add(page)
        tree = html.fromstring(page.read_bytes())
        shown += tree.xpath("//ol[@class='items']//h3/a/@href")
        older = tree.xpath("//nav[@aria-label='Older and newer stories']/a[text()='Older stories']/@href")
        if not older:
            break
        newer = tree.xpath("//nav[@aria-label='Older and newer stories']/a[text()='Newer stories']/@href")
        if page != out / "feeds/ai.html":
            assert newer, f"{page} has no link to newer stories"
        page = (page.parent / older[0]).resolve()
    urls = {f"https://news.example/{n}" for n in range(40)} - {"https://news.example/10"}  # 11 is hotter
    assert set(shown) == urls
    assert (
        len(shown) == len(urls) + settings.feed_limit
    )  # the newest shown twice: the feed's page and its archive's


# ---------------------------------------------------------------------- archives never move


def test_a_new_item_changes_no_closed_archive(corpus: Path, tmp_path: Path) -> None:
    settings = settings_of(corpus)
    out = tmp_path / "out"
    export(settings, out)
    before = snapshot(out)
    opened = {stem: archives_of(out, stem)[-1] for stem in FEEDS}
    write(corpus, 40)  # the newest of all
    written = export(settings, out)
    after = snapshot(out)
    for name, body in before.items():
        if "/archive/" in name:
            stem, label = name.split("/archive/")
            if label.split(".")[0] != opened[stem.removeprefix("feeds/")]:
                assert after[name] == body, f"{name} is closed, yet it changed"
                assert name not in written
    assert any("/archive/" in name for name in written)  # the open archives took the item


def test_an_item_with_an_old_date_or_an_edit_rewrites_only_the_archives_that_hold_it(
    corpus: Path, tmp_path: Path
) -> None:
    settings = settings_of(corpus)
    out = tmp_path / "out"
    export(settings, out)
    # An AI item (not hot) published an hour after item 3, and item 6 retitled: both land
    # in archives of the all-topics and AI feeds (item 6 in Space's too).
    write(corpus, 41, publishedDateTime=START + timedelta(hours=7 * 3 + 1), topics=["AI"], heat=1)
    write(corpus, 6, title="Story 6, corrected")
    written = {name for name in export(settings, out) if "/archive/" in name}
    holding: set[str] = set()
    for stem in FEEDS:
        for label in archives_of(out, stem):
            text = (out / f"feeds/{stem}/archive/{label}.rss").read_text()
            if "news.example/41<" in text or "Story 6, corrected" in text:
                holding |= {f"feeds/{stem}/archive/{label}.{fmt.value}" for fmt in Format}
    assert holding and written == holding


# --------------------------------------------------------------- served and exported alike


def test_the_server_gives_an_export_s_archives_the_same_bytes_and_caches_closed_ones_for_good(
    corpus: Path, tmp_path: Path
) -> None:
    settings = settings_of(corpus, index=str(tmp_path / "index.sqlite"))
    out = tmp_path / "out"
    export(settings, out)
    client = create_app(settings, clock=lambda: NOW, watch=False).test_client()
    names = [name for name in snapshot(out) if "/archive/" in name]
    assert names
    for name in names:
        response = client.get(f"/{name}")
        assert response.status_code == 200, name
        assert response.data == (out / name).read_bytes(), name
        stem, label = name.split("/archive/")
        closed = label.split(".")[0] != archives_of(out, stem.removeprefix("feeds/"))[-1]
        expected = CLOSED_ARCHIVE_CACHE if closed else f"public, max-age={settings.cache_max_age}"
        assert response.headers["Cache-Control"] == expected, name
        again = client.get(f"/{name}", headers={"If-None-Match": response.headers["ETag"]})
        assert again.status_code == 304
    assert client.get("/feeds/ai.rss").headers["Cache-Control"] == f"public, max-age={settings.cache_max_age}"
    # A browser that opens an archive's feed gets its page, as at a feed's address.
    page = names[0].rsplit(".", 1)[0] + ".html"
    navigated = client.get(f"/{names[0].rsplit('.', 1)[0]}.rss", headers={"Sec-Fetch-Dest": "document"})
    assert navigated.data == (out / page).read_bytes()


def test_bad_archive_addresses_are_not_found(corpus: Path, tmp_path: Path) -> None:
    settings = settings_of(corpus)
    client = create_app(settings, clock=lambda: NOW, watch=False).test_client()
    label = min(client.get("/feeds/ai.rss").data.decode().split("/feeds/ai/archive/")[1:])[:15]
    assert client.get(f"/feeds/ai/archive/{label}.rss").status_code == 200
    for path in (
        "/feeds/ai/archive/20240101-000001.rss",  # no archive starts there
        "/feeds/ai/archive/99999999-999999.rss",
        "/feeds/ai/archive/latest.rss",
        "/feeds/ai/archive/.rss",
        f"/feeds/ai/archive/{label}.xml",
        f"/feeds/nothing/archive/{label}.rss",
        f"/feeds/ai/archive/{label}/x.rss",
        f"/feeds/ai/archive/{label}",
        "/feeds/ai/archive/",
        "/feeds/ai/archive/../ai.rss/archive/20240101-000000.rss",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert b"Traceback" not in response.data


def test_a_feed_made_from_parameters_has_no_archives_and_names_none(corpus: Path) -> None:
    client = create_app(settings_of(corpus), clock=lambda: NOW, watch=False).test_client()
    for path in ("/feeds/ai.rss?limit=3", "/feeds/ai.atom?min_heat=10"):
        body = client.get(path).data
        assert b"prev-archive" not in body and b"fh:" not in body, path
    assert "next_url" not in client.get("/feeds/ai.json?limit=3").get_json()
    # An archive takes no parameters: the same archive, whatever they say.
    label = client.get("/feeds/ai.json").get_json()["next_url"].rsplit("/", 1)[1]
    assert (
        client.get(f"/feeds/ai/archive/{label}?limit=1").data == client.get(f"/feeds/ai/archive/{label}").data
    )


def test_hubs_hear_of_current_documents_only(corpus: Path) -> None:
    settings = settings_of(corpus, hubs=("https://hub.example/",))
    client = create_app(settings, clock=lambda: NOW, watch=False).test_client()
    archive = client.get("/feeds/ai.json").get_json()["next_url"].removeprefix(BASE)
    assert written_topics(settings, ["feeds/ai.rss", archive, archive.replace(".json", ".rss")]) == [
        f"{BASE}feeds/ai.rss"
    ]
    assert b"hub.example" not in client.get(f"/{archive}").data
    assert "hub.example" not in client.get(f"/{archive}").headers["Link"]
    assert "hub.example" in client.get("/feeds/ai.json").headers["Link"]


def test_the_archives_setting_turns_them_off_by_flag_and_by_environment(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    common = ["--feed-limit", "5", "--base-url", BASE]
    for number, extra in enumerate((["--no-archives"], [], ["--archives"])):
        if number == 1:
            monkeypatch.setenv("FEEDS_ARCHIVES", "0")
        out = tmp_path / f"out{number}"
        result = CliRunner().invoke(
            main, ["export", str(corpus), str(out), *common, *extra], catch_exceptions=False
        )
        assert result.exit_code == 0, result.output
        has_archives = bool(list(out.rglob("archive")))
        assert has_archives == (number == 2), extra
        assert (b"fh:complete" in (out / "feeds/ai.rss").read_bytes()) is False
        assert (b"prev-archive" in (out / "feeds/ai.rss").read_bytes()) == has_archives


def test_archives_from_the_index_are_those_of_items_in_memory(corpus: Path, tmp_path: Path) -> None:
    """The server reads archives from the index; a publication of items in memory makes the
    same documents, stories included."""
    settings = settings_of(corpus, index=str(tmp_path / "index.sqlite"))
    client = create_app(settings, clock=lambda: NOW, watch=False).test_client()
    publication = Publication(load_corpus(corpus).items, settings, NOW)
    paths = list(publication.archives.paths())
    assert len(paths) > 40
    for path in paths:
        document = publication.render(path)
        assert document is not None
        assert client.get(path).data == document.body, path
