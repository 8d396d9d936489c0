"""The home-lab inventory, `studio.yml`: which machines exist, what each one does, which models run where.

The file is read with ruamel.yaml so every value keeps its line number; validation is strict and every
problem names the file, the line, the key (as a dotted path) and what is allowed. All problems are
collected and reported together, so one run shows everything to fix.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from devops_studio import models as model_names
from devops_studio.validation import HOST_RE, full_match, path_problem, url_problem

DEFAULT_INVENTORY = "studio.yml"
SCHEMA_VERSION = 1
MAX_INVENTORY_BYTES = 1 << 20
MAX_DEPTH = 12  # an inventory nests 6 levels deep; anything past this is not an inventory
ROLES = ("production", "runner", "dev", "review", "gpu", "build")
OSES = ("linux", "macos", "windows")
ARCHES = ("x64", "arm64")
RUNNER_SCOPES = ("repo", "org")
RUNNER_ROLES = ("deploy", "ci", "general")
DEPLOY_LABEL = "chronos-deploy"  # the deploy runner's own label; no other runner may carry it
LANGUAGES = ("ja", "en")
# Roles that need an Ollama section, and roles that need a runner section.
OLLAMA_ROLES = ("dev", "review", "gpu")
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
LABEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MODEL_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*(/[a-z0-9._-]+)?(:[A-Za-z0-9._-]+)?$")
GH_NAME_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
REPO_RE = re.compile(r"(?!\.\.?\Z)[A-Za-z0-9._-]{1,100}")  # GitHub refuses "." and ".."


@dataclass(frozen=True)
class Problem:
    file: str
    line: int  # 1-based; 0 when unknown
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class InventoryError(Exception):
    """The inventory cannot be used; `problems` lists every reason."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class Model:
    name: str
    family: str
    memory_gb: float
    fallback: str | None = None


@dataclass(frozen=True)
class Profile:
    name: str
    base: str  # model name the profile is made `from`
    num_ctx: int
    system: str
    parameters: dict[str, Any] = field(default_factory=dict)

    def definition(self) -> dict[str, Any]:
        """The /api/create body (minus `model`); what decides whether a profile changed."""
        return {
            "from": self.base,
            "system": self.system,
            "parameters": {"num_ctx": self.num_ctx, **self.parameters},
        }


@dataclass(frozen=True)
class RunnerSpec:
    scope: str  # repo | org
    repo: str | None
    name: str
    labels: tuple[str, ...]
    user: str
    directory: str
    work_folder: str
    ephemeral: bool
    group: str
    # deploy: the production runner; ci: one-job JIT runners for self-hosted CI; general: anything else
    role: str = "general"


@dataclass(frozen=True)
class OllamaSpec:
    url: str
    models: tuple[str, ...]
    profiles: tuple[str, ...]


@dataclass(frozen=True)
class Node:
    name: str
    os: str
    arch: str
    memory_gb: float
    roles: tuple[str, ...]
    host: str | None = None
    runner: RunnerSpec | None = None
    ollama: OllamaSpec | None = None
    apps_dir: str | None = None
    deploy_user: str | None = None
    gpu_vram_gb: float | None = None

    def has(self, role: str) -> bool:
        return role in self.roles


@dataclass(frozen=True)
class BackupTarget:
    """`backup:`: the lab machine that keeps every production app's restic repository, over SFTP."""

    node: str
    host: str
    user: str
    path: str
    port: int = 22

    def repository(self, app: str = "{app}") -> str:
        """restic's URL of one app's repository (`{app}` is filled in by backup.py per app)."""
        return f"sftp://{self.user}@{self.host}:{self.port}/{self.path}/{app}"


@dataclass(frozen=True)
class ReviewPolicy:
    node: str
    model: str
    author_models: tuple[str, ...]
    language: str
    repos: tuple[str, ...] = ()  # repositories the review node reviews (default: github.repos)
    status_check: bool = False  # post the commit status `llm-review`


@dataclass(frozen=True)
class Inventory:
    path: Path
    owner: str
    repos: tuple[str, ...]
    api_url: str
    models: dict[str, Model]
    profiles: dict[str, Profile]
    nodes: dict[str, Node]
    review: ReviewPolicy | None
    trusted_templates: tuple[str, ...] = ()  # fleet.trusted_templates: template sources the fleet may run
    backup: BackupTarget | None = None

    def node(self, name: str) -> Node:
        key = name.lower()
        if key not in self.nodes:
            raise KeyError(f"no node named {name!r} in {self.path}; known nodes: {', '.join(self.nodes)}")
        return self.nodes[key]

    def model(self, name: str) -> Model | None:
        return self.models.get(name)


class _Checker:
    """Walks the parsed YAML, collecting problems with their line numbers."""

    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []
        # id(mapping) -> line of the key that holds it, so a missing key points at its parent's line
        self.owner_lines: dict[int, int] = {}

    def child(self, parent: Any, key: Any) -> Any:
        value = parent[key]
        if isinstance(value, CommentedMap | CommentedSeq):
            self.owner_lines[id(value)] = self.line_of(parent, key)
        return value

    def add(self, line: int, key: str, message: str) -> None:
        self.problems.append(Problem(self.file, line, key, message))

    def line_of(self, container: Any, key: Any = None) -> int:
        try:
            if key is None:
                return self.owner_lines.get(id(container)) or container.lc.line + 1
            if isinstance(container, CommentedSeq):
                return container.lc.item(key)[0] + 1
            return container.lc.key(key)[0] + 1
        except (AttributeError, KeyError, IndexError, TypeError):
            return 0

    def entries(
        self, section: CommentedMap, prefix: str, name_re: re.Pattern[str], bad_name: str, not_mapping: str
    ) -> Iterator[tuple[str, CommentedMap, str]]:
        """The (name, spec, path) of each well-formed entry of a named section; the rest are reported."""
        for name in section:
            spec = self.child(section, name)
            path = f"{prefix}.{name}"
            if not isinstance(name, str) or not full_match(name_re, name):
                self.add(self.line_of(section, name), path, bad_name)
            elif not isinstance(spec, CommentedMap):
                self.add(self.line_of(section, name), path, not_mapping)
            else:
                yield name, spec, path

    def mapping(self, parent: Any, key: Any, path: str, *, required: bool = True) -> CommentedMap | None:
        value = self.child(parent, key) if isinstance(parent, dict) and key in parent else None
        if value is None:
            if required:
                self.add(self.line_of(parent), path, "is required (a mapping)")
            return None
        if not isinstance(value, CommentedMap):
            self.add(self.line_of(parent, key), path, f"must be a mapping, not {type(value).__name__}")
            return None
        return value

    def keys(self, data: CommentedMap, path: str, allowed: tuple[str, ...]) -> None:
        for key in data:
            if key not in allowed:
                self.add(
                    self.line_of(data, key),
                    f"{path}.{key}" if path else str(key),
                    f"unknown key; allowed keys: {', '.join(allowed)}",
                )

    def value(
        self,
        data: CommentedMap,
        key: str,
        path: str,
        kind: type | tuple,
        *,
        required: bool = False,
        default: Any = None,
        choices: tuple[str, ...] | None = None,
        pattern: re.Pattern | None = None,
        hint: str = "",
    ) -> Any:
        full = f"{path}.{key}" if path else key
        if key not in data or data[key] is None:
            if required:
                allowed = f"; one of: {', '.join(choices)}" if choices else (f" ({hint})" if hint else "")
                self.add(self.line_of(data), full, f"is required{allowed}")
            return default
        value = data[key]
        line = self.line_of(data, key)
        kinds = kind if isinstance(kind, tuple) else (kind,)
        ok = False if isinstance(value, bool) and bool not in kinds else isinstance(value, kinds)
        if not ok:
            names = " or ".join(k.__name__ for k in kinds).replace("str", "text").replace("int", "integer")
            self.add(line, full, f"must be {names}, not {value!r}")
            return default
        if choices is not None and value not in choices:
            self.add(line, full, f"{value!r} is not allowed; use one of: {', '.join(choices)}")
            return default
        if pattern is not None and isinstance(value, str) and not full_match(pattern, value):
            self.add(line, full, f"{value!r} is not valid{'; ' + hint if hint else ''}")
            return default
        return value

    def string_list(
        self,
        data: CommentedMap,
        key: str,
        path: str,
        *,
        required: bool = False,
        choices: tuple[str, ...] | None = None,
        pattern: re.Pattern | None = None,
        hint: str = "",
    ) -> list[str]:
        full = f"{path}.{key}"
        if key not in data or data[key] is None:
            if required:
                extra = f"; items from: {', '.join(choices)}" if choices else ""
                self.add(self.line_of(data), full, f"is required (a list){extra}")
            return []
        items = data[key]
        if not isinstance(items, CommentedSeq):
            self.add(self.line_of(data, key), full, f"must be a list, not {items!r}")
            return []
        result: list[str] = []
        for index, item in enumerate(items):
            line = self.line_of(items, index) or self.line_of(data, key)
            if not isinstance(item, str):
                self.add(line, f"{full}[{index}]", f"must be text, not {item!r}")
            elif choices is not None and item not in choices:
                self.add(line, f"{full}[{index}]", f"{item!r} is not allowed; use one of: {', '.join(choices)}")
            elif pattern is not None and not full_match(pattern, item):
                self.add(line, f"{full}[{index}]", f"{item!r} is not valid{'; ' + hint if hint else ''}")
            elif item in result:
                self.add(line, f"{full}[{index}]", f"{item!r} is listed twice")
            else:
                result.append(item)
        return result


def _load_yaml(path: Path) -> Any:
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        size = path.stat().st_size
        if size > MAX_INVENTORY_BYTES:
            raise InventoryError(
                [
                    Problem(
                        str(path),
                        0,
                        "",
                        f"is {size} bytes; an inventory may hold at most {MAX_INVENTORY_BYTES} (1 MiB)",
                    )
                ]
            )
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InventoryError(
            [
                Problem(
                    str(path),
                    0,
                    "",
                    "file not found; create it from examples/studio.yml or pass --inventory PATH",
                )
            ]
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise InventoryError([Problem(str(path), 0, "", f"cannot read the file: {error}")]) from None
    try:
        data = yaml.load(text)
    except RecursionError:
        data = None
        too_deep = True
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else 0
        message = (error.problem or "invalid YAML").strip()
        duplicate = re.match(r'found duplicate key "([^"]+)"', message)
        if duplicate:
            raise InventoryError(
                [Problem(str(path), line, duplicate.group(1), f"{message}; keep one of them")]
            ) from None
        raise InventoryError([Problem(str(path), line, "", f"YAML syntax error: {message}")]) from None
    else:
        too_deep = _depth(data) > MAX_DEPTH
    if too_deep:
        raise InventoryError(
            [Problem(str(path), 0, "", f"nests deeper than {MAX_DEPTH} levels; an inventory needs at most 6")]
        )
    return data


def _depth(value: Any, level: int = 0) -> int:
    """How deeply `value` nests, counting no further than MAX_DEPTH + 1."""
    if level > MAX_DEPTH or not isinstance(value, dict | list):
        return level
    children = value.values() if isinstance(value, dict) else value
    return max((_depth(child, level + 1) for child in children), default=level + 1)


def _models(check: _Checker, data: CommentedMap) -> dict[str, Model]:
    section = check.mapping(data, "models", "models")
    models: dict[str, Model] = {}
    if section is None:
        return models
    for name, spec, path in check.entries(
        section,
        "models",
        MODEL_RE,
        "is not a valid Ollama model name (e.g. gpt-oss:20b)",
        "must be a mapping with family and memory_gb",
    ):
        check.keys(spec, path, ("family", "memory_gb", "fallback"))
        family = check.value(spec, "family", path, str, required=True, hint="the model family, e.g. gptoss")
        memory = check.value(spec, "memory_gb", path, (int, float), required=True, hint="GB the model needs")
        fallback = check.value(spec, "fallback", path, str)
        if isinstance(memory, int | float) and not (math.isfinite(memory) and memory > 0):
            check.add(check.line_of(spec, "memory_gb"), f"{path}.memory_gb", "must be a finite number above 0")
            memory = None
        if family is not None and memory is not None:
            models[name] = Model(name, family, float(memory), fallback)
    for name, model in models.items():
        if model.fallback is not None and model.fallback not in models:
            check.add(
                check.line_of(section[name], "fallback"),
                f"models.{name}.fallback",
                f"{model.fallback!r} is not a model of this inventory; use one of: {', '.join(models)}",
            )
    return models


def _profiles(check: _Checker, data: CommentedMap, models: dict[str, Model]) -> dict[str, Profile]:
    section = check.mapping(data, "profiles", "profiles", required=False)
    profiles: dict[str, Profile] = {}
    if section is None:
        return profiles
    for name, spec, path in check.entries(
        section,
        "profiles",
        NAME_RE,
        "profile names use a-z, 0-9 and '-'",
        "must be a mapping with from, num_ctx, system",
    ):
        check.keys(spec, path, ("from", "num_ctx", "system", "parameters"))
        base = check.value(spec, "from", path, str, required=True, hint="a model listed under models")
        if base is not None and base not in models:
            check.add(
                check.line_of(spec, "from"),
                f"{path}.from",
                f"{base!r} is not listed under models; use one of: {', '.join(models) or '(none)'}",
            )
            base = None
        num_ctx = check.value(
            spec,
            "num_ctx",
            path,
            int,
            required=True,
            hint="context length in tokens, e.g. 32768; prompts past it are cut silently",
        )
        if isinstance(num_ctx, int) and not 2048 <= num_ctx <= 262144:
            check.add(check.line_of(spec, "num_ctx"), f"{path}.num_ctx", "must be between 2048 and 262144")
            num_ctx = None
        system = check.value(spec, "system", path, str, required=True, hint="the system prompt")
        params = spec.get("parameters") or {}
        if not isinstance(params, dict):
            check.add(check.line_of(spec, "parameters"), f"{path}.parameters", "must be a mapping")
            params = {}
        clean: dict[str, Any] = {}
        for key, value in params.items():
            if key == "num_ctx":
                check.add(
                    check.line_of(params, key),
                    f"{path}.parameters.num_ctx",
                    "set num_ctx on the profile itself, not under parameters",
                )
            elif not isinstance(value, str | int | float | list) or isinstance(value, bool):
                check.add(
                    check.line_of(params, key),
                    f"{path}.parameters.{key}",
                    "must be a number, text or a list of text",
                )
            else:
                clean[str(key)] = list(value) if isinstance(value, list) else value
        if base and num_ctx and system:
            profiles[name] = Profile(name, base, num_ctx, system, clean)
    return profiles


def _runner(
    check: _Checker, spec: CommentedMap, path: str, node: str, os_name: str, repos: list[str]
) -> RunnerSpec | None:
    check.keys(
        spec,
        path,
        ("scope", "repo", "name", "labels", "user", "directory", "work_folder", "ephemeral", "group", "role"),
    )
    scope = check.value(spec, "scope", path, str, default="repo", choices=RUNNER_SCOPES)
    repo = check.value(spec, "repo", path, str)
    if scope == "repo":
        if repo is None:
            check.add(
                check.line_of(spec),
                f"{path}.repo",
                f"is required when scope is repo; use one of github.repos: {', '.join(repos) or '(none)'}",
            )
        elif repo not in repos:
            check.add(
                check.line_of(spec, "repo"),
                f"{path}.repo",
                f"{repo!r} is not in github.repos; use one of: {', '.join(repos) or '(none)'}",
            )
    elif repo is not None:
        check.add(check.line_of(spec, "repo"), f"{path}.repo", "only allowed with scope: repo")
    name = check.value(spec, "name", path, str, default=node, pattern=LABEL_RE, hint="letters, digits, . _ -")
    labels = check.string_list(
        spec, "labels", path, pattern=LABEL_RE, hint="letters, digits, '.', '_' and '-', up to 64 characters"
    )
    for index, label in enumerate(labels):
        if label.lower() in ("self-hosted", "linux", "macos", "windows", "x64", "arm64"):
            check.add(
                check.line_of(spec["labels"], index),
                f"{path}.labels[{index}]",
                f"{label!r} is a default label GitHub adds itself; list only extra labels",
            )
    user = check.value(
        spec,
        "user",
        path,
        str,
        default="github-runner",
        pattern=re.compile(r"[a-z_][a-z0-9_-]{0,31}"),
        hint="a system user name",
    )
    if user == "root":
        check.add(
            check.line_of(spec, "user"),
            f"{path}.user",
            "the runner must not run as root; use a dedicated user such as github-runner",
        )
    default_dir = {
        "linux": "/opt/actions-runner",
        "macos": "/Users/Shared/actions-runner",
        "windows": "C:\\actions-runner",
    }[os_name]
    directory = check.value(spec, "directory", path, str, default=default_dir)
    if isinstance(directory, str) and (problem := path_problem(directory, windows=os_name == "windows")):
        check.add(check.line_of(spec, "directory"), f"{path}.directory", problem)
        directory = None
    work = check.value(
        spec,
        "work_folder",
        path,
        str,
        default="_work",
        pattern=re.compile(r"(?!\.\.?\Z)[A-Za-z0-9._-]{1,64}"),
        hint="a folder name inside the runner folder, e.g. _work",
    )
    ephemeral = check.value(spec, "ephemeral", path, bool, default=False)
    group = check.value(spec, "group", path, str, default="Default")
    role = check.value(spec, "role", path, str, default="general", choices=RUNNER_ROLES)
    if scope is None or name is None or user is None or user == "root" or directory is None or work is None:
        return None
    return RunnerSpec(
        scope,
        repo if scope == "repo" else None,
        name,
        tuple(labels),
        user,
        directory,
        work,
        bool(ephemeral) or role == "ci",
        group,
        role or "general",
    )


def _ollama(
    check: _Checker, spec: CommentedMap, path: str, models: dict[str, Model], profiles: dict[str, Profile]
) -> OllamaSpec:
    check.keys(spec, path, ("url", "models", "profiles"))
    url = check.value(
        spec,
        "url",
        path,
        str,
        default="http://127.0.0.1:11434",
        hint="e.g. http://127.0.0.1:11434",
    )
    if isinstance(url, str) and (problem := url_problem(url, https_unless_loopback=False)):
        check.add(check.line_of(spec, "url"), f"{path}.url", problem)
        url = None
    names = check.string_list(spec, "models", path)
    for index, name in enumerate(names):
        if name not in models:
            check.add(
                check.line_of(spec["models"], index),
                f"{path}.models[{index}]",
                f"{name!r} is not listed under models; use one of: {', '.join(models) or '(none)'}",
            )
    wanted = check.string_list(spec, "profiles", path)
    for index, name in enumerate(wanted):
        if name not in profiles:
            check.add(
                check.line_of(spec["profiles"], index),
                f"{path}.profiles[{index}]",
                f"{name!r} is not listed under profiles; use one of: {', '.join(profiles) or '(none)'}",
            )
        elif profiles[name].base not in names:
            check.add(
                check.line_of(spec["profiles"], index),
                f"{path}.profiles[{index}]",
                f"profile {name!r} is made from {profiles[name].base!r}; add that model to {path}.models",
            )
    return OllamaSpec(url or "http://127.0.0.1:11434", tuple(names), tuple(wanted))


def _nodes(
    check: _Checker,
    data: CommentedMap,
    models: dict[str, Model],
    profiles: dict[str, Profile],
    repos: list[str],
) -> dict[str, Node]:
    section = check.mapping(data, "nodes", "nodes")
    nodes: dict[str, Node] = {}
    if section is None:
        return nodes
    if not section:
        check.add(check.line_of(data, "nodes"), "nodes", "lists no machine; add at least one node")
    for name, spec, path in check.entries(
        section,
        "nodes",
        NAME_RE,
        "node names use lower-case a-z, 0-9 and '-'",
        "must be a mapping (os, arch, memory_gb, roles, ...)",
    ):
        check.keys(
            spec,
            path,
            (
                "host",
                "os",
                "arch",
                "memory_gb",
                "gpu_vram_gb",
                "roles",
                "runner",
                "ollama",
                "apps_dir",
                "deploy_user",
            ),
        )
        os_name = check.value(spec, "os", path, str, required=True, choices=OSES)
        arch = check.value(spec, "arch", path, str, required=True, choices=ARCHES)
        memory = check.value(spec, "memory_gb", path, (int, float), required=True, hint="RAM in GB, e.g. 64")
        if isinstance(memory, int | float) and not (math.isfinite(memory) and memory > 0):
            check.add(check.line_of(spec, "memory_gb"), f"{path}.memory_gb", "must be a finite number above 0")
            memory = None
        vram = check.value(spec, "gpu_vram_gb", path, (int, float))
        if isinstance(vram, int | float) and not (math.isfinite(vram) and vram > 0):
            check.add(check.line_of(spec, "gpu_vram_gb"), f"{path}.gpu_vram_gb", "must be a finite number above 0")
            vram = None
        # A host name goes into URLs, ssh and unit files: the DNS alphabet or a bracketed IPv6 only.
        host = check.value(spec, "host", path, str, pattern=HOST_RE, hint="a host name such as chronos.lan")
        roles = check.string_list(spec, "roles", path, required=True, choices=ROLES)
        runner = None
        if "runner" in spec:
            runner_spec = check.mapping(spec, "runner", f"{path}.runner")
            if runner_spec is not None and os_name:
                runner = _runner(check, runner_spec, f"{path}.runner", name, os_name, repos)
        elif "runner" in roles or "production" in roles:
            check.add(
                check.line_of(spec),
                f"{path}.runner",
                "is required for roles runner/production (at least: scope and repo)",
            )
        ollama = None
        if "ollama" in spec:
            ollama_spec = check.mapping(spec, "ollama", f"{path}.ollama")
            if ollama_spec is not None:
                ollama = _ollama(check, ollama_spec, f"{path}.ollama", models, profiles)
        elif any(role in roles for role in OLLAMA_ROLES):
            check.add(
                check.line_of(spec),
                f"{path}.ollama",
                f"is required for roles {', '.join(OLLAMA_ROLES)} (at least: models)",
            )
        apps_dir = check.value(
            spec, "apps_dir", path, str, default="/home/chronos/apps" if "production" in roles else None
        )
        if isinstance(apps_dir, str) and (problem := path_problem(apps_dir)):
            check.add(check.line_of(spec, "apps_dir"), f"{path}.apps_dir", problem)
        # Deploy jobs run as the runner's user, so on a production node they are one and the same.
        runner_user = runner.user if runner else None
        deploy_user = check.value(
            spec, "deploy_user", path, str, default=runner_user if "production" in roles else None
        )
        if "production" in roles and runner_user and deploy_user != runner_user:
            check.add(
                check.line_of(spec, "deploy_user"),
                f"{path}.deploy_user",
                f"deploy jobs run as the runner's user; set it to {runner_user!r} (runner.user) or change runner.user",
            )
        if "production" in roles and os_name not in (None, "linux"):
            check.add(
                check.line_of(spec, "roles"),
                f"{path}.roles",
                "the production role needs os: linux (Docker Engine, nginx, systemd)",
            )
        if os_name and arch and memory and roles:
            nodes[name] = Node(
                name,
                os_name,
                arch,
                float(memory),
                tuple(roles),
                host,
                runner,
                ollama,
                apps_dir,
                deploy_user,
                float(vram) if vram else None,
            )
    return nodes


def _review(
    check: _Checker,
    data: CommentedMap,
    models: dict[str, Model],
    nodes: dict[str, Node],
    profiles: dict[str, Profile],
) -> ReviewPolicy | None:
    spec = check.mapping(data, "review", "review", required=False)
    if spec is None:
        return None
    path = "review"
    check.keys(spec, path, ("node", "model", "author_models", "language", "repos", "status_check"))
    review_repos = check.string_list(spec, "repos", path, pattern=REPO_RE, hint="repository names, no owner")
    status_check = check.value(spec, "status_check", path, bool, default=False)
    node = check.value(spec, "node", path, str, required=True, hint="the node that runs reviews")
    model = check.value(spec, "model", path, str, required=True, hint="the model that reviews")
    authors = check.string_list(spec, "author_models", path, required=True)
    language = check.value(spec, "language", path, str, default="ja", choices=LANGUAGES)
    if node is not None and node not in nodes and node in [str(n) for n in data.get("nodes") or {}]:
        node = None  # the node itself is invalid and already reported
    elif node is not None and node not in nodes:
        check.add(
            check.line_of(spec, "node"),
            "review.node",
            f"{node!r} is not a node of this inventory; use one of: {', '.join(nodes)}",
        )
        node = None
    known = set(models) | set(profiles)
    if model is not None and model not in known:
        check.add(
            check.line_of(spec, "model"),
            "review.model",
            f"{model!r} is not listed under models or profiles; use one of: {', '.join(sorted(known))}",
        )
        model = None
    for index, name in enumerate(authors):
        if name not in known:
            check.add(
                check.line_of(spec["author_models"], index),
                f"review.author_models[{index}]",
                f"{name!r} is not listed under models or profiles; use one of: {', '.join(sorted(known))}",
            )
    if node and model and nodes[node].ollama is not None:
        base = profiles[model].base if model in profiles else model
        if base not in nodes[node].ollama.models:
            check.add(
                check.line_of(spec, "model"),
                "review.model",
                f"{base!r} is not among nodes.{node}.ollama.models; add it there",
            )
    if node is None or model is None:
        return None
    policy = ReviewPolicy(node, model, tuple(authors), language or "ja", tuple(review_repos), bool(status_check))
    for message in review_policy_violations(policy, models, profiles):
        check.add(check.line_of(spec, "model"), "review.model", message)
    return policy


def _runner_roles(check: _Checker, data: CommentedMap, nodes: dict[str, Node]) -> None:
    """CI runners never share a label or a user with the deploy runner, so a CI job cannot land there."""
    deploy_labels = {DEPLOY_LABEL.lower()}
    deploy_users = set()
    for node in nodes.values():
        if node.runner and (node.runner.role == "deploy" or node.has("production")):
            deploy_labels |= {label.lower() for label in node.runner.labels}
            deploy_users |= {node.runner.user, node.deploy_user or node.runner.user}
    for node in nodes.values():
        spec = node.runner
        if spec is None or spec.role != "ci":
            continue
        raw = data["nodes"][node.name]["runner"]
        path = f"nodes.{node.name}.runner"
        for index, label in enumerate(spec.labels):
            if label.lower() in deploy_labels:
                check.add(
                    check.line_of(raw["labels"], index),
                    f"{path}.labels[{index}]",
                    f"{label!r} is a label of the deploy runner, so a CI job could run there or a deploy job "
                    "here; give CI runners labels of their own",
                )
        if spec.user in deploy_users:
            check.add(
                check.line_of(raw, "user") or check.line_of(raw),
                f"{path}.user",
                f"{spec.user!r} is the deploy user; CI runners need a user of their own with no access to "
                "production files or the Docker socket, e.g. studio-ci",
            )


def base_model(name: str, profiles: dict[str, Profile]) -> str:
    """The model a name runs on: a profile's `from`, or the model itself."""
    return profiles[name].base if name in profiles else name


def review_policy_violations(
    policy: ReviewPolicy,
    models: dict[str, Model],
    profiles: dict[str, Profile],
    families: dict[str, str] | None = None,
) -> list[str]:
    """Why the reviewer is too close to an author model (same base model or family); empty when fine.

    `families` maps model names to families observed on a live server (/api/show details.family) and
    takes precedence over the inventory's own claim.
    """
    families = families or {}

    def family(model: str) -> str:
        # Ollama's family (live, else the inventory's) or, failing both, the one the name implies.
        found = families.get(model) or (models[model].family if model in models else None)
        return found or model_names.model_family(model)

    def same_family(a: str, b: str) -> bool:
        def key(name: str) -> str:
            return re.sub(r"[^a-z0-9]", "", family(name).lower())

        return key(a) == key(b) or model_names.same_family(a, b)

    problems = []
    reviewer = base_model(policy.model, profiles)
    for author in policy.author_models:
        written_by = base_model(author, profiles)
        if written_by == reviewer or model_names.same_base_model(written_by, reviewer):
            problems.append(
                f"the reviewer {policy.model!r} runs on {reviewer!r}, the same model that writes "
                f"code ({author!r}); pick a reviewer from another family"
            )
        elif same_family(reviewer, written_by):
            problems.append(
                f"the reviewer {policy.model!r} ({reviewer}) is of the family {family(reviewer)!r} "
                f"like the author model {author!r} ({written_by}); pick a reviewer from another family"
            )
    return problems


def _backup(check: _Checker, data: CommentedMap, nodes: dict[str, Node]) -> BackupTarget | None:
    spec = check.mapping(data, "backup", "backup", required=False)
    if spec is None:
        return None
    path = "backup"
    check.keys(spec, path, ("node", "user", "path", "port"))
    node = check.value(spec, "node", path, str, required=True, hint="the machine that keeps the backups")
    user = check.value(
        spec, "user", path, str, default="studio-backup", pattern=re.compile(r"[a-z_][a-z0-9_-]{0,31}"),
        hint="a system user name (an SFTP-only user on that machine)",
    )
    folder = check.value(spec, "path", path, str, default="/srv/backups")
    port = check.value(spec, "port", path, int, default=22)
    if isinstance(folder, str) and (problem := path_problem(folder)):
        check.add(check.line_of(spec, "path"), "backup.path", problem)
        folder = None
    if isinstance(port, int) and not 0 < port < 65536:
        check.add(check.line_of(spec, "port"), "backup.port", f"{port} is not a port; use 1-65535")
        port = None
    target = nodes.get(node) if isinstance(node, str) else None
    if isinstance(node, str) and target is None:
        check.add(check.line_of(spec, "node"), "backup.node", f"{node!r} is not a node; use one of: {', '.join(nodes)}")
    elif target is not None and target.has("production"):
        check.add(
            check.line_of(spec, "node"), "backup.node",
            f"{node!r} is the production machine: a backup there dies with it; name another machine of the lab",
        )
        target = None
    elif target is not None and not target.host:
        check.add(check.line_of(spec, "node"), "backup.node", f"nodes.{node}.host is needed to reach it over SFTP")
        target = None
    if target is None or not user or not folder or not port:
        return None
    return BackupTarget(target.name, str(target.host), user, folder, port)


def load_inventory(path: str | os.PathLike[str]) -> Inventory:
    """Read and validate an inventory; raise InventoryError listing every problem."""
    path = Path(path)
    file = str(path)
    data = _load_yaml(path)
    check = _Checker(file)
    if not isinstance(data, CommentedMap):
        raise InventoryError([Problem(file, 1, "", "must be a YAML mapping with version, github, models, nodes")])
    top_level = ("version", "github", "models", "profiles", "nodes", "review", "fleet", "backup", "monitoring")
    check.keys(data, "", top_level)
    version = check.value(data, "version", "", int, required=True, hint=f"use version: {SCHEMA_VERSION}")
    if version is not None and version != SCHEMA_VERSION:
        check.add(
            check.line_of(data, "version"),
            "version",
            f"{version} is not supported; this devops-studio reads version {SCHEMA_VERSION}",
        )
    github = check.mapping(data, "github", "github")
    owner, repos, api_url = "", [], "https://api.github.com"
    if github is not None:
        check.keys(github, "github", ("owner", "repos", "api_url"))
        owner = (
            check.value(
                github,
                "owner",
                "github",
                str,
                required=True,
                pattern=GH_NAME_RE,
                hint="a GitHub user or organization name",
            )
            or ""
        )
        repos = check.string_list(github, "repos", "github", pattern=REPO_RE, hint="repository names, no owner")
        api_url = check.value(
            github,
            "api_url",
            "github",
            str,
            default=api_url,
            hint="e.g. https://api.github.com",
        )
        if isinstance(api_url, str) and (problem := url_problem(api_url, https_unless_loopback=True)):
            check.add(check.line_of(github, "api_url"), "github.api_url", problem)
            api_url = "https://api.github.com"
    models = _models(check, data)
    profiles = _profiles(check, data, models)
    nodes = _nodes(check, data, models, profiles, repos)
    review = _review(check, data, models, nodes, profiles)
    _runner_roles(check, data, nodes)
    backup = _backup(check, data, nodes)
    trusted: list[str] = []
    fleet = check.mapping(data, "fleet", "fleet", required=False)
    if fleet is not None:
        check.keys(fleet, "fleet", ("trusted_templates",))
        trusted = check.string_list(fleet, "trusted_templates", "fleet", hint="template URLs or paths; * and ** match")
    if check.problems:
        raise InventoryError(check.problems)
    return Inventory(path, owner, tuple(repos), api_url.rstrip("/"), models, profiles, nodes, review,
                     tuple(trusted), backup)


def find_inventory(explicit: str | None = None) -> Path:
    """--inventory, else $DEVOPS_STUDIO_INVENTORY, else ./studio.yml."""
    return Path(explicit or os.environ.get("DEVOPS_STUDIO_INVENTORY") or DEFAULT_INVENTORY)
