"""Split an item file into front matter and body, and read the front matter's YAML safely.

Plain block YAML is read by :mod:`.plain`; anything else by YAML's safe loader (libyaml's
when available), and only after a scan of its event stream has refused anchors, aliases,
tags and deep nesting. The node tree is kept (or made again, only when a message needs
it) so that every message can name the line of the field it is about.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from ..errors import ItemError
from . import plain
from .values import clean_text, kind, show

try:
    _Loader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader

MAX_DEPTH = 16
"""Deepest nesting of front matter collections we accept; the format needs six
(``related[0].provider.images[0]``). Deeper input is refused before it is composed:
libyaml's composer recurses once per level and crashes the process at some ten thousand
levels, and its scanner slows quadratically with flow nesting."""

_PLAIN_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "timestamp", "seq", "map")
)
"""Explicit tags we let through: the ones that name a plain type (``!!str 123``)."""

_FENCE = re.compile(r"---[ \t]*")
_CLOSING_FENCE = re.compile(r"(?:---|\.\.\.)[ \t]*")
_FENCE_LIKE = re.compile(r"^(?:---|\.\.\.)", re.MULTILINE)
# Allowed in XML 1.0 but not as raw characters in a YAML stream (DEL and C1 controls, not NEL).
YAML_UNPRINTABLE = re.compile("[\x7f-\x84\x86-\x9f]")
_PATH_STEP = re.compile(r"(\w+)|\[(\d+)\]")


def decode(data: bytes, path: Path | str) -> str:
    """The file's text with ``\\n`` line ends; raise :class:`ItemError` if it is not UTF-8."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise ItemError(
            path, f"not UTF-8: byte 0x{data[err.start]:02x} cannot be decoded; save the file as UTF-8", line
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def split(text: str, path: Path | str) -> tuple[str, str]:
    """Front matter and body; raise :class:`ItemError` if the fences are not there."""
    if not text.strip():
        raise ItemError(path, "empty file")
    first, _, rest = text.partition("\n")
    if not _FENCE.fullmatch(first):
        raise ItemError(path, "no front matter: the file must start with a '---' line", 1)
    end = rest.find("\n---\n")
    if end >= 0 and not _FENCE_LIKE.search(rest, 0, end + 1):
        return rest[:end], rest[end + 5 :]  # the usual closing fence, found without a loop
    lines = text.split("\n")
    for number, line in enumerate(lines[1:], start=2):
        if _CLOSING_FENCE.fullmatch(line):
            return "\n".join(lines[1 : number - 1]), "\n".join(lines[number:])
    raise ItemError(path, "front matter is not closed: no '---' line after the opening one", 1)


class FrontMatter:
    """The YAML of one file: its fields, then, for messages, the line of any field path
    (``related[0].title``), looked up in the node tree only when a message asks."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.warnings: list[ItemError] = []
        self._root: yaml.Node | None = None
        self._front: str | None = None
        self._key_maps: dict[int, dict[str, tuple[yaml.Mark, yaml.Node]]] = {}

    # -- messages -------------------------------------------------------------------

    def error(self, message: str, where: str | None = None, line: int | None = None) -> ItemError:
        return ItemError(self.path, message, line if line is not None else self.line_of(where), field=where)

    def warn(self, message: str, where: str | None = None, line: int | None = None) -> None:
        line = line if line is not None else self.line_of(where)
        self.warnings.append(ItemError(self.path, message, line, warning=True, field=where))

    def line_of(self, where: str | None) -> int | None:
        """The file line of the deepest node on a field path (of its key, for a mapping
        entry), or of the front matter."""
        if self._root is None and self._front is not None:
            # Read by the plain reader: YAML with nothing to refuse, safe to compose.
            loader = _Loader(self._front)
            try:
                self._root = loader.get_single_node()
            finally:
                loader.dispose()
        node = self._root
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

    def parse(self, front: str) -> dict[str, Any]:
        """The top-level fields of ``front``; raise :class:`ItemError` for YAML we refuse."""
        front = self.printable(front)
        fields = plain.load(front)
        if fields is not None:
            self._front = front  # composed again only if a message needs a line
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
                self._root = node
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

    def printable(self, front: str) -> str:
        """The front matter without characters YAML refuses in a stream.

        Those XML forbids go silently, as everywhere; DEL and C1 controls, which XML
        allows, go with a warning, since YAML can carry them only as escapes (``"\\x80"``).
        """
        front = clean_text(front)
        found = YAML_UNPRINTABLE.search(front)
        if found is not None:
            self.warn(
                f"control character U+{ord(found[0]):04X} removed; write it as an escape in quotes"
                " if it is meant",
                line=front.count("\n", 0, found.start()) + 2,
            )
            front = YAML_UNPRINTABLE.sub("", front)
        return front

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
                    raise self.error(f"YAML tag {show(shown)} is not allowed; write plain values", line=line)
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
                raise self.error(f"keys must be text, got {kind(key)} {show(key)}; quote it", line=line)
            fields[key] = self.construct_value(loader, value_node, key, line)
        return fields

    def construct_value(self, loader: yaml.SafeLoader, node: yaml.Node, where: str, line: int) -> Any:
        try:
            return loader.construct_object(node, deep=True)
        except (ValueError, OverflowError, TypeError, AttributeError, KeyError, IndexError) as err:
            # A value YAML recognises but cannot build, like the date 2023-02-30, or a plain
            # tag on text that is not of its type (!!bool maybe, !!float ''): PyYAML's
            # constructors raise all of these.
            shown = f": {show(node.value)}" if isinstance(node, yaml.ScalarNode) else ""
            raise self.error(f"{where} cannot be read ({err}){shown}", line=line) from None
