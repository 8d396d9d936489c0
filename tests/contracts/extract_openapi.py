"""Cut the operations listed in operations.txt, and every component they reference, out of GitHub's
REST API description into github-rest-subset.json (kept small: examples and prose are dropped).

    python tests/contracts/extract_openapi.py path/to/api.github.com.json [--source NOTE]

The source note (where the description came from, its version) is stored in the output's `info`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OPERATIONS = HERE / "operations.txt"
OUTPUT = HERE / "github-rest-subset.json"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
# Text for people, not for validation: dropping it keeps the file a few hundred KB.
DROPPED_KEYS = ("examples", "example", "externalDocs", "x-github")
# Required by OpenAPI on responses: kept, but emptied.
EMPTIED_KEYS = ("description", "summary")


def wanted_operations(path: Path = OPERATIONS) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def _strip_schema_aware(node: Any, in_properties: bool = False) -> Any:
    if isinstance(node, dict):
        kept = {}
        for key, value in node.items():
            if not in_properties and key in DROPPED_KEYS:
                continue
            if not in_properties and key in EMPTIED_KEYS and isinstance(value, str):
                kept[key] = ""
                continue
            kept[key] = _strip_schema_aware(value, in_properties=(key == "properties" and not in_properties))
        return kept
    if isinstance(node, list):
        return [_strip_schema_aware(item) for item in node]
    return node


def _refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/"):
            found.add(ref)
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for item in node:
            _refs(item, found)


def extract(description: dict[str, Any], operation_ids: list[str], source: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    seen: set[str] = set()
    for path, item in description["paths"].items():
        for method, operation in item.items():
            if method in METHODS and operation.get("operationId") in operation_ids:
                paths.setdefault(path, {})[method] = _strip_schema_aware(operation)
                seen.add(operation["operationId"])
                if "parameters" in item:
                    paths[path]["parameters"] = _strip_schema_aware(item["parameters"])
    missing = [op for op in operation_ids if op not in seen]
    if missing:
        raise SystemExit(f"not in the description: {', '.join(missing)}")
    components: dict[str, dict[str, Any]] = {}
    pending: set[str] = set()
    _refs(paths, pending)
    done: set[str] = set()
    while pending:
        ref = pending.pop()
        if ref in done:
            continue
        done.add(ref)
        _, _, kind, name = ref.split("/", 3)
        value = _strip_schema_aware(description["components"][kind][name], in_properties=False)
        components.setdefault(kind, {})[name] = value
        _refs(value, pending)
    return {
        "openapi": description["openapi"],
        "info": {
            "title": "GitHub REST API (the operations devops-studio uses)",
            "version": description["info"]["version"],
            "license": description["info"].get("license", {"name": "MIT"}),
            "x-source": source,
        },
        "servers": [{"url": "/"}],
        "paths": {path: paths[path] for path in sorted(paths)},
        "components": {kind: dict(sorted(items.items())) for kind, items in sorted(components.items())},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("description", type=Path, help="api.github.com.json from GitHub's REST description")
    parser.add_argument("--source", default="", help="where the description came from (package, commit)")
    args = parser.parse_args(argv)
    subset = extract(json.loads(args.description.read_text()), wanted_operations(), args.source)
    OUTPUT.write_text(json.dumps(subset, indent=1, sort_keys=False) + "\n")
    print(
        f"{OUTPUT.name}: {sum(len(v) for v in subset['paths'].values())} operations, "
        f"{OUTPUT.stat().st_size // 1024} KB",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
