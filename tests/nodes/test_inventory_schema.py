"""The inventory's published JSON Schema accepts the example and refuses hostile files; the loader's
strict types refuse what a lenient reader would coerce, naming the field and its line."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from ruamel.yaml import YAML

from devops_studio.cli import main
from devops_studio.inventory import InventoryError, load_inventory

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "studio.yml"
COMMITTED = ROOT / "examples" / "studio.schema.json"


@pytest.fixture(scope="module")
def schema() -> dict:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["inventory", "schema"]) == 0
    return json.loads(out.getvalue())


def example() -> dict:
    return YAML(typ="safe").load(EXAMPLE.read_text(encoding="utf-8"))


def test_printed_schema_is_valid_and_accepts_the_example(schema):
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(example())


def test_committed_schema_is_the_printed_one_and_the_example_points_at_it(schema):
    assert json.loads(COMMITTED.read_text(encoding="utf-8")) == schema, (
        "examples/studio.schema.json is stale: devops-studio inventory schema > examples/studio.schema.json"
    )
    assert EXAMPLE.read_text(encoding="utf-8").splitlines()[0] == "# yaml-language-server: $schema=studio.schema.json"


def test_schema_helps_an_editor(schema):
    node = schema["$defs"]["NodeSpec"]
    assert node["properties"]["os"]["enum"] == ["linux", "macos", "windows"]
    assert all(field.get("description") for field in node["properties"].values())
    assert node["additionalProperties"] is False


def _set(data: dict, path: str, value: object) -> None:
    *parents, last = path.split("/")
    for part in parents:
        data = data[int(part)] if isinstance(data, list) else data[part]
    if isinstance(data, list):
        data[int(last)] = value
    else:
        data[last] = value


HOSTILE = [
    ("nodes/chronos/runner/labels/0", 7),  # an integer where a label is wanted
    ("nodes/chronos/colour", "blue"),  # an unknown key
    ("github/repos/1", ".."),
    ("version", 2),
    ("review/status_check", "yes"),
    ("models/olmo-3/memory_gb", -1),
    ("nodes/astraeus/roles/0", "wizard"),
    ("profiles/llm-dev-deep/parameters/num_ctx", 4096),
    ("nodes/chronos/runner/user", "Root User"),
    ("nodes/bad_name", {"os": "linux", "arch": "x64", "memory_gb": 1, "roles": ["dev"]}),
]


@pytest.mark.parametrize(("path", "value"), HOSTILE, ids=[path for path, _ in HOSTILE])
def test_schema_and_loader_refuse_a_hostile_inventory(schema, tmp_path, path, value):
    data = example()
    _set(data, path, value)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate(data)
    target = tmp_path / "studio.yml"
    with target.open("w", encoding="utf-8") as handle:
        YAML(typ="safe").dump(data, handle)
    with pytest.raises(InventoryError) as caught:
        load_inventory(target)
    dotted = path.replace("/", ".")
    keys = [problem.key.replace("[", ".").replace("]", "") for problem in caught.value.problems]
    assert dotted in keys, str(caught.value)


# (replace in the example, by, key, words in the message)
STRICT = [
    (
        "labels: [chronos, chronos-deploy]",
        "labels: [chronos, chronos-deploy, 7]",
        "nodes.chronos.runner.labels[2]",
        "must be text, not 7",
    ),
    ("memory_gb: 32", "memory_gb: '32'", "nodes.chronos.memory_gb", "must be a number, not '32'"),
    ("memory_gb: 32", "memory_gb: true", "nodes.chronos.memory_gb", "must be a number, not True"),
    ("num_ctx: 65536", "num_ctx: 65536.5", "profiles.llm-dev-deep.num_ctx", "must be an integer"),
    ("  language: ja", "  language: ja\n  status_check: yes", "review.status_check", "must be true or false"),
    ("    memory_gb: 70", "    memory_gb: -.inf", "models.gpt-oss:120b.memory_gb", "finite"),
    (
        "    arch: x64\n    memory_gb: 32",
        "    arch: x64\n    memory_gb: 32\n    colour: blue\n    size: 3",
        "nodes.chronos.size",
        "unknown key; allowed keys: host, os, arch",
    ),
    ("  owner: chronos-lab", "  owner: 42", "github.owner", "must be text, not 42; a GitHub user or organization"),
    ("  olmo-3:\n", "  Olmo 3:\n", "models.'Olmo 3'", "not a valid Ollama model name"),
    ("    roles: [dev]", "    roles: [dev, dev]", "nodes.astraeus.roles[1]", "'dev' is listed twice"),
    ("    roles: [dev]", "    roles: []", "nodes.astraeus.roles", "at least 1"),
]


@pytest.mark.parametrize(("old", "new", "key", "words"), STRICT, ids=[case[2] + ":" + case[3] for case in STRICT])
def test_strict_types_name_the_field_and_its_line(tmp_path, old, new, key, words):
    text = EXAMPLE.read_text(encoding="utf-8")
    assert old in text
    bad = text.replace(old, new, 1)
    path = tmp_path / "studio.yml"
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    matching = [p for p in caught.value.problems if p.key == key and words in p.message]
    assert matching, str(caught.value)
    leaf = key.rsplit(".", 1)[-1].split("[")[0].strip("'")
    line = bad.splitlines()[matching[0].line - 1]
    assert leaf in line or key.endswith("]"), (matching[0], line)


def test_deep_value_names_the_key_where_the_limit_is_crossed(tmp_path):
    text = EXAMPLE.read_text(encoding="utf-8").replace("roles: [dev]", "roles: " + "[" * 30 + "]" * 30, 1)
    path = tmp_path / "studio.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InventoryError, match="nests deeper than") as caught:
        load_inventory(path)
    assert caught.value.problems[0].key.startswith("nodes.astraeus.roles[0]")


def test_null_is_the_same_as_absent(tmp_path):
    text = EXAMPLE.read_text(encoding="utf-8").replace("    host: chronos.lan", "    host:", 1)
    path = tmp_path / "studio.yml"
    path.write_text(text, encoding="utf-8")
    assert load_inventory(path).node("chronos").host is None


def test_inventory_check_command(tmp_path, capsys):
    assert main(["inventory", "check", "--inventory", str(EXAMPLE)]) == 0
    assert "no problems" in capsys.readouterr().out
    bad = tmp_path / "studio.yml"
    bad.write_text(EXAMPLE.read_text(encoding="utf-8").replace("arch: x64", "arch: sparc", 1), encoding="utf-8")
    assert main(["inventory", "check", "--inventory", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:" in err and "nodes.chronos.arch: 'sparc' is not allowed; use one of: x64, arm64" in err


def test_alias_bomb_is_refused_not_expanded(tmp_path):
    lines = ["version: 1", "a: &a [x, x, x, x, x, x, x, x, x]"]
    for previous, name in zip("abcdefg", "bcdefgh", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    path = tmp_path / "studio.yml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InventoryError, match="holds more than 100000 values"):
        load_inventory(path)


def test_control_character_is_a_one_line_problem_with_its_line(tmp_path):
    path = tmp_path / "studio.yml"
    path.write_text(EXAMPLE.read_text(encoding="utf-8").replace("arch: x64", "arch: x6\x1f4", 1), encoding="utf-8")
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    (problem,) = caught.value.problems
    assert problem.line > 1 and "U+001F" in problem.message and "\n" not in str(problem)
