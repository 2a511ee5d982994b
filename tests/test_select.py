"""Selection: which items a feed holds and in which order, as a pure function of a clock."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.corpus import canonical_url, item_id, load_corpus
from feeds.model import UNSCORED, Item, Related
from feeds.select import Order, Query, Selection, is_visible, select

from .conftest import NOW, CorpusWriter, item_text, minimal_item

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def make(number: int, *, hours: float = 0, **fields: Any) -> Item:
    """An item dated ``hours`` after T0, published, unscored, in topic AI."""
    url = f"https://news.example/{number}"
    values: dict[str, Any] = {
        "id": item_id(canonical_url(url)),
        "source": f"{number:03}.txt",
        "title": f"Story {number}",
        "url": url,
        "published_at": T0 + timedelta(hours=hours),
        "published": True,
        "topics": ("AI",),
    }
    values.update(fields)
    return Item(**values)


def titles(items: list[Item]) -> list[str]:
    return [item.title for item in items]


# -- visibility ---------------------------------------------------------------------------


def test_only_published_items_are_selected() -> None:
    items = [make(1), make(2, published=False), make(3, hours=1)]
    assert titles(select(items, Query(), now=NOW)) == ["Story 3", "Story 1"]


def test_scheduled_items_appear_when_the_clock_passes_their_date() -> None:
    items = [make(1), make(2, hours=2), make(3, hours=5), make(4, hours=3, published=False)]
    at = {h: titles(Selection(items, T0 + timedelta(hours=h)).items) for h in (0, 1.99, 2, 4, 5)}
    assert at[0] == at[1.99] == ["Story 1"]
    assert at[2] == at[4] == ["Story 2", "Story 1"]  # exactly at its date it is visible
    assert at[5] == ["Story 3", "Story 2", "Story 1"]
    assert Selection(items, T0).next_change == T0 + timedelta(hours=2)
    assert Selection(items, T0 + timedelta(hours=2)).next_change == T0 + timedelta(hours=5)
    assert Selection(items, T0 + timedelta(hours=5)).next_change is None  # unpublished never counts
    assert Selection(items, T0).newest == T0
    assert Selection([], T0).newest is None


def test_is_visible() -> None:
    assert is_visible(make(1), T0)
    assert not is_visible(make(1, hours=1), T0)
    assert not is_visible(make(1, published=False), NOW)


def test_selection_does_not_change_the_items_it_is_given() -> None:
    items = [make(2), make(1, hours=1), make(3, published=False)]
    copy = list(items)
    Selection(items, NOW).query(Query(order=Order.HOT, limit=1))
    assert items == copy


# -- filters ------------------------------------------------------------------------------


def test_topic_is_matched_case_insensitively() -> None:
    items = [
        make(1, topics=("AI Ethics", "AI")),
        make(2, hours=-1, topics=("ai", "AI")),
        make(3, topics=("Space",)),
    ]
    selection = Selection(items, NOW)
    assert titles(selection.query(Query(topic="ai"))) == ["Story 1", "Story 2"]
    assert titles(selection.query(Query(topic="AI  ETHICS"))) == ["Story 1"]
    assert selection.query(Query(topic="Nothing")) == []


def test_min_heat_and_unscored_items() -> None:
    items = [make(n, hours=-n, heat=heat) for n, heat in enumerate([UNSCORED, 0, 50, 51, 100], start=1)]
    selection = Selection(items, NOW)
    assert titles(selection.query(Query(min_heat=50))) == ["Story 3", "Story 4", "Story 5"]
    assert titles(selection.query(Query(min_heat=0))) == ["Story 2", "Story 3", "Story 4", "Story 5"]
    # heat -1 means "not scored": it passes no minimum at all, not even a negative one
    assert "Story 1" not in titles(selection.query(Query(min_heat=-1)))
    assert "Story 1" not in titles(selection.query(Query(min_heat=-100)))
    assert "Story 1" in titles(selection.query(Query()))


def test_min_quality_and_items_without_quality() -> None:
    items = [make(n, hours=-n, quality=quality) for n, quality in enumerate([None, 0, 37, 88], start=1)]
    selection = Selection(items, NOW)
    assert titles(selection.query(Query(min_quality=37))) == ["Story 3", "Story 4"]
    assert titles(selection.query(Query(min_quality=0))) == ["Story 2", "Story 3", "Story 4"]


def test_filters_combine() -> None:
    items = [
        make(1, heat=90, quality=90, topics=("AI",)),
        make(2, heat=90, quality=10, topics=("AI",)),
        make(3, heat=10, quality=90, topics=("AI",)),
        make(4, heat=90, quality=90, topics=("Space",)),
    ]
    query = Query(topic="AI", min_heat=50, min_quality=50)
    assert titles(select(items, query, now=NOW)) == ["Story 1"]


# -- order and limits ---------------------------------------------------------------------


def test_latest_is_newest_first_with_ties_by_id_whatever_the_input_order() -> None:
    items = [make(n, hours=n // 3) for n in range(9)]  # three items per date
    expected = sorted(items, key=lambda item: (-item.published_at.timestamp(), item.id))
    assert [item.published_at for item in expected] == sorted(
        (item.published_at for item in items), reverse=True
    )
    rng = random.Random(7)
    for _ in range(5):
        rng.shuffle(items)
        assert select(items, Query(), now=NOW) == expected
    # ids, not file names or titles, break the tie: the order is stable across renames
    assert [item.id for item in expected[:3]] == sorted(item.id for item in expected[:3])


def test_hot_is_hottest_first_then_latest_and_unscored_last() -> None:
    items = [
        make(1, heat=UNSCORED, hours=10),
        make(2, heat=40, hours=1),
        make(3, heat=90, hours=0),
        make(4, heat=40, hours=2),
        make(5, heat=0, hours=3),
        make(6, heat=40, hours=2),
    ]
    hot = select(items, Query(order=Order.HOT), now=NOW)
    assert [item.heat for item in hot] == [90, 40, 40, 40, 0, UNSCORED]
    assert titles(hot)[:1] == ["Story 3"] and titles(hot)[-1] == "Story 1"
    tied = [item for item in hot if item.heat == 40]
    assert tied[-1].title == "Story 2"  # the oldest of the 40s
    assert [item.id for item in tied[:2]] == sorted(item.id for item in tied[:2])  # equal dates: by id


@pytest.mark.parametrize("order", list(Order))
@pytest.mark.parametrize("limit", [0, 1, 2, 5, 6, 100, None])
def test_limit_takes_the_first_of_the_full_order(order: Order, limit: int | None) -> None:
    items = [make(n, hours=n % 4, heat=(n * 37) % 7 - 1) for n in range(6)]
    full = select(items, Query(order=order), now=NOW)
    assert len(full) == 6
    limited = select(items, Query(order=order, limit=limit), now=NOW)
    assert limited == full[:limit]


def test_a_negative_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="limit must not be negative"):
        Query(limit=-1)


ITEMS: st.SearchStrategy[list[dict[str, Any]]] = st.lists(
    st.builds(
        dict,
        hours=st.integers(-3, 3),
        heat=st.sampled_from([UNSCORED, 0, 10, 50, 99]),
        quality=st.sampled_from([None, 0, 50, 100]),
        published=st.booleans(),
        topics=st.lists(st.sampled_from(["AI", "ai", "Space", "AI Ethics"]), max_size=3).map(tuple),
    ),
    max_size=12,
)


@settings(max_examples=150, deadline=None)
@given(
    ITEMS,
    st.sampled_from([None, "ai", "Space", "ai ethics"]),
    st.sampled_from([None, -1, 0, 50]),
    st.sampled_from([None, 0, 50]),
    st.sampled_from(list(Order)),
    st.sampled_from([None, 0, 1, 3]),
)
def test_query_agrees_with_a_plain_reference(
    specs: list[dict[str, Any]],
    topic: str | None,
    min_heat: int | None,
    min_quality: int | None,
    order: Order,
    limit: int | None,
) -> None:
    items = [make(n, **spec) for n, spec in enumerate(specs)]
    now = T0
    expected = [
        item
        for item in items
        if item.published
        and item.published_at <= now
        and (topic is None or topic.casefold() in {name.casefold() for name in item.topics})
        and (min_heat is None or (item.heat != UNSCORED and item.heat >= min_heat))
        and (min_quality is None or (item.quality is not None and item.quality >= min_quality))
    ]
    if order is Order.LATEST:
        expected.sort(key=lambda item: (-item.published_at.timestamp(), item.id))
    else:
        expected.sort(key=lambda item: (-item.heat, -item.published_at.timestamp(), item.id))
    query = Query(topic=topic, min_heat=min_heat, min_quality=min_quality, order=order, limit=limit)
    assert select(items, query, now=now) == expected[:limit]


# -- related stories ----------------------------------------------------------------------


def test_seed_000_does_not_reveal_its_unpublished_related_story(seeds_dir: Path) -> None:
    loaded = load_corpus(seeds_dir)
    seed_000 = next(item for item in loaded.items if item.source.startswith("000_"))
    seed_001 = next(item for item in loaded.items if item.source.startswith("001_"))
    assert [story.id for story in seed_000.related] == [seed_001.id]  # as read
    assert not seed_001.published
    (shown,) = Selection(loaded.items, NOW).items
    assert shown.id == seed_000.id
    assert shown.related == ()  # as published


def test_related_story_shows_once_it_is_published_and_its_date_has_come(seeds_dir: Path) -> None:
    text = (seeds_dir / "001_6c298e7f509854d7.txt").read_text(encoding="utf-8")
    text = text.replace("published: false", "published: true")
    text = text.replace("publishedDateTime: 2023-02-01T21:00:00Z", "publishedDateTime: 2025-06-01T00:00:00Z")
    (seeds_dir / "001_6c298e7f509854d7.txt").write_text(text, encoding="utf-8")
    items = load_corpus(seeds_dir).items
    when = datetime(2025, 6, 1, tzinfo=UTC)

    def related_titles(now: datetime) -> list[str]:
        shown = next(item for item in Selection(items, now).items if item.source.startswith("000_"))
        return [story.title for story in shown.related]

    assert related_titles(when - timedelta(seconds=1)) == []  # scheduled: not yet
    assert related_titles(when) == [
        "Netflix stirs fears by using AI-assisted background art in short anime film"
    ]


def test_related_stories_outside_the_corpus_are_kept(write_corpus: CorpusWriter) -> None:
    related = [
        {"title": "Elsewhere", "webUrl": "https://other.example/story"},
        {"title": "Hidden", "webUrl": "https://news.example/1"},
        {"title": "Shown", "originalUrl": "https://NEWS.example/2#x"},
    ]
    root = write_corpus(
        {
            "0.txt": item_text(related=related),
            "1.txt": item_text(minimal_item(1), published=False),
            "2.txt": item_text(minimal_item(2)),
        }
    )
    items = load_corpus(root).items
    shown = next(item for item in Selection(items, NOW).items if item.source == "0.txt")
    assert [story.title for story in shown.related] == ["Elsewhere", "Shown"]


def test_hiding_related_stories_keeps_the_rest_of_the_item() -> None:
    hidden = make(2, published=False)
    story = Related(id=hidden.id, title="x", url=hidden.url)
    other = Related(id="urn:uuid:other", title="y", url="https://other.example/")
    item = make(1, related=(story, other), heat=5)
    (shown,) = Selection([item, hidden], NOW).items
    assert shown == replace(item, related=(other,))
