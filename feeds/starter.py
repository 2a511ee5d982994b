"""``feeds init``: a folder to start from, with example items and every setting written out."""

from __future__ import annotations

import contextlib
import errno
import os
from dataclasses import fields
from pathlib import Path

from .config import Settings
from .config.values import DeleteLimit
from .errors import Refusal

TOPIC = "Example"
ITEMS = {
    "items/2024-01-01-welcome.md": (
        "Welcome to your feeds",
        "This folder is a corpus: one file per story, with YAML front matter on top.",
        "2024-01-01T09:00:00Z",
        "https://news.example/welcome",
        80,
    ),
    "items/2024-01-02-second.md": (
        "A second story",
        "Each file gives a title, an excerpt, a date, a link and its topics.",
        "2024-01-02T09:00:00Z",
        "https://news.example/second",
        40,
    ),
    "items/2024-01-03-draft.md": (
        "A story not published yet",
        "published: false keeps a story out of every feed until it is true.",
        "2024-01-03T09:00:00Z",
        "https://news.example/draft",
        -1,
    ),
}
"""Example items: path, then title, excerpt, date, link and heat (-1: unscored)."""

MEANINGS = {
    "corpus": "the folder of item files, relative to this file",
    "site_title": "title of the site, and the start of every feed's title",
    "site_description": "one line about the site",
    "base_url": "absolute URL the feeds are published under (serve: the address it listens on)",
    "language": "BCP 47 language tag of the feeds",
    "feed_limit": "items in a feed unless a request asks for another limit",
    "max_limit": "the largest limit a request may ask for",
    "cache_max_age": "seconds in Cache-Control: max-age",
    "icon": "absolute URL of the site's icon",
    "logo": "absolute URL of the site's logo",
    "selections": "named heat selections: /feeds/NAME/... holds items with heat >= N",
    "collapse": "whether one story told by several providers is shown as one item",
    "collapse_days": "the most days apart two linked tellings may be and still be one story",
    "archives": "whether a feed whose items do not all fit in it has archives",
    "archive_size": "the most items an archive holds",
    "watch_interval": "seconds between two looks at every file, where the corpus is polled",
    "watcher": "how a watched corpus is watched: auto, notify or poll",
    "index": "the corpus index file (memory: none kept); unset, one in the user's cache folder",
    "hubs": "WebSub hubs named in every feed and told of every change",
    "ping_batch": "whether one ping names every changed feed",
    "hub": "whether feeds serve is a WebSub hub of its own feeds, at /websub",
    "hub_private_callbacks": "whether the built-in hub may call back private addresses",
    "hub_store": "the built-in hub's SQLite file; unset, beside the index",
    "hub_lease_min": "the shortest subscription, in seconds",
    "hub_lease_default": "a subscription's length when none is asked for, in seconds",
    "hub_lease_max": "the longest subscription, in seconds",
    "hub_max_per_topic": "subscriptions one feed may have",
    "hub_max_per_host": "subscriptions one callback host may have",
    "max_deletes": "how many of the files of its last export an export may remove",
    "log_level": "the least level logged: debug, info, warning or error",
    "log_format": "text, or json: one JSON object a line",
}
"""What each setting is, for the comments of the starter's configuration."""


def item_text(title: str, excerpt: str, date: str, url: str, heat: int) -> str:
    return (
        f'---\ntitle: "{title}"\nexcerpt: "{excerpt}"\npublishedDateTime: {date}\nwebUrl: "{url}"\n'
        f"published: {'false' if heat < 0 else 'true'}\nheat: {heat}\nquality: 70\n"
        f"provider:\n  name: Example News\n  domain: news.example\ntopics:\n  - {TOPIC}\n---\n\n"
        f"{excerpt}\n"
    )


def configuration() -> str:
    """``pyproject.toml`` with a ``[tool.feeds]`` table: the corpus and the title set, every
    other setting commented out at its default."""
    lines = [
        "# The settings of feeds. Flags and FEEDS_* variables come before them; a setting",
        "# left commented out has the default shown.",
        "[tool.feeds]",
        'corpus = "."  # ' + MEANINGS["corpus"],
        'site_title = "My news"  # ' + MEANINGS["site_title"],
    ]
    defaults = Settings()
    for field in fields(Settings):
        if field.name in {"corpus", "site_title"}:
            continue
        value = getattr(defaults, field.name)
        if value is None:
            lines.append(
                f'# {field.name} = "{UNSET[field.name]}"  # {MEANINGS[field.name]} (unset by default)'
            )
        else:
            lines.append(f"# {field.name} = {_toml(value)}  # {MEANINGS[field.name]}")
    return "\n".join(lines) + "\n"


UNSET = {
    "icon": "https://news.example/icon.png",
    "logo": "https://news.example/logo.png",
    "index": "feeds-index.sqlite3",
    "hub_store": "feeds-hub.sqlite3",
}
"""An example value of each setting that is unset by default."""


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"{value:g}" if isinstance(value, float) else str(value)
    if isinstance(value, DeleteLimit):
        return str(value.files) if value.files is not None else f'"{(value.share or 0) * 100:g}%"'
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{name} = {heat}" for name, heat in value.items()) + " }"
    if isinstance(value, tuple):
        return "[" + ", ".join(f'"{part}"' for part in value) + "]"
    text = getattr(value, "value", value)
    return f'"{text}"'


def make_starter(folder: Path) -> list[Path]:
    """Write the starter into ``folder``, which must be missing or empty; the files made.
    Raises Refusal, having written nothing, for a folder that holds anything or cannot be
    made or written."""
    try:
        if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
            raise Refusal(f"refusing to make a starter in {folder}: it is not an empty folder")
        created = not folder.exists()
        folder.mkdir(parents=True, exist_ok=True)
        if not os.access(folder, os.W_OK | os.X_OK):
            raise OSError(errno.EACCES, os.strerror(errno.EACCES))
    except OSError as err:
        raise Refusal(f"cannot make a starter in {folder}: {err.strerror or err}") from None
    files = {"pyproject.toml": configuration()} | {name: item_text(*item) for name, item in ITEMS.items()}
    made: list[Path] = []
    try:
        for name, text in files.items():
            path = folder / name
            path.parent.mkdir(exist_ok=True)
            path.write_text(text, encoding="utf-8")
            made.append(path)
    except OSError as err:  # a full disk, say: take back what was made
        for path in reversed(made):
            path.unlink(missing_ok=True)
        for empty in (folder / "items", *([folder] if created else [])):
            with contextlib.suppress(OSError):
                empty.rmdir()
        raise Refusal(f"cannot make a starter in {folder}: {err.strerror or err}") from None
    return made
