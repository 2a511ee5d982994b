"""Baselines for the benchmark: what the simplest tools do with the same corpus.

    python -m bench.naive read CORPUS          # read every file, nothing else
    python -m bench.naive parse CORPUS         # read and parse every front matter with libyaml
    python -m bench.naive export CORPUS OUT    # PyYAML + feedgen in one pass: RSS per topic
    python -m bench.naive exact CORPUS         # read every file with feeds' exact reader alone
    python -m bench.naive fast CORPUS          # ... with its fast path first, as feeds does

The naive exporter has no index, no validation and no second core: it parses every file,
keeps the published items, and writes one RSS feed of the newest 50 per topic with feedgen.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from feedgen.feed import FeedGenerator


def files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.txt"))


def front_matter(data: bytes) -> str | None:
    text = data.decode("utf-8", "replace")
    if not text.startswith("---"):
        return None
    end = text.find("\n---", 3)
    return text[4:end] if end > 0 else None


def parse(path: Path) -> dict[str, Any] | None:
    front = front_matter(path.read_bytes())
    if front is None:
        return None
    try:
        fields = yaml.load(front, Loader=yaml.CSafeLoader)
    except yaml.YAMLError:
        return None
    return fields if isinstance(fields, dict) else None


def export(root: Path, out: Path) -> None:
    by_topic: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for path in files(root):
        fields = parse(path)
        if fields and fields.get("published") is True and isinstance(fields.get("topics"), list):
            for topic in fields["topics"]:
                by_topic[str(topic)].append(fields)
    out.mkdir(parents=True, exist_ok=True)
    for number, (topic, items) in enumerate(sorted(by_topic.items())):
        items.sort(key=lambda item: str(item.get("publishedDateTime")), reverse=True)
        fg = FeedGenerator()
        fg.title(topic)
        fg.link(href="https://example.org/")
        fg.description(f"News about {topic}")
        for item in items[:50]:
            entry = fg.add_entry(order="append")
            entry.title(str(item.get("title")))
            entry.link(href=str(item.get("webUrl")))
            entry.description(str(item.get("excerpt")))
            entry.guid(str(item.get("webUrl")), permalink=True)
            date = item.get("publishedDateTime")
            if isinstance(date, datetime):
                entry.pubDate(date if date.tzinfo else date.replace(tzinfo=UTC))
        fg.rss_file(str(out / f"{number}.rss"))


def read(path: Path, root: Path, *, fast_path: bool) -> bool:
    """Read one file as feeds does, in this process (one core, no index): whether it is an item."""
    from feeds.corpus import read_item
    from feeds.errors import ItemError

    try:
        read_item(path.read_bytes(), path, path.relative_to(root).as_posix(), fast_path=fast_path)
    except ItemError:
        return False
    return True


def main() -> None:
    command, root = sys.argv[1], Path(sys.argv[2])
    if command == "read":
        total = sum(len(path.read_bytes()) for path in files(root))
        print(total)
    elif command == "parse":
        print(sum(parse(path) is not None for path in files(root)))
    elif command == "export":
        export(root, Path(sys.argv[3]))
    elif command in ("exact", "fast"):
        print(sum(read(path, root, fast_path=command == "fast") for path in files(root)))
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main()
