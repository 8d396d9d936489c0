"""Pydantic's validation errors as inventory problems: `<dotted.path>: <problem>; <fix>` at their line."""

from __future__ import annotations

import types
import typing
from typing import Annotated, Any

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from devops_studio.inventory.errors import Problem
from devops_studio.inventory.schema import Hint, StudioFile, shown
from devops_studio.inventory.source import Loc, Source

_KINDS = {
    "string_type": "text",
    "int_type": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}


def problems_of(error: ValidationError, source: Source) -> list[Problem]:
    """One problem per error, in the order of the file."""
    found = []
    for item in error.errors(include_url=False):
        loc, message = _describe(item)
        found.append(source.problem(loc, message))
    unique = list(dict.fromkeys(found))
    return sorted(unique, key=lambda p: (p.line, p.key))


def _describe(item: dict[str, Any]) -> tuple[Loc, str]:
    loc: Loc = tuple(item["loc"])
    kind, value, ctx = item["type"], item.get("input"), item.get("ctx") or {}
    if loc and loc[-1] == "[key]":
        loc = loc[:-1]
    owner, field = _resolve(loc)
    hints = [m.text for m in field.metadata if isinstance(m, Hint)] if field else []
    hint = hints[-1] if hints else ""
    if kind in ("inventory", "inventory_item"):
        if "index" in ctx:
            loc = (*loc, ctx["index"])
        return loc, ctx["problem"]
    if kind == "missing":
        return loc, "is required" + (f"; {hint}" if hint else "")
    if kind == "extra_forbidden":
        allowed = [f.alias or name for name, f in owner.model_fields.items()] if owner else []
        return loc, "unknown key; allowed keys: " + ", ".join(allowed)
    if kind in _KINDS:
        message = f"must be {_KINDS[kind]}, not {shown(value)}"
    elif kind == "literal_error":
        choices = ", ".join(part.strip("'") for part in _split_choices(ctx.get("expected", "")))
        message = f"{shown(value)} is not allowed; use one of: {choices}"
    elif kind == "finite_number":
        message = f"must be a finite number, not {value!r}"
    elif kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        bound = next(iter(ctx.values()), "")
        word = {"greater_than": "above", "greater_than_equal": "at least", "less_than": "below"}.get(kind, "at most")
        message = f"must be {word} {bound}, not {value!r}"
    elif kind == "too_short":
        message = f"must hold at least {ctx.get('min_length', 1)} item(s)"
    elif kind == "string_too_long":
        message = f"is longer than {ctx.get('max_length')} characters"
    else:
        message = item["msg"][:1].lower() + item["msg"][1:]
    return loc, message + (f"; {hint}" if hint else "")


def _split_choices(expected: str) -> list[str]:
    """Pydantic's "'a', 'b' or 'c'" as ['a', 'b', 'c']."""
    head, _, last = expected.rpartition(" or ")
    return [*(part for part in head.split(", ") if part), last] if head else [last]


def _resolve(loc: Loc) -> tuple[type[BaseModel] | None, FieldInfo | None]:
    """The model `loc` ends in (for unknown keys) and the field it is in (for hints)."""
    kind: Any = StudioFile
    owner: type[BaseModel] | None = StudioFile
    field: FieldInfo | None = None
    for part in loc:
        kind = _bare(kind)
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            by_alias = {f.alias or name: f for name, f in kind.model_fields.items()}
            owner = kind
            if part not in by_alias:
                return owner, field
            field = by_alias[part]
            kind = field.annotation
        elif typing.get_origin(kind) is dict:
            kind = typing.get_args(kind)[1]
        elif typing.get_origin(kind) in (list, tuple):
            kind = typing.get_args(kind)[0]
        else:
            break
    kind = _bare(kind)
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        owner = kind
    return owner, field


def _bare(kind: Any) -> Any:
    """`kind` without Annotated and without `| None`."""
    while True:
        if typing.get_origin(kind) is Annotated:
            kind = typing.get_args(kind)[0]
        elif isinstance(kind, types.UnionType) or typing.get_origin(kind) is typing.Union:
            options = [arg for arg in typing.get_args(kind) if arg is not type(None)]
            kind = options[0] if len(options) == 1 else kind
            if len(options) != 1:
                return kind
        else:
            return kind
