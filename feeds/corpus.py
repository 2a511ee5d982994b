"""Read a corpus folder into validated items, collecting every problem on the way.

An item file is YAML front matter between two ``---`` lines, then an optional body. The
corpus is untrusted: each file is read on its own, a bad file becomes an :class:`ItemError`
naming it, and the rest still loads. Plain block YAML is read by :mod:`feeds.fastyaml`;
anything else by YAML's safe loader (libyaml's when available), and only after a scan of
its event stream has refused anchors, aliases, tags and deep nesting.
"""

from __future__ import annotations

import os
import re
import stat
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml

from . import fastyaml
from .errors import FeedsError, ItemError
from .model import UNSCORED, Image, Item, Provider, Related

try:
    _Loader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader

MAX_FILE_BYTES = 1 << 20
"""Larger files are rejected unread: no news item needs a mebibyte of text."""

MAX_DEPTH = 16
"""Deepest nesting of front matter collections we accept; the format needs six
(``related[0].provider.images[0]``). Deeper input is refused before it is composed:
libyaml's composer recurses once per level and crashes the process at some ten thousand
levels, and its scanner slows quadratically with flow nesting."""

_PLAIN_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "timestamp", "seq", "map")
)
"""Explicit tags we let through: the ones that name a plain type (``!!str 123``)."""

ITEM_SUFFIXES = frozenset({".txt", ".md", ".markdown"})

MAX_NUMBER = 1_000_000_000
"""The largest heat, quality, width or height: far beyond any real one, and within what
every store of numbers holds."""

_FENCE = re.compile(r"---[ \t]*")
_CLOSING_FENCE = re.compile(r"(?:---|\.\.\.)[ \t]*")
_XML_FORBIDDEN = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# Allowed in XML 1.0 but not as raw characters in a YAML stream (DEL and C1 controls, not NEL).
_YAML_UNPRINTABLE = re.compile("[\x7f-\x84\x86-\x9f]")
_SPACES = re.compile(r"\s+")
_URL_UNSAFE = re.compile(r"[\s\x00-\x1f]")
# http(s), a plain host name (no user, no brackets) and an optional port, then the path:
# what urlsplit accepts with a host, as nearly every URL of a corpus is.
_PLAIN_URL = re.compile(r"(?i:https?)://[A-Za-z0-9._~-]+(?::([0-9]{1,5}))?(?:[/?#][^\s\x00-\x1f]*)?\Z")
_PATH_STEP = re.compile(r"(\w+)|\[(\d+)\]")

_KNOWN_KEYS = frozenset(
    {
        "category", "title", "excerpt", "publishedDateTime", "originalUrl", "webUrl",
        "ampWebUrl", "cdnAmpWebUrl", "type", "quality", "heat", "published", "provider",
        "topics", "images", "related", "secured",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class FileResult:
    """What reading one file gave: an item or not, and its problems (errors and warnings)."""

    source: str
    item: Item | None
    problems: tuple[ItemError, ...] = ()


@dataclass(frozen=True, slots=True)
class Corpus:
    """Every item of a folder, deduplicated by story, in source order, published or not."""

    root: Path
    items: tuple[Item, ...]
    problems: tuple[ItemError, ...]
    files: int

    @property
    def rejected(self) -> int:
        return len({p.path for p in self.problems if not p.warning})

    @property
    def published(self) -> tuple[Item, ...]:
        return tuple(item for item in self.items if item.published)


def clean_text(text: str) -> str:
    """Remove the characters XML 1.0 forbids (controls, lone surrogates, U+FFFE/FFFF)."""
    return _XML_FORBIDDEN.sub("", text)


def item_id(canonical_url: str) -> str:
    """The permanent id of a story: a name-based UUID of its canonical URL."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, canonical_url)}"


def canonical_url(url: str) -> str:
    """Normalise a URL for identity: case of scheme and host, default port, no fragment."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address keeps its brackets
    port = parts.port
    if port is not None and (parts.scheme.lower(), port) not in {("http", 80), ("https", 443)}:
        host = f"{host}:{port}"
    return urlunsplit((parts.scheme.lower(), host, parts.path or "/", parts.query, ""))


def iter_item_files(root: Path) -> Iterator[Path]:
    """Yield item files below ``root`` in a stable order: by relative path, as text.

    Hidden files and folders are skipped; folder symlinks are not followed.
    """
    found: list[tuple[str, Path]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if not name.startswith(".") and Path(name).suffix.lower() in ITEM_SUFFIXES:
                path = Path(dirpath, name)
                found.append((path.relative_to(root).as_posix(), path))
    for _, path in sorted(found):
        yield path


def load_corpus(root: Path | str) -> Corpus:
    """Read every item file below ``root``; raise only if ``root`` is not a folder."""
    root = Path(root)
    if not root.is_dir():
        raise FeedsError(f"corpus folder not found: {root}")
    results = [read_item_file(path, root) for path in iter_item_files(root)]
    return assemble(root, results)


def assemble(root: Path, results: list[FileResult]) -> Corpus:
    """Turn per-file results into a corpus, publishing each story once.

    Files that carry the same story (same canonical URL) are duplicates: the one with the
    newest ``publishedDateTime`` wins, as the latest revision of the story (so a newer copy
    with ``published: false`` withdraws it); on equal dates the first path in sort order.
    The order of ``results`` does not matter. Each losing file gets a warning naming the
    winner.
    """
    copies: dict[str, list[Item]] = {}
    for result in results:
        if result.item is not None:
            copies.setdefault(result.item.id, []).append(result.item)
    winners = {story: min(items, key=_revision_order) for story, items in copies.items()}
    problems: list[ItemError] = []
    for result in sorted(results, key=lambda result: result.source):
        problems.extend(result.problems)
        item = result.item
        if item is None or winners[item.id] is item:
            continue
        keep = winners[item.id]
        problems.append(
            duplicate_warning(root, item.source, keep.source, newer=keep.published_at > item.published_at)
        )
    items = sorted(winners.values(), key=lambda item: item.source)
    return Corpus(root=root, items=tuple(items), problems=tuple(problems), files=len(results))


def story_keys(url: str, *others: str | None) -> tuple[str, ...]:
    """The ids of a story's links, its own id (that of ``url``) first, each once."""
    return tuple(dict.fromkeys(item_id(canonical_url(link)) for link in (url, *others) if link))


def _is_url(url: str) -> bool:
    return _url_problem(clean_text(url)) is None


def duplicate_warning(root: Path, source: str, winner: str, *, newer: bool) -> ItemError:
    """The warning of a file whose story another file, ``winner``, publishes instead."""
    why = "it is newer" if newer else "same date, its path sorts first"
    return ItemError(
        root / source,
        f"same story (same URL) as {winner}, which is used instead ({why}); left out",
        warning=True,
    )


def _revision_order(item: Item) -> tuple[float, str]:
    return (-item.published_at.timestamp(), item.source)


def read_item_file(path: Path, root: Path) -> FileResult:
    """Read and validate one file. Never raises for anything the file contains."""
    source = path.relative_to(root).as_posix()
    if not _is_utf8(source):
        problem = ItemError(path, "the file name is not UTF-8; rename the file")
        return FileResult(source, None, (problem,))
    try:
        data = _read_bounded(path, root)
        reader = _Reader(path, source)
        item = reader.read(data)
        return FileResult(source, item, tuple(reader.warnings))
    except ItemError as err:
        return FileResult(source, None, (err,))
    except OSError as err:
        return FileResult(source, None, (ItemError(path, f"cannot read: {err.strerror or err}"),))


def _is_utf8(name: str) -> bool:
    """Whether a name from the file system decodes as UTF-8 (else it holds surrogate escapes)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _read_bounded(path: Path, root: Path) -> bytes:
    """The file's bytes, refusing symlinks out of ``root``, non-files and big files unread."""
    if path.is_symlink():
        # realpath, not Path.resolve: a symlink loop must become an OSError on open
        target = Path(os.path.realpath(path))
        if not target.is_relative_to(os.path.realpath(root)):
            raise ItemError(path, "symlink points outside the corpus; not followed")
    # O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then refuses it.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with open(fd, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ItemError(path, "not a regular file")
        if info.st_size > MAX_FILE_BYTES:
            raise ItemError(path, f"file is {info.st_size:,} bytes, over the limit of {MAX_FILE_BYTES:,}")
        return file.read(MAX_FILE_BYTES + 1)


def parse_item(data: bytes, path: Path | str = "<item>", source: str | None = None) -> Item:
    """Parse one file's bytes into an item; raise :class:`ItemError` if it is not valid."""
    return _Reader(Path(path), source or Path(path).name).read(data)


class _Reader:
    """Validation of one file. Messages name a field by its path (``related[0].title``),
    and the line is looked up in the YAML node tree only when there is a message."""

    def __init__(self, path: Path, source: str) -> None:
        self.path = path
        self.source = source
        self.warnings: list[ItemError] = []
        self.root: yaml.Node | None = None
        self.front: str | None = None
        self._key_maps: dict[int, dict[str, tuple[yaml.Mark, yaml.Node]]] = {}

    # -- messages -------------------------------------------------------------------

    def error(self, message: str, where: str | None = None, line: int | None = None) -> ItemError:
        return ItemError(self.path, message, line if line is not None else self.line_of(where))

    def warn(self, message: str, where: str | None = None, line: int | None = None) -> None:
        line = line if line is not None else self.line_of(where)
        self.warnings.append(ItemError(self.path, message, line, warning=True))

    def line_of(self, where: str | None) -> int | None:
        """The file line of the deepest node on a field path (of its key, for a mapping
        entry), or of the front matter."""
        if self.root is None and self.front is not None:
            # Read by the fast reader: plain YAML with nothing to refuse, safe to compose.
            loader = _Loader(self.front)
            try:
                self.root = loader.get_single_node()
            finally:
                loader.dispose()
        node = self.root
        if node is None:
            return None
        line = node.start_mark.line + 2
        for name, index in _PATH_STEP.findall(where or ""):
            mark = None
            if name and isinstance(node, yaml.MappingNode):
                found = self._keys(node).get(name)
                mark, node = found if found else (None, None)
            elif index and isinstance(node, yaml.SequenceNode) and int(index) < len(node.value):
                child: yaml.Node = node.value[int(index)]
                mark, node = child.start_mark, child
            if mark is None:
                break
            line = mark.line + 2
        return line

    def _keys(self, node: yaml.MappingNode) -> dict[str, tuple[yaml.Mark, yaml.Node]]:
        """A mapping node's keys, made once: a file of many unknown keys asks for each."""
        held = self._key_maps.get(id(node))
        if held is None:
            # the last of duplicate keys is the one YAML keeps
            held = {k.value: (k.start_mark, v) for k, v in node.value if isinstance(k, yaml.ScalarNode)}
            self._key_maps[id(node)] = held
        return held

    # -- reading --------------------------------------------------------------------

    def read(self, data: bytes) -> Item:
        if len(data) > MAX_FILE_BYTES:
            raise self.error(f"file is over the limit of {MAX_FILE_BYTES:,} bytes")
        text = self.decode(data)
        if not text.strip():
            raise self.error("empty file")
        front, body = self.split(text)
        fields = self.parse_yaml(self.printable(front))
        return self.build(fields, body)

    def decode(self, data: bytes) -> str:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            line = data.count(b"\n", 0, err.start) + 1
            raise self.error(
                f"not UTF-8: byte 0x{data[err.start]:02x} cannot be decoded; save the file as UTF-8",
                line=line,
            ) from None
        return text.replace("\r\n", "\n").replace("\r", "\n")

    def split(self, text: str) -> tuple[str, str]:
        lines = text.split("\n")
        if not _FENCE.fullmatch(lines[0]):
            raise self.error("no front matter: the file must start with a '---' line", line=1)
        for number, line in enumerate(lines[1:], start=2):
            if _CLOSING_FENCE.fullmatch(line):
                return "\n".join(lines[1 : number - 1]), "\n".join(lines[number:])
        raise self.error("front matter is not closed: no '---' line after the opening one", line=1)

    def printable(self, front: str) -> str:
        """The front matter without characters YAML refuses in a stream.

        Those XML forbids go silently, as everywhere; DEL and C1 controls, which XML
        allows, go with a warning, since YAML can carry them only as escapes (``"\\x80"``).
        """
        front = clean_text(front)
        found = _YAML_UNPRINTABLE.search(front)
        if found is not None:
            self.warn(
                f"control character U+{ord(found[0]):04X} removed; write it as an escape in quotes"
                " if it is meant",
                line=front.count("\n", 0, found.start()) + 2,
            )
            front = _YAML_UNPRINTABLE.sub("", front)
        return front

    def parse_yaml(self, front: str) -> dict[str, Any]:
        fields = fastyaml.load(front)
        if fields is not None:
            self.front = front  # composed again only if a message needs a line
            return fields
        try:
            self.scan(front)
            loader = _Loader(front)
            try:
                node = loader.get_single_node()
                if node is None:
                    raise self.error("front matter is empty", line=2)
                if not isinstance(node, yaml.MappingNode):
                    raise self.error(
                        "front matter must be a mapping of keys to values", line=node.start_mark.line + 2
                    )
                self.root = node
                return self.construct(loader, node)
            finally:
                loader.dispose()
        except yaml.MarkedYAMLError as err:
            mark = err.problem_mark or err.context_mark
            line = mark.line + 2 if mark is not None else None
            problem = err.problem or err.context or "cannot be read"
            context = f" ({err.context})" if err.problem and err.context else ""
            if problem.startswith("mapping values are not allowed"):
                context += "; quote text that contains ': '"
            raise self.error(f"YAML syntax error: {problem}{context}", line=line) from None
        except yaml.reader.ReaderError as err:
            line = front.count("\n", 0, err.position) + 2
            raise self.error(
                f"YAML cannot read character {err.character!r}: {err.reason}", line=line
            ) from None
        except yaml.YAMLError as err:
            raise self.error("YAML error: " + " ".join(str(err).split()), line=2) from None

    def scan(self, front: str) -> None:
        """Refuse anchors and aliases (a billion laughs needs them), tags that would build
        objects, and deep nesting, reading YAML events only up to the first of them.

        libyaml 0.2.6 (in PyYAML 6.0.4 and later) stops at its own limit of 1,000 levels
        while scanning ahead on one line, before it has given us the events of the first
        levels. The line is then scanned again by PyYAML's Python parser, which has no
        such limit, so the file gets the same refusal, at the same line, whichever
        PyYAML is installed.
        """
        try:
            self.refuse(_Loader(front))
        except yaml.scanner.ScannerError as err:
            if err.problem != "exceeded maximum nesting depth" or _Loader is yaml.SafeLoader:
                raise
            self.refuse(yaml.SafeLoader(front))
            raise  # not deeper than ours after all: libyaml's own error stands

    def refuse(self, loader: yaml.SafeLoader) -> None:
        """Raise for the first event :meth:`scan` refuses."""
        depth = 0
        try:
            while (event := loader.get_event()) is not None:  # type: ignore[no-untyped-call]
                line = event.start_mark.line + 2
                if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
                    raise self.error("YAML anchors and aliases (&name, *name) are not allowed", line=line)
                tag = getattr(event, "tag", None)
                if tag is not None and tag not in _PLAIN_TAGS:
                    shown = tag.replace("tag:yaml.org,2002:", "!!")
                    raise self.error(f"YAML tag {_show(shown)} is not allowed; write plain values", line=line)
                if isinstance(event, yaml.CollectionStartEvent):
                    depth += 1
                    if depth > MAX_DEPTH:
                        raise self.error(f"front matter is nested deeper than {MAX_DEPTH} levels", line=line)
                elif isinstance(event, yaml.CollectionEndEvent):
                    depth -= 1
        finally:
            loader.dispose()

    def construct(self, loader: yaml.SafeLoader, root: yaml.MappingNode) -> dict[str, Any]:
        """Python values of the top-level keys, each on its own so an error has a line."""
        fields: dict[str, Any] = {}
        for key_node, value_node in root.value:
            line = key_node.start_mark.line + 2
            key = self.construct_value(loader, key_node, "key", line)
            if not isinstance(key, str):
                raise self.error(f"keys must be text, got {_kind(key)} {_show(key)}; quote it", line=line)
            fields[key] = self.construct_value(loader, value_node, key, line)
        return fields

    def construct_value(self, loader: yaml.SafeLoader, node: yaml.Node, where: str, line: int) -> Any:
        try:
            return loader.construct_object(node, deep=True)
        except (ValueError, OverflowError, TypeError, AttributeError, KeyError, IndexError) as err:
            # A value YAML recognises but cannot build, like the date 2023-02-30, or a plain
            # tag on text that is not of its type (!!bool maybe, !!float ''): PyYAML's
            # constructors raise all of these.
            shown = f": {_show(node.value)}" if isinstance(node, yaml.ScalarNode) else ""
            raise self.error(f"{where} cannot be read ({err}){shown}", line=line) from None

    # -- validation -----------------------------------------------------------------

    def build(self, fields: dict[str, Any], body_text: str) -> Item:
        for key in fields:
            if key not in _KNOWN_KEYS:
                self.warn(f"unknown key {_show(key)} ignored", key)
        title = self.required_text(fields, "title")
        original_url = self.url(fields, "originalUrl")
        web_url = self.url(fields, "webUrl")
        url = original_url or web_url
        if url is None:
            raise self.error("missing link: give originalUrl or webUrl")
        body = clean_text(body_text).strip("\n")
        heat = self.integer(fields, "heat", minimum=UNSCORED)
        amp_url, cdn_amp_url = self.url(fields, "ampWebUrl"), self.url(fields, "cdnAmpWebUrl")
        keys = story_keys(url, web_url, amp_url, cdn_amp_url)
        return Item(
            id=keys[0],
            source=self.source,
            title=title,
            url=url,
            published_at=self.required_date(fields, "publishedDateTime"),
            published=self.boolean(fields, "published", default=False),
            excerpt=self.text(fields, "excerpt") or "",
            category=self.text(fields, "category"),
            type=self.text(fields, "type"),
            web_url=web_url,
            amp_url=amp_url,
            cdn_amp_url=cdn_amp_url,
            heat=UNSCORED if heat is None else heat,
            quality=self.integer(fields, "quality", minimum=0),
            provider=self.provider(fields, "provider"),
            topics=self.topics(fields),
            images=self.images(fields, "images"),
            related=self.related(fields),
            body=body if body.strip() else None,
            keys=keys,
        )

    def text(
        self, fields: Mapping[str, Any], key: str, prefix: str = "", *, required: bool = False
    ) -> str | None:
        value = fields.get(key)
        where = prefix + key
        if value is None:
            if required:
                raise self.error(f"missing {where}", where)
            return None
        if not isinstance(value, str):
            raise self.error(f"{where} must be text, got {_kind(value)} {_show(value)}; quote it", where)
        value = clean_text(value).strip()
        if required and not value:
            raise self.error(f"{where} is empty", where)
        return value or None

    def required_text(self, fields: Mapping[str, Any], key: str, prefix: str = "") -> str:
        value = self.text(fields, key, prefix, required=True)
        assert value is not None
        return value

    def url(self, fields: Mapping[str, Any], key: str, prefix: str = "") -> str | None:
        value = self.text(fields, key, prefix)
        if value is not None and (problem := _url_problem(value)):
            raise self.error(f"{prefix}{key} {problem}: {_show(value)}", prefix + key)
        return value

    def optional_url(self, fields: Mapping[str, Any], key: str, prefix: str, what: str) -> str | None:
        """A nested link: a bad one leaves out ``what`` with a warning, not the item."""
        try:
            value = self.url(fields, key, prefix)
        except ItemError as err:
            self.warn(f"{err.message}; {what} left out", prefix + key)
            return None
        if value is None:
            self.warn(f"{prefix}{key} is missing; {what} left out", prefix.rstrip("."))
        return value

    def date(self, fields: Mapping[str, Any], key: str, prefix: str = "") -> datetime | None:
        value = fields.get(key)
        if value is None:
            return None
        try:
            return parse_date(value)
        except ValueError as err:
            raise self.error(f"{prefix}{key} {err}", prefix + key) from None

    def required_date(self, fields: Mapping[str, Any], key: str) -> datetime:
        moment = self.date(fields, key)
        if moment is None:
            raise self.error(f"missing {key}", key)
        return moment

    def boolean(self, fields: Mapping[str, Any], key: str, prefix: str = "", *, default: bool) -> bool:
        value = fields.get(key, default)
        if not isinstance(value, bool):
            where = prefix + key
            raise self.error(f"{where} must be true or false, got {_kind(value)} {_show(value)}", where)
        return value

    def integer(self, fields: Mapping[str, Any], key: str, prefix: str = "", *, minimum: int) -> int | None:
        value = fields.get(key)
        where = prefix + key
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(f"{where} must be a whole number, got {_kind(value)} {_show(value)}", where)
        if value < minimum:
            raise self.error(f"{where} must be at least {minimum}, got {value}", where)
        if value > MAX_NUMBER:
            raise self.error(f"{where} must be at most {MAX_NUMBER:,}, got {_show(value)}", where)
        return int(value)

    def topics(self, fields: Mapping[str, Any]) -> tuple[str, ...]:
        names: dict[str, str] = {}
        for index, topic in enumerate(self.sequence(fields, "topics")):
            if not isinstance(topic, str):
                where = f"topics[{index}]"
                raise self.error(f"{where} must be text, got {_kind(topic)} {_show(topic)}; quote it", where)
            name = _SPACES.sub(" ", clean_text(topic)).strip()
            if name:
                names.setdefault(name.casefold(), name)
        return tuple(names.values())

    def sequence(self, fields: Mapping[str, Any], key: str, prefix: str = "") -> list[Any]:
        value = fields.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            where = prefix + key
            raise self.error(f"{where} must be a list, got {_kind(value)} {_show(value)}", where)
        return value

    def mappings(
        self, fields: Mapping[str, Any], key: str, prefix: str = ""
    ) -> Iterator[tuple[str, Mapping[str, Any]]]:
        """Each entry of a list of mappings, with its path prefix (``images[0].``)."""
        for index, entry in enumerate(self.sequence(fields, key, prefix)):
            where = f"{prefix}{key}[{index}]"
            if not isinstance(entry, dict):
                raise self.error(f"{where} must be a mapping, got {_kind(entry)}", where)
            yield f"{where}.", entry

    def images(self, fields: Mapping[str, Any], key: str, prefix: str = "") -> tuple[Image, ...]:
        images = []
        for at, entry in self.mappings(fields, key, prefix):
            url = self.optional_url(entry, "url", at, "image")
            if url is not None:
                images.append(
                    Image(
                        url=url,
                        width=self.integer(entry, "width", at, minimum=0),
                        height=self.integer(entry, "height", at, minimum=0),
                        cached=self.boolean(entry, "isCached", at, default=False),
                    )
                )
        return tuple(images)

    def provider(self, fields: Mapping[str, Any], key: str, prefix: str = "") -> Provider | None:
        value = fields.get(key)
        where = prefix + key
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.error(f"{where} must be a mapping, got {_kind(value)} {_show(value)}", where)
        at = where + "."
        return Provider(
            name=self.required_text(value, "name", at),
            domain=self.text(value, "domain", at),
            images=self.images(value, "images", at),
        )

    def related(self, fields: Mapping[str, Any]) -> tuple[Related, ...]:
        stories = []
        for at, entry in self.mappings(fields, "related"):
            title = self.text(entry, "title", at)
            # The same link, and so the same id, that the story has as an item.
            key = "originalUrl" if entry.get("originalUrl") is not None else "webUrl"
            url = self.optional_url(entry, key, at, "related story")
            if title is None:
                self.warn(f"{at}title is missing; related story left out", at.rstrip("."))
            if title is None or url is None:
                continue
            links = (entry.get(name) for name in ("webUrl", "ampWebUrl", "cdnAmpWebUrl"))
            keys = story_keys(url, *(u.strip() for u in links if isinstance(u, str) and _is_url(u.strip())))
            stories.append(
                Related(
                    keys=keys,
                    id=keys[0],
                    title=title,
                    url=url,
                    excerpt=self.text(entry, "excerpt", at) or "",
                    published_at=self.date(entry, "publishedDateTime", at),
                    type=self.text(entry, "type", at),
                    provider=self.provider(entry, "provider", at),
                    quality=self.integer(entry, "quality", at, minimum=0),
                    images=self.images(entry, "images", at),
                )
            )
        return tuple(stories)


def parse_date(value: Any) -> datetime:
    """Read a front matter date as an aware UTC datetime, to the second.

    Accepts YAML timestamps (aware or not), bare dates (midnight) and ISO 8601 text with
    ``Z`` or a numeric offset, quoted or not. A time without an offset is taken to be UTC:
    a corpus is written by machines far more often than by people in one time zone, and
    UTC is what every machine agrees on.
    """
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time())
    elif isinstance(value, str):
        moment = _parse_date_text(value.strip())
    else:
        raise ValueError(f"must be a date, got {_kind(value)} {_show(value)}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"is out of range: {_show(value)}") from None
    if moment.year < 1000:
        raise ValueError(f"is before the year 1000: {_show(value)}")
    return moment.replace(microsecond=0)


def _parse_date_text(text: str) -> datetime:
    """ISO 8601, or what YAML would have read unquoted (``2023-2-3``, ``... 21:59:43 -5``)."""
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    if yaml.constructor.SafeConstructor.timestamp_regexp.fullmatch(text):
        node = yaml.ScalarNode("tag:yaml.org,2002:timestamp", text)
        try:
            moment = _TIMESTAMPS.construct_yaml_timestamp(node)
        except ValueError as err:
            raise ValueError(f"is not a real date: {_show(text)} ({err})") from None
        return moment if isinstance(moment, datetime) else datetime.combine(moment, time())
    raise ValueError(f"cannot be read as a date: {_show(text)}; use ISO 8601, like 2023-02-03T12:51:00Z")


_TIMESTAMPS = yaml.constructor.SafeConstructor()


def _url_problem(url: str) -> str | None:
    """Why ``url`` is not an absolute http(s) URL we can publish, or ``None``."""
    plain = _PLAIN_URL.match(url)
    if plain is not None and (not plain[1] or int(plain[1]) <= 65535):
        return None  # the common case, settled without urlsplit
    return _url_problem_parsed(url)


def _url_problem_parsed(url: str) -> str | None:
    """:func:`_url_problem` the long way, by urlsplit."""
    if _URL_UNSAFE.search(url):
        return "contains spaces or control characters"
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        return "is not a valid URL"
    if parts.scheme.lower() not in {"http", "https"}:
        return "must be an http or https URL"
    if not parts.hostname:
        return "has no host"
    return None


def _kind(value: Any) -> str:
    names = {bool: "a boolean", int: "a number", float: "a number", str: "text", list: "a list"}
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, datetime | date):
        return "a date"
    return names.get(type(value), type(value).__name__)


def _show(value: Any, limit: int = 60) -> str:
    """``repr`` of a value for a message: one line, and not a mebibyte of it."""
    shown = repr(value)
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."
