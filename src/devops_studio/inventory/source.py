"""Reading `studio.yml`: size and depth limits, YAML errors with their line, and the line of every value.

ruamel.yaml keeps the position of each key and item; `read_source` turns the document into plain
Python values (dict, list, str, int, float, bool) for the schema and records, for the path of every
key and item, the line it is on, so schema errors can point at the line to fix.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.reader import ReaderError

from devops_studio.inventory.errors import InventoryError, Problem

MAX_INVENTORY_BYTES = 1 << 20
MAX_DEPTH = 12  # an inventory nests 6 levels deep; anything past this is not an inventory
MAX_VALUES = 100_000  # keys and items, aliases expanded: YAML aliases can make a small file huge

Loc = tuple[str | int, ...]
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_.:/-]{1,100}")  # keys shown as they are; others quoted, newlines escaped


@dataclass
class Source:
    """A parsed inventory: its plain data and the 1-based line of every key and list item."""

    file: str
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)

    def line(self, loc: Loc) -> int:
        """The line of `loc`, or of its nearest parent that is in the file (a missing key's mapping)."""
        for end in range(len(loc), -1, -1):
            if loc[:end] in self.lines:
                return self.lines[loc[:end]]
        return 0

    def path(self, loc: Loc) -> str:
        """`loc` as the dotted path the messages use: nodes.chronos.runner.labels[1]."""
        text, node = "", self.data
        for part in loc:
            if isinstance(node, list) and isinstance(part, int):
                text += f"[{part}]"
                node = node[part] if 0 <= part < len(node) else None
            else:
                name = str(part) if _PLAIN_KEY.fullmatch(str(part)) else repr(part)
                text += f".{name}" if text else name
                node = node.get(part) if isinstance(node, dict) else None
        return text

    def problem(self, loc: Loc, message: str) -> Problem:
        return Problem(self.file, self.line(loc), self.path(loc), message)


def read_source(path: Path) -> Source:
    """Read and parse `path`; raise InventoryError for a missing, huge, malformed or too deep file."""
    file = str(path)

    def refuse(message: str, line: int = 0, key: str = "") -> InventoryError:
        return InventoryError([Problem(file, line, key, message)])

    try:
        size = path.stat().st_size
        if size > MAX_INVENTORY_BYTES:
            raise refuse(f"is {size} bytes; an inventory may hold at most {MAX_INVENTORY_BYTES} (1 MiB)")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise refuse("file not found; create it from examples/studio.yml or pass --inventory PATH") from None
    except (OSError, UnicodeDecodeError) as error:
        raise refuse(f"cannot read the file: {error}") from None
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        document = yaml.load(text)
    except RecursionError:
        raise refuse(f"nests deeper than {MAX_DEPTH} levels; an inventory needs at most 6") from None
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else 0
        message = " ".join((error.problem or "invalid YAML").split())
        duplicate = re.match(r'found duplicate key "([^"]+)"', message)
        if duplicate:
            raise refuse(f"{message}; keep one of them", line, duplicate.group(1)) from None
        raise refuse(f"YAML syntax error: {message}", line) from None
    except ReaderError as error:
        line = text.count("\n", 0, error.position) + 1
        character = error.character if isinstance(error.character, int) else ord(str(error.character)[:1] or "?")
        raise refuse(
            f"YAML syntax error: the control character U+{character:04X} is not allowed in YAML; remove it, "
            "or write it as an escape inside double quotes",
            line,
        ) from None
    except YAMLError as error:
        raise refuse("YAML syntax error: " + " ".join(str(error).split())) from None
    source = Source(file, document, {(): 1})
    try:
        source.data = _plain(document, (), source.lines, 0)
    except _TooDeep as deep:
        too_deep = source.problem(deep.loc, f"nests deeper than {MAX_DEPTH} levels; an inventory needs at most 6")
        raise InventoryError([too_deep]) from None
    except _TooMany:
        raise refuse(f"holds more than {MAX_VALUES} values (aliases expanded); an inventory needs far fewer") from None
    return source


class _TooDeep(Exception):
    def __init__(self, loc: Loc):
        self.loc = loc


class _TooMany(Exception):
    pass


def _plain(value: Any, loc: Loc, lines: dict[Loc, int], depth: int) -> Any:
    """`value` as plain Python values, recording the line of every key and item under `loc`."""
    if depth > MAX_DEPTH:
        raise _TooDeep(loc)
    if len(lines) > MAX_VALUES:
        raise _TooMany
    if isinstance(value, dict):
        result: dict[Any, Any] = {}
        for key, item in value.items():
            # Keys stay strings, integers or booleans so the schema can refuse the wrong type; anything
            # else (a list or mapping used as a key) becomes its text and fails the name rules.
            plain_key = key if isinstance(key, str | int) else str(key)
            if isinstance(key, str):
                plain_key = str(key)
            if isinstance(value, CommentedMap):
                with contextlib.suppress(AttributeError, KeyError, TypeError):
                    lines[(*loc, plain_key)] = value.lc.key(key)[0] + 1
            lines.setdefault((*loc, plain_key), lines.get(loc, 0))
            result[plain_key] = _plain(item, (*loc, plain_key), lines, depth + 1)
        return result
    if isinstance(value, list):
        items = []
        for index, item in enumerate(value):
            if isinstance(value, CommentedSeq):
                with contextlib.suppress(AttributeError, KeyError, IndexError, TypeError):
                    lines[(*loc, index)] = value.lc.item(index)[0] + 1
            lines.setdefault((*loc, index), lines.get(loc, 0))
            items.append(_plain(item, (*loc, index), lines, depth + 1))
        return items
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    return value  # dates, timestamps, None: the schema says what is wanted instead
