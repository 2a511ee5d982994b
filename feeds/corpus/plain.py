"""A fast reader for the plain block YAML that front matter is almost always written in.

It reads ``key: value`` mappings, ``- `` sequences, double-quoted strings and plain scalars,
and gives up (returns ``None``) on anything else: flow collections, single quotes, block
scalars, anchors, aliases, tags, comments after values, multi-line scalars, tabs. The
caller then reads the text with libyaml, which also reports the errors. Where it does not
give up it returns exactly what ``yaml.load(text, CSafeLoader)`` returns: plain scalars are
typed by PyYAML's own resolver and built by PyYAML's own constructor.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import yaml

MAX_DEPTH = 16

_LINE = re.compile(
    r"(?P<indent> *)(?:(?P<dash>-)(?P<gap> +|$))?"
    r"(?:(?P<key>[A-Za-z_][A-Za-z0-9_]*):(?: +(?P<value>.*))?|(?P<item>[^ ].*))?$"
)
# Characters libyaml refuses in a stream, or that we leave to it: controls, BOM, NEL, LS, PS.
_UNUSUAL = re.compile("[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]")
_DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]*)")
_TIMESTAMP = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:(Z)|([-+])([0-9]{2}):([0-9]{2}))"
)
_PLAIN_UNSAFE = re.compile(r"^[-?:,\[\]{}#&*!|>'\"%@`]|: |:$| #|\t")
_QUOTED = re.compile(r'"([^"\\]*(?:\\.[^"\\]*)*)" *')
_ESCAPE = re.compile(r"\\(x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)")
_ESCAPES = {
    "0": "\0", "a": "\x07", "b": "\x08", "t": "\t", "\t": "\t", "n": "\n", "v": "\x0b",
    "f": "\x0c", "r": "\r", "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\",
    "N": "\x85", "_": "\xa0", "L": "\u2028", "P": "\u2029",
}  # fmt: skip
_KEY_WORDS = frozenset(
    "y Y yes Yes YES n N no No NO true True TRUE false False FALSE "
    "on On ON off Off OFF null Null NULL".split()
)

_STR = "tag:yaml.org,2002:str"
_resolver = yaml.resolver.Resolver()
_constructor = yaml.constructor.SafeConstructor()
_BUILDERS = {
    "tag:yaml.org,2002:int": _constructor.construct_yaml_int,
    "tag:yaml.org,2002:float": _constructor.construct_yaml_float,
    "tag:yaml.org,2002:bool": _constructor.construct_yaml_bool,
    "tag:yaml.org,2002:timestamp": _constructor.construct_yaml_timestamp,
}


_RESOLVED_FIRST = frozenset(key for key in _resolver.yaml_implicit_resolvers if key)
_BOOLEANS = {"true": True, "false": False}


def _timestamp(match: re.Match[str]) -> datetime:
    """What PyYAML's constructor makes of ``2023-02-03T12:51:00Z`` or ``...+01:00``."""
    year, month, day, hour, minute, second, zulu, sign, tz_hour, tz_minute = match.groups()
    try:
        tzinfo: timezone = UTC
        if not zulu:
            delta = timedelta(hours=int(tz_hour), minutes=int(tz_minute))
            tzinfo = timezone(-delta if sign == "-" else delta)
        return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=tzinfo)
    except ValueError:
        raise _GiveUp from None


class _GiveUp(Exception):
    pass


Line = tuple[int, bool, str | None, str | None]
"""indent, whether it starts with ``- ``, key, value text (or the item text of ``- text``)."""


def load(text: str) -> dict[str, Any] | None:
    """The mapping ``text`` holds, or ``None`` where libyaml must decide."""
    if _UNUSUAL.search(text):
        return None
    lines: list[Line] = []
    for raw in text.split("\n"):
        match = _LINE.match(raw)
        if match is None:
            if not raw.strip() or raw.lstrip(" ").startswith("#"):
                continue
            return None
        spaces, dash, gap, key, value, item = match.groups()
        if key is not None:
            if key in _KEY_WORDS or (dash and gap != " "):
                return None  # "-   key:" puts the item's keys at another column: leave it
            lines.append((len(spaces), dash is not None, key, value))
        elif item is not None and dash:
            lines.append((len(spaces), True, None, item))
        elif raw.strip() and not raw.lstrip(" ").startswith("#"):
            return None
    if not lines or lines[0][0] != 0 or lines[0][1]:
        return None
    try:
        result, end = _mapping(lines, 0, 0, 1)
    except _GiveUp:
        return None
    return result if end == len(lines) else None


def _mapping(lines: list[Line], start: int, indent: int, depth: int) -> tuple[dict[str, Any], int]:
    """Read the mapping whose keys stand at ``indent`` from ``lines[start]`` on.

    ``lines[start]`` may be a ``- key: value`` line whose key stands at ``indent``.
    """
    if depth > MAX_DEPTH:
        raise _GiveUp
    result: dict[str, Any] = {}
    index = start
    while index < len(lines):
        line_indent, dash, key, value = lines[index]
        if index == start and dash:
            line_indent = indent  # the key after "- " stands at the item's content column
        elif dash or line_indent != indent:
            break
        if key is None:
            raise _GiveUp
        index += 1
        if value is not None:
            result[key] = _scalar(value)
            if index < len(lines) and lines[index][0] > indent and not lines[index][1]:
                raise _GiveUp  # a continuation line: leave multi-line scalars to libyaml
            if index < len(lines) and lines[index][1] and lines[index][0] > indent:
                raise _GiveUp
            continue
        result[key], index = _block(lines, index, indent, depth + 1)
    return result, index


def _block(lines: list[Line], index: int, indent: int, depth: int) -> tuple[Any, int]:
    """The value of a key at ``indent`` whose line ends with the colon."""
    if index >= len(lines):
        return None, index
    line_indent, dash, key, value = lines[index]
    if dash and line_indent >= indent:
        return _sequence(lines, index, line_indent, depth)
    if line_indent > indent:
        if key is None:
            raise _GiveUp
        return _mapping(lines, index, line_indent, depth)
    return None, index


def _sequence(lines: list[Line], start: int, indent: int, depth: int) -> tuple[list[Any], int]:
    if depth > MAX_DEPTH:
        raise _GiveUp
    result: list[Any] = []
    index = start
    while index < len(lines):
        line_indent, dash, key, value = lines[index]
        if not dash or line_indent != indent:
            break
        if key is None:
            assert value is not None
            result.append(_scalar(value))
            index += 1
            if index < len(lines) and lines[index][0] > indent:
                raise _GiveUp
            continue
        item, index = _mapping(lines, index, indent + 2, depth + 1)
        result.append(item)
    return result, index


def _scalar(text: str) -> Any:
    if text[:1] == '"':
        if text[-1:] == '"' and "\\" not in text and text.count('"') == 2:
            return text[1:-1]
        match = _QUOTED.fullmatch(text)
        if match is None:
            raise _GiveUp
        content = match[1]
        return _ESCAPE.sub(_unescape, content) if "\\" in content else content
    text = text.rstrip(" ")
    if not text:
        return None  # "key: " is null, as "key:" is
    if _DECIMAL.fullmatch(text):
        return int(text)
    if _PLAIN_UNSAFE.search(text):
        raise _GiveUp
    if text[:1] not in _RESOLVED_FIRST:
        return text  # no implicit type starts with this character: a string
    if text in _BOOLEANS:
        return _BOOLEANS[text]
    stamp = _TIMESTAMP.fullmatch(text)
    if stamp:
        return _timestamp(stamp)
    tag = _resolver.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    if tag == _STR:
        return text
    if tag == "tag:yaml.org,2002:null":
        return None
    build = _BUILDERS.get(tag)
    if build is None:
        raise _GiveUp
    try:
        return build(yaml.ScalarNode(tag, text))
    except (ValueError, OverflowError):
        raise _GiveUp from None  # libyaml's reading reports it


def _unescape(match: re.Match[str]) -> str:
    code = match[1]
    if len(code) > 1:
        point = int(code[1:], 16)
        if 0xD800 <= point <= 0xDFFF or point > 0x10FFFF:
            raise _GiveUp
        return chr(point)
    if code not in _ESCAPES:
        raise _GiveUp
    return _ESCAPES[code]
