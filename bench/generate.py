"""Write a synthetic corpus in the seed format: deterministic, with realistic variety.

About 40 topics drawn Zipf-like (1-3 per item), about 70% published, heat mostly unscored,
related stories, images, some Markdown bodies and a few bad files (one in 200).

    python -m bench.generate 100000 bench/corpora/100k
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import random
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

TOPICS = [
    "AI", "AI Ethics", "Machine Learning", "Robotics", "Startups", "Climate", "Energy", "Space",
    "Health", "Biotech", "Privacy", "Security", "Cloud", "Open Source", "Programming", "Chips",
    "Mobile", "Gaming", "Streaming", "Social Media", "Policy", "Finance", "Crypto", "Science",
    "Education", "Transport", "Electric Vehicles", "Batteries", "Quantum", "Networks", "Hardware",
    "Design", "Media", "Music", "Film", "Sports Tech", "Agriculture", "Retail", "Travel",
    "Künstliche Intelligenz",
]  # fmt: skip
PROVIDERS = [
    ("Ars Technica", "arstechnica.com"), ("BGR", "bgr.com"), ("PC Magazine", "pcmag.com"),
    ("in.mashable", "mashable.com"), ("The Verge", "theverge.com"), ("Wired", "wired.com"),
    ("TechCrunch", "techcrunch.com"), ("Engadget", "engadget.com"), ("ZDNet", "zdnet.com"),
    ("The Register", "theregister.com"),
]  # fmt: skip
WORDS = (
    "netflix anime labour shortage studio artists image synthesis model training data policy "
    "release users research network chip battery launch market privacy rules court company "
    "developers open source cloud security update report growth energy climate space mission"
).split()
START = datetime(2020, 1, 1, tzinfo=UTC)
_ZIPF = list(itertools.accumulate(1 / rank**1.1 for rank in range(1, len(TOPICS) + 1)))
"""Cumulative Zipf weights (s = 1.1): the first topic is about 4.5 times the tenth."""


def _sentence(rng: random.Random, low: int, high: int) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(low, high))]
    return " ".join(words).capitalize()


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _story(seed: int, number: int) -> dict[str, object]:
    """The story numbered ``number``: the same whether it is an item or a related link."""
    rng = random.Random(f"{seed}:story:{number}")
    name, domain = rng.choice(PROVIDERS)
    slug = "-".join(_sentence(rng, 4, 8).lower().split())
    url = f"https://{domain}/{2020 + number % 5}/{number}/{slug}"
    return {
        "title": _sentence(rng, 6, 14),
        "excerpt": _sentence(rng, 20, 40) + ".",
        "date": START + timedelta(minutes=number * 7 + rng.randint(0, 6)),
        "url": url,
        "provider": (name, domain),
        "quality": rng.randint(20, 99),
        "image": f"https://cdn.{domain}/images/{number}-{rng.randint(100, 999)}.jpg",
    }


def _images(lines: list[str], indent: str, url: str, rng: random.Random) -> None:
    lines += [
        f"{indent}images:",
        f"{indent}  - url: {_quoted(url)}",
        f"{indent}    width: {rng.choice([620, 800, 1120, 1920])}",
        f"{indent}    height: {rng.choice([374, 448, 630, 1080])}",
        f"{indent}    isCached: true",
    ]


def item_file(number: int, rng: random.Random, seed: int = 0) -> str:
    story = _story(seed, number)
    name, domain = story["provider"]  # type: ignore[misc]
    topics: list[str] = []
    for topic in rng.choices(TOPICS, cum_weights=_ZIPF, k=rng.choice([1, 1, 2, 2, 3])):
        if topic not in topics:
            topics.append(topic)
    published = rng.random() < 0.7
    heat = -1 if rng.random() < 0.8 else rng.randint(0, 100)
    date = story["date"].strftime("%Y-%m-%dT%H:%M:%SZ")  # type: ignore[attr-defined]
    lines = [
        "---",
        "category: news",
        f"title: {_quoted(story['title'])}",  # type: ignore[arg-type]
        f"excerpt: {_quoted(story['excerpt'])}",  # type: ignore[arg-type]
        f"publishedDateTime: {date}",
        f"originalUrl: {_quoted(story['url'])}",  # type: ignore[arg-type]
        f"webUrl: {_quoted(story['url'])}",  # type: ignore[arg-type]
        f"ampWebUrl: {_quoted(str(story['url']) + '/amp/')}",
        "type: article",
        f"quality: {story['quality']}",
        f"heat: {heat}",
        f"published: {'true' if published else 'false'}",
        "",
        "provider:",
        f"  name: {name}",
        f"  domain: {domain}",
    ]
    if rng.random() < 0.5:
        _images(lines, "  ", f"https://logos.example/{domain}-50x50.jpg", rng)
    lines += ["", "topics:"] + [f"  - {topic}" for topic in topics] + [""]
    if rng.random() < 0.9:
        _images(lines, "", str(story["image"]), rng)
    # Related stories are other items of the corpus (or beyond its end), some unpublished.
    related = [_story(seed, rng.randint(0, max(number, 1) * 2)) for _ in range(rng.choice([0, 1, 1, 2, 3]))]
    if related:
        lines += ["", "related:"]
        for other in related:
            other_name, other_domain = other["provider"]  # type: ignore[misc]
            lines += [
                f"  - title: {_quoted(other['title'])}",  # type: ignore[arg-type]
                f"    excerpt: {_quoted(other['excerpt'])}",  # type: ignore[arg-type]
                f"    publishedDateTime: {other['date'].strftime('%Y-%m-%dT%H:%M:%SZ')}",  # type: ignore[attr-defined]
                f"    webUrl: {_quoted(other['url'])}",  # type: ignore[arg-type]
                "    type: article",
                "    provider:",
                f"      name: {other_name}",
                f"      domain: {other_domain}",
                f"    quality: {other['quality']}",
            ]
            _images(lines, "    ", str(other["image"]), rng)
    secret = hashlib.sha256(f"secret{number}".encode()).hexdigest() * 6
    lines += ["", f'secured: "{secret}"', "---", ""]
    if rng.random() < 0.3:
        paragraphs = [_sentence(rng, 30, 80) + "." for _ in range(rng.randint(2, 8))]
        paragraphs.insert(1, f"Read more at [{domain}]({story['url']}), or see **the report**.")
        lines.append("\n\n".join(paragraphs))
    return "\n".join(lines) + "\n"


def bad_file(number: int, rng: random.Random, seed: int = 0) -> str:
    kind = number % 4
    if kind == 0:
        return _sentence(rng, 50, 100) + "\n"  # no front matter, like seed 002
    if kind == 1:
        return "---\ntitle: [unclosed\n---\n"
    if kind == 2:
        return item_file(number, rng, seed).replace("heat: ", "heat: hot #", 1)
    return item_file(number, rng, seed).replace("publishedDateTime: ", "publishedDateTime: someday #", 1)


def file_name(number: int) -> str:
    digest = hashlib.sha256(str(number).encode()).hexdigest()[:16]
    return f"{number // 1000:03d}/{number:06d}_{digest}.txt"


def generate(count: int, out: Path, seed: int = 20230203) -> None:
    if out.exists():
        shutil.rmtree(out)
    for number in range(count):
        rng = random.Random(f"{seed}:{number}")
        text = bad_file(number, rng, seed) if rng.random() < 0.005 else item_file(number, rng, seed)
        path = out / file_name(number)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("count", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=20230203)
    args = parser.parse_args()
    generate(args.count, args.out, args.seed)


if __name__ == "__main__":
    main()
