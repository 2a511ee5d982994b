"""One story told by several providers is one item: which tellings are one story, what the
item shows, in every format and on the pages, served and exported alike, live, and the
same bytes whatever the files are called."""

from __future__ import annotations

import json
import random
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feeds.config import Settings, load_settings
from feeds.corpus import load_corpus
from feeds.index import CorpusIndex
from feeds.model import Item, Related
from feeds.publication import Publication
from feeds.select import Order, Query, Selection
from feeds.stories import Collapse, collapse_items
from feeds.web import create_app

from .conftest import NOW, SEEDS, CorpusWriter, item_text, minimal_item
from .test_hostile import child_env, feeds_cli
from .test_index import queries
from .test_serve_process import serving
from .test_web import feed_urls
from .test_websub_serve import wait_log
from .websub_peers import StandInHub

BASE = "http://feeds.test/"
DAY = timedelta(days=1)
START = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
MASHABLE = (
    "https://in.mashable.com/tech/46558/"
    "netflixs-labour-shortage-claim-for-using-ai-raises-age-old-questions-about-industrys-declining-ethic"
)
ARS = (
    "https://arstechnica.com/information-technology/2023/02/"
    "netflix-taps-ai-image-synthesis-for-background-art-in-the-dog-and-the-boy/"
)
PCMAG = "https://www.pcmag.com/news/netflix-taps-ai-to-generate-anime-backgrounds-rather-than-hire-humans"
BGR = "https://bgr.com/entertainment/netflix-has-found-an-exciting-new-way-to-piss-everyone-off/"


def feeds(args: list[str], cwd: Path, **env: str) -> Any:
    """``feeds ARGS`` in a child process, its index in ``cwd``'s cache."""
    return feeds_cli(args, cwd=cwd, timeout=120, env=child_env(cwd / ".cache", **env))


def url(name: str) -> str:
    return f"https://news.example/{name}"


def telling(
    name: str,
    when: datetime,
    *,
    names: tuple[str, ...] = (),
    heat: int = -1,
    quality: int | None = 50,
    topics: tuple[str, ...] = ("AI",),
    published: bool = True,
    provider: str | None = None,
    title: str | None = None,
) -> str:
    """An item file at ``url(name)`` whose related stories are ``url(n)`` of ``names``."""
    related = [
        {"title": f"Related {other}", "webUrl": url(other), "provider": {"name": f"Provider {other}"}}
        for other in names
    ]
    return item_text(
        minimal_item(),
        title=title or f"Telling {name}",
        webUrl=url(name),
        publishedDateTime=when,
        heat=heat,
        quality=quality,
        topics=list(topics),
        published=published,
        provider={"name": provider or f"Provider {name}", "domain": f"{name}.example"},
        related=related or None,
    )


WEEK = Collapse()


def shown(root: Path, *, collapse: Collapse | None = WEEK, now: datetime = NOW) -> list[Item]:
    return Selection(load_corpus(root).items, now, collapse).query(Query())


def groups(items: list[Item]) -> set[frozenset[str]]:
    """Each shown item as the URLs it tells: its own and its coverage's."""
    return {frozenset([item.url, *(story.url for story in item.coverage)]) for item in items}


@pytest.fixture
def seeds_published(tmp_path: Path) -> Path:
    """The sample corpus with each of its four tellings published."""
    root = tmp_path / "seeds"
    root.mkdir()
    for path in sorted(SEEDS.iterdir()):
        text = path.read_text(encoding="utf-8").replace("\npublished: false\n", "\npublished: true\n")
        (root / path.name).write_text(text, encoding="utf-8")
    return root


# -- the seeds: four providers, one story ---------------------------------------------------


def test_the_seeds_told_four_times_are_one_item_in_every_feed(seeds_published: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    result = feeds(["export", str(seeds_published), str(out), "--base-url", BASE, "-q"], tmp_path)
    assert result.returncode == 0, result.stderr
    documents = sorted(
        path for path in (out / "feeds").rglob("*") if path.suffix in (".rss", ".atom", ".json")
    )
    assert len(documents) >= 12  # all, AI, AI Ethics and their hot selections, three formats each
    others = [ARS, PCMAG, BGR]
    for path in documents:
        body = path.read_bytes()
        assert feed_urls(path.suffix[1:], body) == [MASHABLE], path  # valid, and one item
        if path.suffix == ".json":
            [item] = json.loads(body)["items"]
            assert item["id"] == ars_id(seeds_published)
            assert item["date_published"] == "2023-02-01T21:00:00Z"
            assert item["date_modified"] == "2023-02-03T12:51:00Z"
            assert item["title"].startswith("Netflix's Labour Shortage Claim")
            assert item["_feeds"]["heat"] == 98
            content = item["content_html"]
            assert [story["url"] for story in item["_feeds"]["coverage"]] == [ARS, PCMAG, BGR]  # oldest first
            assert "related" not in item["_feeds"]  # Mashable's related stories are the other tellings
        else:
            [entry] = feedparser.parse(body).entries
            assert entry.id == ars_id(seeds_published)
            assert entry.published_parsed[:5] == (2023, 2, 1, 21, 0)
            if path.suffix == ".atom":
                assert entry.updated_parsed[:5] == (2023, 2, 3, 12, 51)
                related = [link.href for link in entry.links if link.rel == "related"]
                assert related == [ARS, PCMAG, BGR]
            content = entry.content[0].value
        assert "Also covered by" in content, path
        for other in others:
            assert content.count(f'href="{other}"') == 1, (path, other)
        for provider in ("Ars Technica", "PC Magazine", "BGR"):
            assert provider in content, (path, provider)
    page = (out / "feeds" / "ai.html").read_text(encoding="utf-8")
    assert page.count("<article") == 1 and "Also covered by" in page
    for other in others:
        assert page.count(f'href="{other}"') == 1


def ars_id(root: Path) -> str:
    [ars] = [item for item in load_corpus(root).items if item.url == ARS]
    return ars.id


def test_the_server_gives_the_exported_bytes_of_a_collapsed_story(
    seeds_published: Path, tmp_path: Path
) -> None:
    out = tmp_path / "site"
    result = feeds(["export", str(seeds_published), str(out), "--base-url", BASE, "-q"], tmp_path)
    assert result.returncode == 0, result.stderr
    app = create_app(Settings(corpus=seeds_published, base_url=BASE), clock=lambda: NOW, watch=False)
    try:
        client = app.test_client()
        names = [path.relative_to(out).as_posix() for path in out.rglob("*") if path.is_file()]
        documents = [name for name in names if name.startswith("feeds/") or name == "opml.xml"]
        assert len(documents) > 12
        for name in documents:
            response = client.get(f"/{name}")
            assert response.status_code == 200, name
            assert response.data == (out / name).read_bytes(), name
    finally:
        app.extensions["feeds"].close()


def test_collapse_is_a_setting(seeds_published: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    result = feeds(
        ["export", str(seeds_published), str(out), "--base-url", BASE, "-q"], tmp_path, FEEDS_COLLAPSE="0"
    )
    assert result.returncode == 0, result.stderr
    assert len(feed_urls("rss", (out / "feeds" / "all.rss").read_bytes())) == 4
    flags = ["--base-url", BASE, "-q", "--collapse"]
    again = feeds(["export", str(seeds_published), str(out), *flags], tmp_path, FEEDS_COLLAPSE="0")
    assert again.returncode == 0, again.stderr
    assert feed_urls("rss", (out / "feeds" / "all.rss").read_bytes()) == [MASHABLE]  # the flag wins
    (tmp_path / "pyproject.toml").write_text("[tool.feeds]\ncollapse = false\n", encoding="utf-8")
    assert load_settings(pyproject=tmp_path / "pyproject.toml").collapsing is None
    apart = Settings(collapse_days=0).collapsing
    assert apart is not None and len(shown(seeds_published, collapse=apart)) == 4
    assert len(shown(seeds_published)) == 1


def test_check_and_topics_say_how_many_items_became_how_many_stories(
    seeds_published: Path, tmp_path: Path
) -> None:
    check = feeds(["check", str(seeds_published)], tmp_path)
    assert check.returncode == 1, check.stderr  # the sample's file with no front matter
    *_, summary, stories = check.stdout.strip().splitlines()
    assert summary == "5 files, 4 items, 4 published, 1 rejected, 2 topics"
    assert stories == "4 published items are 1 story told more than once, each shown as one item"
    report = json.loads(feeds(["check", "--json", str(seeds_published)], tmp_path).stdout)
    assert (report["totals"]["published"], report["totals"]["told"], report["totals"]["stories"]) == (4, 4, 1)
    lines = feeds(["topics", str(seeds_published)], tmp_path).stdout.strip().splitlines()
    assert lines[-1] == stories
    assert [line.split()[:2] for line in lines[1:-1]] == [["ai", "1"], ["ai-ethics", "1"]]
    off = feeds(["topics", str(seeds_published)], tmp_path, FEEDS_COLLAPSE="0").stdout
    assert off.strip().splitlines()[1].split()[:2] == ["ai", "4"]
    assert "told more than once" not in off


# -- which tellings are one story -----------------------------------------------------------


def clusters_corpus() -> dict[str, str]:
    """Clusters, singles and near misses, each named for what it is."""
    return {
        # a story of three: b names a, c names b (a lists nobody)
        "a.txt": telling("a", START, heat=20),
        "b.txt": telling("b", START + 2 * DAY, names=("a",), heat=90, quality=10),
        "c.txt": telling("c", START + 3 * DAY, names=("b",), heat=90, quality=80, topics=("Space",)),
        # a chain, each step within the window, its ends 12 days apart: one story
        "chain1.txt": telling("chain1", START + 40 * DAY, names=("chain2",)),
        "chain2.txt": telling("chain2", START + 46 * DAY, names=("chain3",)),
        "chain3.txt": telling("chain3", START + 52 * DAY),
        # singles
        "single1.txt": telling("single1", START + DAY),
        "single2.txt": telling("single2", START + 5 * DAY, names=("nowhere",)),  # names no item
        # the same title with no link between them: two items
        "twin1.txt": telling("twin1", START + 10 * DAY, title="The same title"),
        "twin2.txt": telling("twin2", START + 10 * DAY, title="The same title"),
        # a link to an unpublished item pulls in nothing, and no story goes through it
        "via.txt": telling("via", START + 20 * DAY, names=("draft",)),
        "draft.txt": telling("draft", START + 20 * DAY, names=("beyond",), published=False),
        "beyond.txt": telling("beyond", START + 21 * DAY),
        # linked, but 30 days apart: two stories
        "early.txt": telling("early", START + 60 * DAY),
        "late.txt": telling("late", START + 90 * DAY, names=("early",)),
    }


def test_linked_tellings_within_the_window_are_one_story(write_corpus: CorpusWriter) -> None:
    root = write_corpus(clusters_corpus())
    items = shown(root)
    by_url = {item.url: item for item in items}
    assert groups(items) == {
        frozenset({url("a"), url("b"), url("c")}),
        frozenset({url("chain1"), url("chain2"), url("chain3")}),
        *({frozenset({url(name)})} for name in []),
    } | {
        frozenset({url(name)})
        for name in ("single1", "single2", "twin1", "twin2", "via", "beyond", "early", "late")
    }
    assert url("draft") not in {story.url for item in items for story in (*item.coverage, *item.related)}
    story = by_url[url("c")]  # the hottest: heat 90 as b, then the higher quality
    assert story.title == "Telling c" and story.provider and story.provider.name == "Provider c"
    earliest = next(item for item in load_corpus(root).items if item.url == url("a"))
    assert (story.id, story.published_at, story.updated_at) == (earliest.id, START, START + 3 * DAY)
    assert [other.url for other in story.coverage] == [url("a"), url("b")]
    assert story.related == ()  # c names b, a telling: listed once, as coverage
    assert story.topics == ("Space", "AI") and story.heat == 90 and story.quality == 80


def test_a_story_is_in_each_topic_of_its_tellings_and_as_hot_as_the_hottest(
    write_corpus: CorpusWriter,
) -> None:
    root = write_corpus(clusters_corpus())
    selection = Selection(load_corpus(root).items, NOW, Collapse())
    [space] = selection.query(Query(topic="space"))
    assert space.url == url("c") and len(space.coverage) == 2
    hot = selection.query(Query(min_heat=50))
    assert [item.url for item in hot] == [url("c")]
    assert [item.url for item in selection.query(Query(topic="AI"))][-1] == url(
        "c"
    )  # at a's date, the oldest
    assert {topic.name: topic.count for topic in selection.topics} == {"AI": 10, "Space": 1}


def test_the_hottest_telling_is_by_heat_then_quality_then_the_newest(write_corpus: CorpusWriter) -> None:
    def hottest(**tellings: dict[str, Any]) -> str:
        names = list(tellings)
        files = {
            f"{name}.txt": telling(name, START + number * DAY, names=tuple(names[:number]), **fields)
            for number, (name, fields) in enumerate(tellings.items())
        }
        [item] = shown(write_corpus(files))
        return item.title.removeprefix("Telling ")

    assert hottest(a={"heat": 10}, b={"heat": -1}, c={"heat": 5}) == "a"  # unscored last
    assert hottest(a={"heat": -1}, b={"heat": -1}, c={"heat": -1}) == "c"  # all unscored: the newest
    assert hottest(a={"heat": 7, "quality": None}, b={"heat": 7, "quality": 1}) == "b"  # no quality last
    assert hottest(a={"heat": 7, "quality": 60}, b={"heat": 7, "quality": 60}) == "b"  # the newest


def test_one_url_in_several_files_is_elected_before_stories_are_told(write_corpus: CorpusWriter) -> None:
    older = telling("x", START, title="Old copy")
    newer = telling("x", START + DAY, title="New copy")
    root = write_corpus({"x1.txt": older, "x2.txt": newer, "y.txt": telling("y", START + DAY, names=("x",))})
    [item] = shown(root)
    assert {item.title, *(story.title for story in item.coverage)} == {"New copy", "Telling y"}
    assert item.published_at == START + DAY  # the elected copy's date: the other copy is no telling


def test_a_scheduled_telling_joins_its_story_when_due(write_corpus: CorpusWriter) -> None:
    root = write_corpus({
        "a.txt": telling("a", START),
        "b.txt": telling("b", START + DAY),
        "s.txt": telling("s", START + 2 * DAY, names=("a", "b")),  # links a and b, once it is due
    })  # fmt: skip
    early = shown(root, now=START + DAY + timedelta(hours=1))
    assert groups(early) == {frozenset({url("a")}), frozenset({url("b")})}
    index = CorpusIndex(root)
    try:
        index.refresh()
        for now in (START + timedelta(hours=1), START + DAY + timedelta(hours=1), NOW):
            assert index.selection(now, Collapse()).next_change == (
                None if now == NOW else START + (2 if now > START + DAY else 1) * DAY
            )
            reference = Selection(load_corpus(root).items, now, Collapse())
            answer = index.selection(now, Collapse())
            assert answer.query(Query()) == reference.query(Query()), now
            assert answer.stories_kept == (now == NOW)  # s is not yet visible: found for the moment
        assert groups(index.selection(NOW, Collapse()).query(Query())) == {
            frozenset({url("a"), url("s"), url("b")})
        }
    finally:
        index.close()


def test_the_same_corpus_gives_the_same_bytes_whatever_its_files_are_called(
    write_corpus: CorpusWriter, tmp_path: Path
) -> None:
    files = clusters_corpus()
    renamed = {f"{random.Random(name).randrange(10**6):06}-{name}": text for name, text in files.items()}
    shuffled = dict(sorted(renamed.items(), key=lambda entry: random.Random(entry[0]).random()))
    sites = []
    for corpus in (write_corpus(files), write_corpus(shuffled)):
        settings = Settings(corpus=corpus, base_url=BASE)
        publication = Publication(load_corpus(corpus).items, settings, NOW)
        sites.append({path: publication.render(path).body for path in publication.paths()})  # type: ignore[union-attr]
    assert sites[0] == sites[1]
    assert len(sites[0]) > 10


# -- properties -----------------------------------------------------------------------------


@st.composite
def linked_items(draw: st.DrawFn) -> list[Item]:
    count = draw(st.integers(1, 14))
    items = []
    for number in range(count):
        names = draw(st.lists(st.integers(0, count + 2), max_size=3))  # some beyond the corpus
        items.append(
            Item(
                id=f"id-{number}",
                source=f"{number}.txt",
                title=draw(st.sampled_from(["Same", f"Story {number}"])),
                url=f"https://news.example/{number}",
                published_at=START + timedelta(hours=draw(st.integers(0, 24 * 20))),
                published=draw(st.booleans()),
                heat=draw(st.integers(-1, 3)),
                quality=draw(st.one_of(st.none(), st.integers(0, 3))),
                topics=tuple(draw(st.lists(st.sampled_from(["AI", "ai", "Space", "Sport"]), max_size=2))),
                related=tuple(
                    Related(
                        id=f"id-{other}",
                        title=f"Story {other}",
                        url=f"https://news.example/{other}",
                        keys=(f"id-{other}",),
                    )
                    for other in names
                ),  # fmt: skip
                keys=(f"id-{number}",),
            )
        )
    return items


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(linked_items(), st.integers(0, 10))
def test_collapsing_never_loses_a_published_item(items: list[Item], days: int) -> None:
    visible = Selection(items, NOW).items
    collapsed = Selection(items, NOW, Collapse(days)).items
    told = [item.url for item in collapsed] + [story.url for item in collapsed for story in item.coverage]
    assert sorted(told) == sorted(item.url for item in visible)  # every URL once: an item or in one story
    hidden = {item.url for item in items if not item.published}
    for item in collapsed:
        assert not hidden & {story.url for story in (*item.coverage, *item.related)}
        urls = [item.url, *(story.url for story in (*item.coverage, *item.related))]
        assert not item.coverage or len(urls) == len(set(urls))  # no URL listed twice in a story
        members = [
            next(i for i in visible if i.url == u) for u in [item.url, *(s.url for s in item.coverage)]
        ]
        assert item.published_at == min(member.published_at for member in members)
        assert item.updated_at == max(member.published_at for member in members)
    again, _ = collapse_items(list(reversed(Selection(items, NOW).items)), Collapse(days))
    assert sorted(again, key=lambda item: item.id) == sorted(collapsed, key=lambda item: item.id)


# -- the index keeps its links as files change ----------------------------------------------


def test_the_index_relinks_tellings_as_files_change(write_corpus: CorpusWriter) -> None:
    files = clusters_corpus()
    root = write_corpus(files)
    rng = random.Random(5)
    names = sorted(files)
    index = CorpusIndex(root)
    before: dict[Query, tuple[str, list[Item]]] = {}
    try:
        index.refresh()
        for round_number in range(16):
            alike = round_number % 3 == 1  # a round of edits that keep every link
            for _ in range(3):
                name = rng.choice(names)
                path = root / name
                choice = rng.random()
                if choice < 0.3 and path.exists() and not alike:
                    path.unlink()
                elif (alike or choice < 0.6) and path.exists():  # described anew, not regrouped
                    text = path.read_text(encoding="utf-8")
                    text = re.sub(r"^heat: .*$", f"heat: {rng.randint(-1, 9)}", text, count=1, flags=re.M)
                    text = re.sub(r"^title: .*$", f"title: Edited {round_number}", text, count=1, flags=re.M)
                    text = text.replace("- AI\n", "- AI Ethics\n") if rng.random() < 0.3 else text
                    path.write_text(text, encoding="utf-8")
                else:
                    others = tuple(rng.sample([n.removesuffix(".txt") for n in names], rng.randint(0, 2)))
                    when = START + timedelta(days=rng.randint(0, 20))
                    path.write_text(
                        telling(name.removesuffix(".txt"), when, names=others, heat=rng.randint(-1, 9))
                    )
            index.refresh()
            reference = Selection(load_corpus(root).items, NOW, Collapse())
            answer = index.selection(NOW, Collapse())
            assert answer.stories_kept  # grouped again as files change, by the refresh
            assert (answer.told, answer.stories) == (reference.told, reference.stories), round_number
            assert list(answer.topics) == list(reference.topics)
            for query in [*queries(reference), Query(order=Order.HOT)]:
                assert answer.query(query) == reference.query(query), (round_number, query)
                assert answer.count(query) == reference.count(query), (round_number, query)
                # A feed's fingerprint changes with its items, and only with them.
                now = (answer.fingerprint(query), answer.query(query))
                if query in before:
                    assert (now[0] == before[query][0]) == (now[1] == before[query][1]), (round_number, query)
                before[query] = now
    finally:
        index.close()


# -- live -------------------------------------------------------------------------------------


def test_a_new_telling_while_serving_updates_the_story_in_place_and_pings(
    write_corpus: CorpusWriter, tmp_path: Path
) -> None:
    root = write_corpus({
        "a.txt": telling("a", START, heat=10),
        "b.txt": telling("b", START + DAY, names=("a",), heat=20),
        "other.txt": telling("other", START + 30 * DAY, topics=("Space",)),
    })  # fmt: skip
    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    with StandInHub() as hub:
        args = [str(root), "--hub-url", hub.url, "--watch-interval", "0.2"]
        with serving(args, cwd=tmp_path, workers=1) as server:  # one worker: one version at a time
            wait_log(server, "changes are told from now on")

            def story() -> dict[str, Any]:
                status, _, body = server.fetch("/feeds/ai.json")
                assert status == 200
                items = json.loads(body)["items"]
                assert len(items) == 1, [item["url"] for item in items]
                return items[0]  # type: ignore[no-any-return]

            before = story()
            assert before["url"] == url("b") and len(before["_feeds"]["coverage"]) == 1
            (root / "c.txt").write_text(
                telling("c", START + 2 * DAY, names=("b",), heat=99), encoding="utf-8"
            )
            deadline = time.monotonic() + 10
            while len(story()["_feeds"]["coverage"]) < 2:
                assert time.monotonic() < deadline, server.log()
                time.sleep(0.1)
            after = story()
            assert after["id"] == before["id"] and after["date_published"] == before["date_published"]
            assert after["url"] == url("c"), json.dumps(after, indent=1)  # the hottest telling now
            assert [other["url"] for other in after["_feeds"]["coverage"]] == [url("a"), url("b")]
            hub.wait_for(lambda seen: f"{server.base}feeds/ai.json" in hub.topics())
            assert f"{server.base}feeds/space.json" not in hub.topics()  # only what changed


def test_a_full_feed_from_the_index_cuts_between_stories_and_items_where_the_order_does(
    write_corpus: CorpusWriter,
) -> None:
    # The index reads only the stories that can come before the last item of a full feed:
    # at a tie of date (and heat), the id decides, on either side of the cut.
    files = {}
    for number in range(6):
        files[f"single{number}.txt"] = telling(f"single{number}", START, heat=60)
        files[f"first{number}.txt"] = telling(f"first{number}", START, heat=60)
        files[f"later{number}.txt"] = telling(
            f"later{number}", START + DAY, heat=40, names=(f"first{number}",)
        )
    files["hotter.txt"] = telling("hotter", START - DAY, heat=90)
    files["colder.txt"] = telling("colder", START + DAY, heat=10)
    root = write_corpus(files)
    reference = Selection(load_corpus(root).items, NOW, WEEK)
    assert reference.stories == 6
    index = CorpusIndex(root, collapse=WEEK)
    try:
        index.refresh()
        answer = index.selection(NOW, WEEK)
        assert answer.stories_kept
        for limit in range(1, 16):
            for query in (Query(limit=limit), Query(order=Order.HOT, limit=limit, min_heat=20)):
                assert answer.query(query) == reference.query(query), query
                assert answer.count(query) == reference.count(query), query
    finally:
        index.close()
