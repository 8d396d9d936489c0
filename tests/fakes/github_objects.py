"""Answers of the fake GitHub server made as complete as GitHub's, from the vendored description.

GitHub's objects carry many fields nobody here reads (`avatar_url`, `node_id`, the `*_url` templates
of a repository ...). The fake models the fields the clients use; `complete()` adds every other
field the response schema of the operation requires, with a placeholder of the right type, so the
answer can be validated strictly (github_contract.py) without the fake spelling out every field.
A field the fake does set is never replaced: its type, enum and nullability are what the contract
check judges. Placeholders: `None` where the schema allows null, the first value of an enum, an
ISO time for `date-time`, a URL on the fake itself for `uri` and `*_url` fields (a client that
follows one gets a 404 and a contract violation), 0, false, "", [] and objects completed the same way.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import json
import re
from pathlib import Path
from typing import Any

SUBSET = Path(__file__).resolve().parents[1] / "contracts" / "github-rest-subset.json"


@functools.cache
def _description() -> dict[str, Any]:
    return json.loads(SUBSET.read_text())


@functools.cache
def _templates() -> list[tuple[re.Pattern[str], int, str]]:
    found = []
    for template in _description()["paths"]:
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        literal = sum(1 for part in template.split("/") if part and not part.startswith("{"))
        found.append((re.compile(pattern + "/?"), literal, template))
    return sorted(found, key=lambda item: -item[1])


def response_schema(method: str, path: str, status: int) -> dict[str, Any] | None:
    """The JSON schema GitHub's description gives for this answer, or None."""
    for pattern, _, template in _templates():
        if pattern.fullmatch(path):
            operation = _description()["paths"][template].get(method.lower()) or {}
            answer = (operation.get("responses") or {}).get(str(status)) or {}
            answer = _resolve(answer)
            content = answer.get("content") or {}
            media = content.get("application/json") or next(iter(content.values()), None)
            return _resolve(media.get("schema")) if media and "schema" in media else None
    return None


def _resolve(node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = _description()
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def _merged(schema: dict[str, Any], value: Any) -> dict[str, Any]:
    """allOf merged into one schema; anyOf/oneOf narrowed to the branch that fits the value best."""
    schema = _resolve(schema)
    if "allOf" in schema:
        merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
        for part in schema["allOf"]:
            part = _merged(part, value)
            merged["properties"].update(part.get("properties") or {})
            merged["required"] += part.get("required") or []
            for key in ("nullable", "type"):
                if key in part:
                    merged[key] = part[key]
        return merged
    for key in ("anyOf", "oneOf"):
        if key in schema:
            branches = [_merged(branch, value) for branch in schema[key]]
            return max(branches, key=lambda branch: _fit(branch, value))
    return schema


def _fit(schema: dict[str, Any], value: Any) -> int:
    kind = schema.get("type")
    if value is None:
        return 1 if schema.get("nullable") else 0
    if isinstance(value, dict):
        if kind not in (None, "object"):
            return -1
        properties = schema.get("properties") or {}
        for key, item in value.items():  # a discriminating enum ("type": "pull_request") rules a branch out
            allowed = _resolve(properties.get(key) or {}).get("enum")
            if allowed is not None and item not in allowed:
                return -1
        return (
            1
            + sum(1 for key in value if key in properties)
            - sum(1 for key in schema.get("required") or [] if key not in value)
        )
    expected = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array"}
    return 1 if expected.get(type(value)) == kind or (kind == "number" and isinstance(value, int)) else -1


def complete(value: Any, schema: dict[str, Any] | None, base_url: str) -> Any:
    """A copy of `value` with every field `schema` requires and `value` lacks filled in."""
    if schema is None:
        return value
    return _complete(copy.deepcopy(value), schema, base_url, "")


def _discriminated(schema: dict[str, Any], value: dict[str, Any]) -> dict[str, Any]:
    """A oneOf with a discriminator: the branch it names, the property set when the fake left it out
    (GitHub's users carry `user_view_type`; a validator picks the branch by it)."""
    prop = schema["discriminator"]["propertyName"]
    mapping = schema["discriminator"].get("mapping") or {}
    if value.get(prop) in mapping:
        return _resolve({"$ref": mapping[value[prop]]})
    branches = schema.get("oneOf") or schema.get("anyOf") or []
    best = max(branches, key=lambda branch: _fit(_merged(branch, value), value))
    for key, ref in mapping.items():
        if ref == best.get("$ref"):
            value[prop] = key
    return _resolve(best)


def _complete(value: Any, schema: dict[str, Any], base: str, name: str) -> Any:
    schema = _resolve(schema)
    if isinstance(value, dict) and "discriminator" in schema:
        schema = _discriminated(schema, value)
    schema = _merged(schema, value)
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        for key, sub in properties.items():
            if key in value:
                value[key] = _complete(value[key], sub, base, key)
        for key in schema.get("required") or []:
            if key not in value:
                value[key] = _placeholder(properties.get(key) or {}, base, key)
        return value
    if isinstance(value, list) and "items" in schema:
        return [_complete(item, schema["items"], base, name) for item in value]
    return value


def _placeholder(schema: dict[str, Any], base: str, name: str) -> Any:
    schema = _merged(schema, {})
    if schema.get("nullable"):
        return None
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return _complete({}, schema, base, name)
    if kind == "array":
        return []
    if kind == "boolean":
        return False
    if kind in ("integer", "number"):
        return schema.get("minimum", 0)
    if kind == "string" or kind is None:
        if schema.get("format") == "date-time":
            return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        if schema.get("format") == "uri" or name == "url" or name.endswith("_url"):
            return f"{base}/_unfilled/{name}"
        if schema.get("format") == "email":
            return "octocat@users.noreply.github.com"
        return "x" * int(schema.get("minLength", 0))
    return None
