"""Topic names and their URL slugs."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.corpus import load_corpus
from feeds.model import Item
from feeds.select import Query, Selection
from feeds.topics import MAX_SLUG_LENGTH, TopicIndex, slugify, topic_key

from .conftest import NOW

SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def item(number: int, *topics: str) -> Item:
    return Item(
        id=f"urn:uuid:{number}",
        source=f"{number}.txt",
        title=f"Story {number}",
        url=f"https://news.example/{number}",
        published_at=NOW,
        published=True,
        topics=topics,
    )


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("AI Ethics", "ai-ethics"),
        ("AI", "ai"),
        ("ai", "ai"),
        ("  AI   Ethics ", "ai-ethics"),
        ("AI/ML", "ai-ml"),
        ("C++", "c"),
        ("Россия", "rossiya"),
        ("Économie", "economie"),
        ("straße", "strasse"),
        ("Ελλάδα", "ellada"),
        ("日本", "riben"),
        ("🤖", "robot"),
    ],
)
def test_slugify(name: str, slug: str) -> None:
    assert slugify(name) == slug


def test_a_name_with_nothing_readable_gets_a_stable_hash_slug() -> None:
    assert re.fullmatch(r"topic-[0-9a-f]{8}", slugify("!!!"))
    assert slugify("!!!") == slugify("!!!") != slugify("???")


def test_a_very_long_name_is_cut_and_keeps_a_hash() -> None:
    long_a, long_b = "word " * 30 + "a", "word " * 30 + "b"
    assert len(slugify(long_a)) <= MAX_SLUG_LENGTH
    assert slugify(long_a).startswith("word-word-")
    assert slugify(long_a) != slugify(long_b)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_every_name_gets_a_url_safe_bounded_stable_slug(name: str) -> None:
    slug = slugify(name)
    assert SLUG.fullmatch(slug), slug
    assert len(slug) <= MAX_SLUG_LENGTH
    assert slugify(name) == slug
    assert slugify(name.upper()) == slugify(name.lower()) or not name.isascii()


def test_topic_key_ignores_case_and_spacing() -> None:
    assert topic_key("AI  Ethics") == topic_key(" ai ethics ") == topic_key("AI ETHICS")
    assert topic_key("AI Ethics") != topic_key("AI-Ethics")


def test_case_variants_are_one_topic_in_the_most_common_spelling() -> None:
    index = TopicIndex([item(1, "AI"), item(2, "ai"), item(3, "AI"), item(4, "Space")])
    assert [(t.slug, t.name, t.count) for t in index] == [("ai", "AI", 3), ("space", "Space", 1)]
    assert index.by_name("aI") == index.by_slug("ai")
    assert index.collisions == []


def test_equally_common_spellings_pick_the_first_in_code_point_order() -> None:
    one = TopicIndex([item(1, "ai"), item(2, "AI")])
    other = TopicIndex([item(2, "AI"), item(1, "ai")])
    assert [t.name for t in one] == [t.name for t in other] == ["AI"]


def test_an_item_counts_once_per_topic() -> None:
    index = TopicIndex([item(1, "AI", "ai", "AI"), item(2, "AI")])
    assert [(t.name, t.count) for t in index] == [("AI", 2)]


def test_names_colliding_on_a_slug_are_both_kept_with_distinct_slugs() -> None:
    items = [item(1, "C++"), item(2, "C#"), item(3, "C#"), item(4, "AI Ethics"), item(5, "AI-Ethics")]
    index = TopicIndex(items)
    by_name = {t.name: t for t in index}
    assert set(by_name) == {"C++", "C#", "AI Ethics", "AI-Ethics"}
    assert len({t.slug for t in index}) == 4
    # the first name in order of keys keeps the plain slug; the other gets a hash of its name
    assert by_name["C#"].slug == "c" and by_name["C#"].count == 2
    assert re.fullmatch(r"c-[0-9a-f]{8}", by_name["C++"].slug)
    assert by_name["AI Ethics"].slug == "ai-ethics"
    assert re.fullmatch(r"ai-ethics-[0-9a-f]{8}", by_name["AI-Ethics"].slug)
    assert [(c.name, c.other, c.plain) for c in index.collisions] == [
        ("AI-Ethics", "AI Ethics", "ai-ethics"),
        ("C++", "C#", "c"),
    ]
    assert str(index.collisions[1]) == (
        f"topics 'C++' and 'C#' share the slug 'c'; 'C++' is published as {by_name['C++'].slug!r}"
    )
    for topic in index:
        assert index.by_slug(topic.slug) == topic
    # the slugs do not depend on the order items come in
    assert [(t.name, t.slug) for t in TopicIndex(reversed(items))] == [(t.name, t.slug) for t in index]


def test_the_reserved_slug_all_is_never_a_topic() -> None:
    index = TopicIndex([item(1, "All"), item(2, "AI")])
    (topic,) = [t for t in index if t.name == "All"]
    assert re.fullmatch(r"all-[0-9a-f]{8}", topic.slug)
    assert index.by_slug("all") is None
    (collision,) = index.collisions
    assert (collision.name, collision.other, collision.plain, collision.reserved) == (
        "All",
        "all",
        "all",
        True,
    )
    assert (
        str(collision) == f"topic 'All' would have the reserved slug 'all'; it is published as {topic.slug!r}"
    )
    custom = TopicIndex([item(1, "Feeds")], reserved=("feeds",))
    assert [t.slug for t in custom] != ["feeds"]


def test_a_name_made_to_collide_with_a_hashed_slug_is_not_merged() -> None:
    hashed = TopicIndex([item(1, "All~")]).by_name("All~")
    assert hashed is not None and re.fullmatch(r"all-[0-9a-f]{8}", hashed.slug)
    # "all 1a2b3c4d" sorts before "all~" and takes the slug "All~" would get with its hash.
    trap = hashed.slug.replace("-", " ")
    index = TopicIndex([item(1, "All~"), item(2, trap)])
    slugs = {t.name: t.slug for t in index}
    assert slugs[trap] == hashed.slug
    assert slugs["All~"] == hashed.slug + "-2"
    assert all(SLUG.fullmatch(slug) for slug in slugs.values())


def test_from_counts_equals_the_index_of_the_items() -> None:
    items = [item(1, "AI", "Space"), item(2, "ai"), item(3, "C++"), item(4, "C#"), item(5, "All")]
    counts = Counter(name for entry in items for name in entry.topics)
    from_items = TopicIndex(items)
    from_counts = TopicIndex.from_counts(counts)
    assert list(from_counts) == list(from_items)
    assert from_counts.collisions == from_items.collisions
    assert list(TopicIndex.from_counts({"AI": 0})) == []


def test_seed_topics_are_ai_and_ai_ethics_with_one_published_item_each(seeds_dir: Path) -> None:
    selection = Selection(load_corpus(seeds_dir).items, NOW)
    assert [(t.slug, t.name, t.count) for t in selection.topics] == [
        ("ai", "AI", 1),
        ("ai-ethics", "AI Ethics", 1),
    ]
    for topic in selection.topics:
        assert [i.source for i in selection.query(Query(topic=topic.name))] == ["000_ed02330b064c0186.txt"]


def test_topics_count_visible_items_only() -> None:
    hidden = Item(
        id="urn:uuid:9",
        source="9.txt",
        title="Later",
        url="https://news.example/9",
        published_at=NOW.replace(year=NOW.year + 1),
        published=True,
        topics=("Future",),
    )
    index = Selection([item(1, "AI"), hidden], NOW).topics
    assert [t.name for t in index] == ["AI"]
