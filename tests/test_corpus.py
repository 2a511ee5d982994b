"""Reading a corpus: the seeds, the model, dates, text, identity, duplicates, files on disk."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from feeds.corpus import (
    assemble,
    canonical_url,
    item_id,
    iter_item_files,
    load_corpus,
    parse_date,
    parse_item,
    read_item_file,
)
from feeds.errors import FeedsError, ItemError
from feeds.model import UNSCORED, Image, Item, Provider

from .conftest import SEEDS, CorpusWriter, item_text, minimal_item

SEED_000 = "000_ed02330b064c0186.txt"
SEED_001 = "001_6c298e7f509854d7.txt"
SEED_002 = "002_7afdc6dd96035df6.txt"
SEED_003 = "003_09843535c02f0b65.txt"
SEED_004 = "004_1a58042c73d7abdc.txt"
MASHABLE = (
    "https://in.mashable.com/tech/46558/netflixs-labour-shortage-claim-for-using-ai-raises-"
    "age-old-questions-about-industrys-declining-ethic"
)
ARS = (
    "https://arstechnica.com/information-technology/2023/02/"
    "netflix-taps-ai-image-synthesis-for-background-art-in-the-dog-and-the-boy/"
)
PCMAG = "https://www.pcmag.com/news/netflix-taps-ai-to-generate-anime-backgrounds-rather-than-hire-humans"


def by_source(items: tuple[Item, ...]) -> dict[str, Item]:
    return {item.source: item for item in items}


def short(problem: ItemError, root: Path) -> str:
    return str(problem).replace(f"{root}/", "", 1)


def strings_in(value: Any) -> Iterator[str]:
    """Every string anywhere inside a model value (dataclasses, tuples, datetimes)."""
    if isinstance(value, str):
        yield value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            yield field.name
            yield from strings_in(getattr(value, field.name))
    elif isinstance(value, tuple | list):
        for entry in value:
            yield from strings_in(entry)


# -- the seeds ----------------------------------------------------------------------------


def test_seeds_load_four_items_and_reject_the_one_without_front_matter(seeds_dir: Path) -> None:
    loaded = load_corpus(seeds_dir)
    assert loaded.files == 5
    assert [item.source for item in loaded.items] == [SEED_000, SEED_001, SEED_003, SEED_004]
    assert loaded.rejected == 1
    assert [short(p, seeds_dir) for p in loaded.problems] == [
        f"{SEED_002}:1: no front matter: the file must start with a '---' line"
    ]
    (problem,) = loaded.problems
    assert problem.line == 1 and not problem.warning
    assert [item.source for item in loaded.published] == [SEED_000]


def test_seed_000_has_every_field(seeds_dir: Path) -> None:
    item = by_source(load_corpus(seeds_dir).items)[SEED_000]
    assert item.title == (
        "Netflix's Labour Shortage Claim For Using AI Raises Age-Old Questions"
        " About Industry's Declining Ethics"
    )
    assert item.excerpt.startswith("It did not take long for the clip to spread like wildfire")
    assert item.excerpt.endswith("In the tweet,")
    assert item.category == "news"
    assert item.type == "article"
    assert item.published_at == datetime(2023, 2, 3, 12, 51, tzinfo=UTC)
    assert item.published_at.utcoffset() == timedelta(0)
    assert item.url == MASHABLE
    assert item.web_url == MASHABLE
    assert item.amp_url == MASHABLE + "?amp=1"
    assert item.cdn_amp_url == (
        "https://in-mashable-com.cdn.ampproject.org/c/s/in.mashable.com/tech/46558/netflixs-labour-"
        "shortage-claim-for-using-ai-raises-age-old-questions-about-industrys-declining-ethic?amp=1"
    )
    assert item.quality == 88
    assert item.heat == 98
    assert item.published is True
    assert item.provider == Provider(name="in.mashable", domain="mashable.com", images=())
    assert item.topics == ("AI Ethics", "AI")
    assert item.images == (
        Image(
            url="https://sm.mashable.com/t/mashable_in/photo/default/netflix-ai-copy_wshk.620.jpg",
            width=619,
            height=374,
            cached=True,
        ),
    )
    (related,) = item.related
    assert related.title == "Netflix stirs fears by using AI-assisted background art in short anime film"
    assert related.excerpt.startswith("In the announcement tweet, Netflix cited")
    assert related.published_at == datetime(2023, 2, 1, 21, 0, tzinfo=UTC)
    assert related.url == ARS
    assert related.type == "article"
    assert related.provider == Provider(name="Ars Technica", domain="arstechnica.com")
    assert related.quality == 85
    assert related.images == (
        Image(
            "https://cdn.arstechnica.net/wp-content/uploads/2023/02/dog_and_boy_hero_1-800x448.jpg",
            800,
            448,
            True,
        ),
    )
    assert item.body is None


def test_seeds_001_003_004(seeds_dir: Path) -> None:
    items = by_source(load_corpus(seeds_dir).items)
    ars, bgr, pcmag = items[SEED_001], items[SEED_003], items[SEED_004]
    assert ars.heat == UNSCORED == -1 and ars.published is False
    assert ars.quality == 85 and ars.url == ARS
    assert ars.published_at == datetime(2023, 2, 1, 21, 0, tzinfo=UTC)
    assert ars.provider is not None
    assert ars.provider.images == (
        Image(
            "https://everyday-cc.github.io/ai/assets/images/organizations/arstechnica.com-50x50.jpg", 50, 50
        ),
    )
    assert ars.provider.images[0].cached is False  # isCached absent: not cached
    assert ars.topics == ("AI",)
    assert [r.url for r in ars.related] == [MASHABLE]
    assert ars.related[0].id == items[SEED_000].id

    assert bgr.title == "Netflix has found an exciting new way to piss everyone off with AI art"
    assert bgr.quality == 37 and bgr.published is False and bgr.amp_url is None
    assert (
        bgr.images[0].url
        == "https://bgr.com/wp-content/uploads/2023/02/The-Dog-and-The-Boy.jpg?quality=82&strip=all"
    )
    assert [r.url for r in bgr.related] == [ARS, PCMAG]
    assert [r.id for r in bgr.related] == [ars.id, pcmag.id]
    assert bgr.related[1].provider == Provider("PC Magazine", "pcmag.com")
    assert bgr.related[1].published_at == datetime(2023, 2, 1, 21, 44, tzinfo=UTC)

    assert pcmag.url == PCMAG and pcmag.quality == 67
    assert pcmag.published_at == datetime(2023, 2, 1, 21, 44, tzinfo=UTC)
    assert pcmag.provider is not None and pcmag.provider.name == "PC Magazine"


def test_secured_never_reaches_the_model(seeds_dir: Path) -> None:
    blobs = []
    for path in sorted(SEEDS.glob("*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("secured:"):
                blobs.append(line.split('"')[1])
    assert len(blobs) == 4
    loaded = load_corpus(seeds_dir)
    for item in loaded.items:
        assert not hasattr(item, "secured")
        for text in strings_in(item):
            assert "secured" not in text
            for blob in blobs:
                assert blob[:40] not in text
    # secured is a known key: no warning either
    assert all(not p.warning for p in loaded.problems)


def test_unknown_keys_are_left_out_with_a_warning(write_corpus: CorpusWriter) -> None:
    text = item_text(author="Someone", tracking={"id": "abc-secret"})
    root = write_corpus({"a.txt": text})
    loaded = load_corpus(root)
    (item,) = loaded.items
    assert [short(p, root) for p in loaded.problems] == [
        "a.txt:11: warning: unknown key 'author' ignored",
        "a.txt:12: warning: unknown key 'tracking' ignored",
    ]
    assert loaded.rejected == 0
    assert not any("Someone" in s or "abc-secret" in s or "tracking" in s for s in strings_in(item))


# -- dates --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("2023-02-03T12:51:00Z", datetime(2023, 2, 3, 12, 51, tzinfo=UTC)),
        ("2023-02-03T14:51:00+02:00", datetime(2023, 2, 3, 12, 51, tzinfo=UTC)),
        ("2023-02-03T04:51:00-08:00", datetime(2023, 2, 3, 12, 51, tzinfo=UTC)),
        ("2023-02-03T23:21:00+10:30", datetime(2023, 2, 3, 12, 51, tzinfo=UTC)),
        ('"2023-02-03T12:51:00Z"', datetime(2023, 2, 3, 12, 51, tzinfo=UTC)),
        ("'2023-02-03T18:21:00+05:30'", datetime(2023, 2, 3, 12, 51, tzinfo=UTC)),
        ('"2023-02-03T18:21:00+0530"', datetime(2023, 2, 3, 12, 51, tzinfo=UTC)),
        # no offset: UTC, quoted or not
        ("2023-02-03T12:51:00", datetime(2023, 2, 3, 12, 51, tzinfo=UTC)),
        ("2023-02-03 12:51:00", datetime(2023, 2, 3, 12, 51, tzinfo=UTC)),
        ('"2023-02-03T12:51:00"', datetime(2023, 2, 3, 12, 51, tzinfo=UTC)),
        # bare dates: midnight UTC
        ("2023-02-03", datetime(2023, 2, 3, tzinfo=UTC)),
        ('"2023-02-03"', datetime(2023, 2, 3, tzinfo=UTC)),
        # fractions of a second are dropped; YAML 1.1's own spellings still read
        ("2023-02-03T12:51:00.987Z", datetime(2023, 2, 3, 12, 51, tzinfo=UTC)),
        ("2023-02-03 07:51:00 -5", datetime(2023, 2, 3, 12, 51, tzinfo=UTC)),
        ('"2023-02-03 07:51:00 -5"', datetime(2023, 2, 3, 12, 51, tzinfo=UTC)),
        ('"2023-2-3"', datetime(2023, 2, 3, tzinfo=UTC)),
    ],
)
def test_dates_are_stored_as_aware_utc(written: str, expected: datetime, write_corpus: CorpusWriter) -> None:
    text = f"---\ntitle: t\npublishedDateTime: {written}\nwebUrl: https://news.example/\n---\n"
    root = write_corpus({"a.txt": text})
    loaded = load_corpus(root)
    assert loaded.problems == ()
    (item,) = loaded.items
    assert item.published_at == expected
    assert item.published_at.tzinfo is UTC


def test_a_naive_datetime_is_utc_as_parse_date_documents() -> None:
    assert "without an offset is taken to be UTC" in (parse_date.__doc__ or "")
    assert parse_date(datetime(2023, 2, 3, 12, 51)) == datetime(2023, 2, 3, 12, 51, tzinfo=UTC)


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ('"yesterday"', "publishedDateTime cannot be read as a date: 'yesterday'; use ISO 8601"),
        ("1675428660", "publishedDateTime must be a date, got a number 1675428660"),
        ('"2023-02-30T10:00:00Z"', "publishedDateTime is not a real date: '2023-02-30T10:00:00Z' (day is"),
        ('"2023-2-30"', "publishedDateTime is not a real date: '2023-2-30'"),
        ("0999-01-01T00:00:00Z", "publishedDateTime is before the year 1000"),
        ("0001-01-01T00:00:00+01:00", "publishedDateTime is out of range"),
        ("[2023]", "publishedDateTime must be a date, got a list [2023]"),
    ],
)
def test_bad_dates_name_the_field_and_line(written: str, message: str, write_corpus: CorpusWriter) -> None:
    text = f"---\ntitle: t\nwebUrl: https://news.example/\npublishedDateTime: {written}\n---\n"
    root = write_corpus({"a.txt": text})
    (problem,) = load_corpus(root).problems
    assert problem.line == 4
    assert problem.message.startswith(message), problem.message


def test_a_bad_related_date_rejects_the_item_with_its_line(write_corpus: CorpusWriter) -> None:
    related = [{"title": "r", "webUrl": "https://other.example/", "publishedDateTime": "soon"}]
    root = write_corpus({"a.txt": item_text(related=related)})
    (problem,) = load_corpus(root).problems
    assert problem.message.startswith("related[0].publishedDateTime cannot be read as a date: 'soon'")
    lines = (root / "a.txt").read_text(encoding="utf-8").splitlines()
    assert problem.line is not None and "publishedDateTime: soon" in lines[problem.line - 1]


# -- text ---------------------------------------------------------------------------------

KEPT = "Emoji 😀🇺🇦, RTL \u200f\u202eשלום\u202c, markup <b>&amp; & ]]> \"quotes\" 'single', nbsp\u00a0e\u0301"


def test_text_is_kept_exactly_but_xml_forbidden_characters_are_removed(write_corpus: CorpusWriter) -> None:
    # In double quotes YAML turns \x01, \x00, \uFFFE into those characters; XML 1.0 forbids them.
    forbidden = "\\x01\\x00\\uFFFE\\uFFFF\\e"
    yaml_kept = KEPT.replace("\\", "\\\\").replace('"', '\\"')
    text = (
        "---\n"
        f'title: "{yaml_kept}{forbidden}"\n'
        f'excerpt: "{forbidden}{yaml_kept}"\n'
        "publishedDateTime: 2024-01-01T00:00:00Z\n"
        "webUrl: https://news.example/\n"
        "topics:\n"
        '  - "Ethics\\x08 & <AI>"\n'
        "---\n"
        f"{KEPT}\x01\x0b\x1f\ufffe\n\nSecond paragraph\t with a tab.\n"
    )
    root = write_corpus({"a.txt": text})
    loaded = load_corpus(root)
    assert loaded.problems == ()
    (item,) = loaded.items
    assert item.title == KEPT
    assert item.excerpt == KEPT
    assert item.topics == ("Ethics & <AI>",)
    assert item.body == f"{KEPT}\n\nSecond paragraph\t with a tab."


def test_bom_and_crlf_files_load_with_right_lines(write_corpus: CorpusWriter) -> None:
    lf = item_text(body="Line one.\nLine two.\n")
    crlf = item_text(minimal_item(1), body="Line one.\nLine two.\n").replace("\n", "\r\n")
    cr = item_text(minimal_item(2), body="Line one.\nLine two.\n").replace("\n", "\r")
    bad = "---\ntitle: t\npublishedDateTime: 2024-01-01\nwebUrl: https://x.example/\nheat: hot\n---\n"
    bad = bad.replace("\n", "\r\n")
    root = write_corpus(
        {
            "bom.txt": b"\xef\xbb\xbf" + lf.encode(),
            "bom_crlf.txt": b"\xef\xbb\xbf" + crlf.encode(),
            "cr.txt": cr.encode(),
            "crlf_bad.txt": b"\xef\xbb\xbf" + bad.encode(),
        }
    )
    loaded = load_corpus(root)
    items = by_source(loaded.items)
    assert sorted(items) == ["bom.txt", "bom_crlf.txt", "cr.txt"]
    for item in items.values():
        assert item.body == "Line one.\nLine two."
        assert not item.title.startswith("\ufeff")
    assert items["bom_crlf.txt"].title == "Story 1"
    assert [short(p, root) for p in loaded.problems] == [
        "crlf_bad.txt:5: heat must be a whole number, got text 'hot'"
    ]


def test_topics_merge_case_and_spacing_within_an_item(write_corpus: CorpusWriter) -> None:
    root = write_corpus({"a.txt": item_text(topics=["AI  Ethics", "ai ethics", " AI ", "Ai", ""])})
    assert load_corpus(root).items[0].topics == ("AI Ethics", "AI")


def test_a_bad_related_link_drops_that_story_with_a_warning(write_corpus: CorpusWriter) -> None:
    related = [
        {"title": "Bad", "webUrl": "javascript:alert(1)"},
        {"title": "No link"},
        {"webUrl": "https://other.example/untitled"},
        {"title": "Good", "webUrl": "https://other.example/good"},
    ]
    root = write_corpus({"a.txt": item_text(related=related)})
    loaded = load_corpus(root)
    assert [r.title for r in loaded.items[0].related] == ["Good"]
    messages = [p.message for p in loaded.problems]
    assert all(p.warning for p in loaded.problems)
    assert messages == [
        "related[0].webUrl must be an http or https URL: 'javascript:alert(1)'; related story left out",
        "related[1].webUrl is missing; related story left out",
        "related[2].title is missing; related story left out",
    ]


@pytest.mark.parametrize(
    "link",
    ["javascript:alert(1)", "JAVASCRIPT:alert(1)", "data:text/html,x", "ftp://x.example/", "//x.example/a",
     "/relative", "https://", "http://exa mple.com/", "https://x.example:99999/"],
)  # fmt: skip
def test_only_absolute_http_links_are_accepted(link: str, write_corpus: CorpusWriter) -> None:
    root = write_corpus({"a.txt": item_text(webUrl=link)})
    (problem,) = load_corpus(root).problems
    assert problem.message.startswith("webUrl ")
    assert not problem.warning


# -- identity -----------------------------------------------------------------------------


def test_id_is_a_name_based_uuid_of_the_canonical_url(seeds_dir: Path) -> None:
    items = by_source(load_corpus(seeds_dir).items)
    # Fixed here on purpose: a change of this value would change every published id.
    assert items[SEED_000].id == "urn:uuid:0055ed14-98fa-5c63-80bd-b93836c599e3"
    assert items[SEED_000].id == item_id(canonical_url(MASHABLE))


def test_id_survives_renames_moves_and_runs(seeds_dir: Path) -> None:
    before = {item.title: item.id for item in load_corpus(seeds_dir).items}
    (seeds_dir / "deep" / "er").mkdir(parents=True)
    shutil.move(seeds_dir / SEED_000, seeds_dir / "deep" / "er" / "renamed.md")
    (seeds_dir / SEED_001).rename(seeds_dir / "zzz.txt")
    after = load_corpus(seeds_dir)
    assert {item.title: item.id for item in after.items} == before
    assert {item.source for item in after.items} >= {"deep/er/renamed.md", "zzz.txt"}
    assert load_corpus(seeds_dir) == after  # and again, the same


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("https://News.Example/a?x=1", "HTTPS://news.example/a?x=1"),
        ("https://news.example/a", "https://news.example:443/a"),
        ("http://news.example/a", "http://news.example:80/a"),
        ("https://news.example/a#comments", "https://news.example/a"),
        ("https://news.example", "https://news.example/"),
        ("https://user@news.example/a", "https://news.example/a"),
    ],
)
def test_same_canonical_url(one: str, other: str) -> None:
    assert canonical_url(one) == canonical_url(other)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("https://news.example/a", "http://news.example/a"),
        ("https://news.example/a", "https://news.example/A"),
        ("https://news.example/a?x=1", "https://news.example/a?x=2"),
        ("https://news.example:8443/a", "https://news.example/a"),
        ("http://[::1]:8080/a", "http://[::1]/a"),
    ],
)
def test_different_canonical_url(one: str, other: str) -> None:
    assert canonical_url(one) != canonical_url(other)
    assert item_id(canonical_url(one)) != item_id(canonical_url(other))


def test_canonical_url_keeps_ipv6_brackets() -> None:
    assert canonical_url("http://[::1]:8080/a") == "http://[::1]:8080/a"


# -- duplicates ---------------------------------------------------------------------------


def story(number: int, url: str, when: datetime, **fields: Any) -> str:
    return item_text(minimal_item(number), webUrl=url, publishedDateTime=when, **fields)


JAN = datetime(2024, 1, 1, tzinfo=UTC)


def test_duplicate_story_publishes_once_and_the_newer_wins(write_corpus: CorpusWriter) -> None:
    root = write_corpus(
        {
            "a_old.txt": story(1, "https://News.example/s#top", JAN, title="Old title"),
            "b_new.txt": story(2, "https://news.example:443/s", JAN + timedelta(hours=1), title="New title"),
        }
    )
    loaded = load_corpus(root)
    assert [(item.source, item.title) for item in loaded.items] == [("b_new.txt", "New title")]
    assert [short(p, root) for p in loaded.problems] == [
        "a_old.txt: warning: same story (same URL) as b_new.txt, which is used instead"
        " (it is newer); left out"
    ]
    assert loaded.rejected == 0


def test_duplicate_with_equal_dates_first_path_wins(write_corpus: CorpusWriter) -> None:
    root = write_corpus(
        {
            "b.txt": story(1, "https://news.example/s", JAN, title="B"),
            "a/z.txt": story(2, "https://news.example/s", JAN, title="A/Z"),
            "c.txt": story(3, "https://news.example/s", JAN, title="C"),
        }
    )
    loaded = load_corpus(root)
    assert [item.title for item in loaded.items] == ["A/Z"]
    assert [short(p, root) for p in loaded.problems] == [
        f"{name}: warning: same story (same URL) as a/z.txt, which is used instead "
        "(same date, its path sorts first); left out"
        for name in ("b.txt", "c.txt")
    ]


def test_a_newer_unpublished_copy_withdraws_the_story(write_corpus: CorpusWriter) -> None:
    root = write_corpus(
        {
            "a.txt": story(1, "https://news.example/s", JAN, published=True),
            "b.txt": story(2, "https://news.example/s", JAN + timedelta(days=1), published=False),
        }
    )
    loaded = load_corpus(root)
    assert [item.source for item in loaded.items] == ["b.txt"]
    assert loaded.published == ()


def test_winner_does_not_depend_on_the_order_of_results(write_corpus: CorpusWriter) -> None:
    files = {f"{n}.txt": story(n, "https://news.example/s", JAN + timedelta(hours=n % 3)) for n in range(6)}
    root = write_corpus(files)
    results = [read_item_file(path, root) for path in iter_item_files(root)]
    forward = assemble(root, results)
    backward = assemble(root, list(reversed(results)))
    assert forward == backward
    assert [item.source for item in forward.items] == ["2.txt"]  # 2 and 5 are newest; 2 sorts first
    assert len(forward.problems) == 5


# -- files on disk ------------------------------------------------------------------------


def test_files_are_read_in_order_of_relative_path(write_corpus: CorpusWriter) -> None:
    names = ["b.txt", "a/z.txt", "a-b/c.md", "A.TXT", "c.markdown", "z/y/x.txt"]
    skipped = [".hidden.txt", ".git/x.txt", "notes.rst", "image.png", "README"]
    root = write_corpus({name: item_text(minimal_item(n)) for n, name in enumerate(names + skipped)})
    found = [path.relative_to(root).as_posix() for path in iter_item_files(root)]
    assert found == sorted(names)
    assert [item.source for item in load_corpus(root).items] == sorted(names)


def test_symlink_out_of_the_corpus_is_rejected(tmp_path: Path, write_corpus: CorpusWriter) -> None:
    outside = tmp_path / "private.txt"
    outside.write_text(item_text(title="Private"), encoding="utf-8")
    root = write_corpus({"real.txt": item_text(minimal_item(1))})
    (root / "out.txt").symlink_to(outside)
    (root / "out_relative.txt").symlink_to(Path("..") / "private.txt")
    (root / "z_inside.txt").symlink_to(root / "real.txt")
    (root / "loop.txt").symlink_to(root / "loop.txt")
    (root / "dangling.txt").symlink_to(root / "missing.txt")
    loaded = load_corpus(root)
    assert [item.source for item in loaded.items] == ["real.txt"]  # z_inside.txt is its duplicate
    assert "Private" not in [item.title for item in loaded.items]
    problems = [short(p, root) for p in loaded.problems]
    assert problems[0] == "dangling.txt: cannot read: No such file or directory"
    assert problems[1].startswith("loop.txt: cannot read: ")
    assert problems[2:] == [
        "out.txt: symlink points outside the corpus; not followed",
        "out_relative.txt: symlink points outside the corpus; not followed",
        "z_inside.txt: warning: same story (same URL) as real.txt, which is used instead "
        "(same date, its path sorts first); left out",
    ]


def test_folder_symlinks_are_not_followed(tmp_path: Path, write_corpus: CorpusWriter) -> None:
    elsewhere = write_corpus({"x.txt": item_text()}, root=tmp_path / "elsewhere")
    root = write_corpus({"a.txt": item_text(minimal_item(1))})
    (root / "linked").symlink_to(elsewhere, target_is_directory=True)
    assert [item.source for item in load_corpus(root).items] == ["a.txt"]


def test_a_symlinked_corpus_root_is_fine(tmp_path: Path, seeds_dir: Path) -> None:
    link = tmp_path / "link"
    link.symlink_to(seeds_dir, target_is_directory=True)
    assert len(load_corpus(link).items) == 4


def test_missing_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FeedsError, match="corpus folder not found"):
        load_corpus(tmp_path / "nowhere")
    (tmp_path / "file.txt").write_text("x", encoding="utf-8")
    with pytest.raises(FeedsError, match="corpus folder not found"):
        load_corpus(tmp_path / "file.txt")


def test_parse_item_reads_bytes_without_a_folder() -> None:
    item = parse_item(item_text().encode(), "some/where.txt")
    assert item.source == "where.txt" and item.title == "Story 0"
    with pytest.raises(ItemError) as caught:
        parse_item(b"no front matter", "x.txt")
    assert str(caught.value) == "x.txt:1: no front matter: the file must start with a '---' line"


def test_model_is_immutable(seeds_dir: Path) -> None:
    item = load_corpus(seeds_dir).items[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        item.title = "changed"  # type: ignore[misc]
    assert isinstance(item.topics, tuple) and isinstance(item.related, tuple)
