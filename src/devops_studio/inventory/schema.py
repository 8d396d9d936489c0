"""The declared shape of `studio.yml`: pydantic models that type and check every field on its own.

Types are strict (no integer where text is wanted, no boolean from "yes", no nan or inf), unknown keys
are refused, and every pattern is matched against the whole string. Rules that relate one field to
another (a runner's repo is one of github.repos, the reviewer is not of the author's family, ...) live
in `policy.py`. `json_schema()` publishes these models for editors (`devops-studio inventory schema`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainValidator, WithJsonSchema, model_validator
from pydantic_core import PydanticCustomError

from devops_studio.validation import POSIX_PATH_RE, WINDOWS_PATH_RE, full_match, path_problem, url_problem

SCHEMA_VERSION = 1
ROLES = ("production", "runner", "dev", "review", "gpu", "build")
OSES = ("linux", "macos", "windows")
ARCHES = ("x64", "arm64")
RUNNER_SCOPES = ("repo", "org")
RUNNER_ROLES = ("deploy", "ci", "general")
LANGUAGES = ("ja", "en")
DEFAULT_LABELS = ("self-hosted", "linux", "macos", "windows", "x64", "arm64")  # GitHub adds these itself

NAME_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
LABEL_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
MODEL_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,127}(/[a-z0-9._-]{1,127})?(:[A-Za-z0-9._-]{1,127})?")
GH_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}")
REPO_RE = re.compile(r"(?!\.\.?\Z)[A-Za-z0-9._-]{1,100}")  # GitHub refuses "." and ".."
USER_RE = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
GROUP_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,63}")
WORK_RE = re.compile(r"(?!\.\.?\Z)[A-Za-z0-9._-]{1,64}")
FAMILY_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
HOST_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})")
TEMPLATE_RE = re.compile(r"[^\x00-\x20\x7f]{1,1000}")  # a URL, a path or a glob: no spaces or controls
MAX_SYSTEM_CHARS = 65536


class Hint:
    """How to fix a field, appended to its error messages: `<problem>; <hint>`."""

    def __init__(self, text: str):
        self.text = text


def refuse(message: str) -> PydanticCustomError:
    """A validation error whose message is `message` as written."""
    return PydanticCustomError("inventory", "{problem}", {"problem": message})


def shown(value: Any) -> str:
    """`value` for a message: its repr, cut short when long."""
    text = repr(value)
    return text if len(text) <= 80 else text[:60] + f"...' ({len(value) if isinstance(value, str) else '?'} chars)"


def _matching(pattern: re.Pattern[str], fix: str, js: str | None = None) -> Any:
    """Text that matches `pattern` as a whole; the JSON Schema carries the same rule as `js`."""

    def check(value: str) -> str:
        if not full_match(pattern, value):
            raise refuse(f"{shown(value)} is not valid; {fix}")
        return value

    return Annotated[
        str, AfterValidator(check), WithJsonSchema({"type": "string", "pattern": js or f"^(?:{pattern.pattern})$"})
    ]


def _checked(problem: Callable[[str], str | None], js: dict[str, Any]) -> Any:
    """Text for which `problem` finds nothing to say."""

    def check(value: str) -> str:
        if found := problem(value):
            raise refuse(found)
        return value

    return Annotated[str, AfterValidator(check), WithJsonSchema({"type": "string", **js})]


def _unique(items: list[Any]) -> list[Any]:
    for index, item in enumerate(items):
        if item in items[:index]:
            raise PydanticCustomError(
                "inventory_item", "{problem}", {"problem": f"{item!r} is listed twice", "index": index}
            )
    return items


def _unique_list(item: Any) -> Any:
    return Annotated[list[item], AfterValidator(_unique), Field(json_schema_extra={"uniqueItems": True})]


Name = _matching(NAME_RE, "use lower-case a-z, 0-9 and '-', up to 63 characters")
ModelName = _matching(MODEL_RE, "an Ollama model name such as gpt-oss:20b")
RepoName = _matching(REPO_RE, "repository names, no owner", js=r"^(?!\.\.?$)[A-Za-z0-9._-]{1,100}$")
Label = _matching(LABEL_RE, "letters, digits, '.', '_' and '-', up to 64 characters")
UserName = _matching(USER_RE, "a system user name (a-z, 0-9, '_' and '-')")
Size = Annotated[float, Field(gt=0, allow_inf_nan=False), Hint("a size in GB above 0, e.g. 64")]


def _key(pattern: re.Pattern[str], problem: str) -> Any:
    def check(value: str) -> str:
        if not full_match(pattern, value):
            raise refuse(problem)
        return value

    return Annotated[
        str, AfterValidator(check), WithJsonSchema({"type": "string", "pattern": f"^(?:{pattern.pattern})$"})
    ]


NodeKey = _key(NAME_RE, "node names use lower-case a-z, 0-9 and '-'")
ProfileKey = _key(NAME_RE, "profile names use a-z, 0-9 and '-'")
ModelKey = _key(MODEL_RE, "is not a valid Ollama model name (e.g. gpt-oss:20b)")


def _runner_label(value: str) -> str:
    if value.lower() in DEFAULT_LABELS:
        raise refuse(f"{value!r} is a default label GitHub adds itself; list only extra labels")
    return value


def _not_root(value: str) -> str:
    if value == "root":
        raise refuse("the runner must not run as root; use a dedicated user such as github-runner")
    return value


def _parameter_key(value: str) -> str:
    if value == "num_ctx":
        raise refuse("set num_ctx on the profile itself, not under parameters")
    return value


def _parameter_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        raise refuse(f"must be a finite number, not {value!r}")
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise refuse(f"must be a number, text or a list of text, not {shown(value)}")
    return value


ParameterValue = Annotated[
    Any,
    PlainValidator(_parameter_value),
    WithJsonSchema({"anyOf": [{"type": "number"}, {"type": "string"}, {"type": "array", "items": {"type": "string"}}]}),
]
RunnerDirectory = _checked(
    lambda value: (
        None
        if full_match(POSIX_PATH_RE, value) or full_match(WINDOWS_PATH_RE, value)
        else "must be an absolute path of letters, digits and . _ - / (C:\\ and \\ on Windows), "
        "with no quotes or newlines, e.g. /opt/actions-runner"
    ),
    {"anyOf": [{"pattern": f"^{POSIX_PATH_RE.pattern}$"}, {"pattern": f"^{WINDOWS_PATH_RE.pattern}$"}]},
)
AppsDir = _checked(path_problem, {"pattern": f"^{POSIX_PATH_RE.pattern}$"})
GitHubApi = _checked(
    lambda value: url_problem(value, https_unless_loopback=True), {"format": "uri", "pattern": "^https?://[^@\\s]+$"}
)
OllamaUrl = _checked(
    lambda value: url_problem(value, https_unless_loopback=False), {"format": "uri", "pattern": "^https?://[^@\\s]+$"}
)


def _version(value: int) -> int:
    if value != SCHEMA_VERSION:
        raise refuse(f"{value} is not supported; this devops-studio reads version {SCHEMA_VERSION}")
    return value


def _some_nodes(nodes: dict[str, Any]) -> dict[str, Any]:
    if not nodes:
        raise refuse("lists no machine; add at least one node")
    return nodes


class Section(BaseModel):
    """A mapping of the inventory: strict types, no unknown keys, an empty value is the same as none."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _empty_is_absent(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if value is not None}
        return data


class GitHub(Section):
    """Where the app repositories live."""

    owner: Annotated[
        _matching(GH_NAME_RE, "a GitHub user or organization name"),
        Field(description="GitHub user or organization that owns the app repositories.", examples=["chronos-lab"]),
        Hint("a GitHub user or organization name"),
    ]
    repos: Annotated[
        _unique_list(RepoName),
        Field(description="The app repositories (names only, no owner)."),
    ] = []
    api_url: Annotated[
        GitHubApi,
        Field(description="The GitHub REST API; https unless loopback, no credentials (GitHub Enterprise Server)."),
        Hint("e.g. https://api.github.com"),
    ] = "https://api.github.com"


class ModelSpec(Section):
    """A model a node may pull."""

    family: Annotated[
        _matching(FAMILY_RE, "the family Ollama reports, e.g. gptoss"),
        Field(description="The family Ollama reports in /api/show details.family; the review policy compares it."),
        Hint("the model family, e.g. gptoss"),
    ]
    memory_gb: Annotated[Size, Field(description="GB the model needs loaded (weights and a working context).")]
    fallback: Annotated[
        ModelName,
        Field(description="The model pulled instead on a node whose memory is too small (one of models)."),
    ] = None


class ProfileSpec(Section):
    """An Ollama profile made with /api/create."""

    base: Annotated[
        ModelName,
        Field(alias="from", description="The model the profile is made from (one of models)."),
        Hint("a model listed under models"),
    ]
    num_ctx: Annotated[
        int,
        Field(ge=2048, le=262144, description="Context length in tokens; Ollama cuts longer prompts silently."),
        Hint("context length in tokens between 2048 and 262144, e.g. 32768"),
    ]
    system: Annotated[
        str, Field(max_length=MAX_SYSTEM_CHARS, description="The system prompt."), Hint("the system prompt")
    ]
    parameters: Annotated[
        dict[Annotated[str, AfterValidator(_parameter_key)], ParameterValue],
        Field(
            description="Ollama parameters such as temperature or top_p (num_ctx goes on the profile).",
            json_schema_extra={"propertyNames": {"not": {"const": "num_ctx"}}},
        ),
    ] = {}


class RunnerSection(Section):
    """The GitHub Actions runner of a node."""

    scope: Annotated[
        Literal[RUNNER_SCOPES], Field(description="repo: a repository's runner; org: an organization's.")
    ] = "repo"
    repo: Annotated[RepoName, Field(description="With scope repo: the repository (one of github.repos).")] = None
    name: Annotated[Label, Field(description="The runner's name on GitHub (default: the node name).")] = None
    labels: Annotated[
        _unique_list(Annotated[Label, AfterValidator(_runner_label)]),
        Field(description="Extra labels; GitHub adds self-hosted, the OS and the architecture itself."),
    ] = []
    user: Annotated[
        Annotated[UserName, AfterValidator(_not_root)],
        Field(description="The system user the runner runs as; never root."),
    ] = "github-runner"
    directory: Annotated[
        RunnerDirectory,
        Field(
            description="Where the runner is installed (default: /opt/actions-runner, "
            "/Users/Shared/actions-runner or C:\\actions-runner)."
        ),
    ] = None
    work_folder: Annotated[
        _matching(
            WORK_RE, "a folder name inside the runner folder, e.g. _work", js=r"^(?!\.\.?$)[A-Za-z0-9._-]{1,64}$"
        ),
        Field(description="The jobs' work folder inside the runner folder."),
    ] = "_work"
    ephemeral: Annotated[bool, Field(description="Take one job, then unregister (ci runners always are).")] = False
    group: Annotated[
        _matching(GROUP_RE, "letters, digits, '.', '_' and '-'"),
        Field(description="The runner group (scope org)."),
    ] = "Default"
    role: Annotated[
        Literal[RUNNER_ROLES],
        Field(
            description="deploy: the production runner; ci: one-job runners sharing no label or user with "
            "the deploy runner; general: anything else."
        ),
    ] = "general"


class OllamaSection(Section):
    """The Ollama server of a node."""

    url: Annotated[OllamaUrl, Field(description="The Ollama API."), Hint("e.g. http://127.0.0.1:11434")] = (
        "http://127.0.0.1:11434"
    )
    models: Annotated[_unique_list(ModelName), Field(description="Models to pull (from models).")] = []
    profiles: Annotated[_unique_list(Name), Field(description="Profiles to create (from profiles).")] = []


class NodeSpec(Section):
    """A machine of the home lab."""

    host: Annotated[
        _matching(HOST_RE, "a host name such as chronos.lan"), Field(description="The host name, e.g. chronos.lan.")
    ] = None
    os: Annotated[Literal[OSES], Field(description="The operating system.")]
    arch: Annotated[Literal[ARCHES], Field(description="The CPU architecture.")]
    memory_gb: Annotated[Size, Field(description="RAM in GB."), Hint("RAM in GB, e.g. 64")]
    gpu_vram_gb: Annotated[Size, Field(description="GPU memory in GB.")] = None
    roles: Annotated[
        _unique_list(Literal[ROLES]),
        Field(min_length=1, description="What the machine does: production, runner, dev, review, gpu, build."),
    ]
    runner: Annotated[RunnerSection, Field(description="Required for the roles runner and production.")] = None
    ollama: Annotated[OllamaSection, Field(description="Required for the roles dev, review and gpu.")] = None
    apps_dir: Annotated[
        AppsDir, Field(description="Where the apps are deployed (production; default /home/chronos/apps).")
    ] = None
    deploy_user: Annotated[
        UserName, Field(description="The user deploy jobs run as: on production, the runner's user.")
    ] = None


class ReviewSection(Section):
    """Who reviews pull requests, and with which model."""

    node: Annotated[Name, Field(description="The node that runs reviews."), Hint("the node that runs reviews")]
    model: Annotated[ModelName, Field(description="The model or profile that reviews."), Hint("the model that reviews")]
    author_models: Annotated[
        _unique_list(ModelName),
        Field(description="Models and profiles that write code; the reviewer must be of another family."),
    ]
    language: Annotated[Literal[LANGUAGES], Field(description="The language of the reviews.")] = "ja"
    repos: Annotated[_unique_list(RepoName), Field(description="Repositories reviewed (default: github.repos).")] = []
    status_check: Annotated[bool, Field(description="Post the commit status llm-review.")] = False


class FleetSection(Section):
    """Settings of `devops-studio fleet`."""

    trusted_templates: Annotated[
        _unique_list(_matching(TEMPLATE_RE, "a template URL or path; * and ** match", js=r"^[^\s]{1,1000}$")),
        Field(description="Template sources the fleet may run; * and ** match."),
    ] = []


class BackupSection(Section):
    """The lab machine that keeps the production box's backups (restic over SFTP)."""

    node: Annotated[Name, Field(description="The node that keeps the backups; not the production node."),
                    Hint("the machine that keeps the backups")]
    user: Annotated[UserName, Field(description="An SFTP-only user there that holds the production box's key.")] = (
        "studio-backup"
    )
    path: Annotated[AppsDir, Field(description="Each app's restic repository is <path>/<app>.")] = "/srv/backups"
    port: Annotated[int, Field(ge=1, le=65535, description="The SFTP (ssh) port.")] = 22


class StudioFile(Section):
    """devops-studio inventory (studio.yml): the machines of the home lab and what each one does."""

    model_config = ConfigDict(title="studio.yml")

    version: Annotated[
        int,
        AfterValidator(_version),
        Field(description="The inventory format.", json_schema_extra={"const": SCHEMA_VERSION}),
        Hint(f"use version: {SCHEMA_VERSION}"),
    ]
    github: Annotated[GitHub, Field(description="Where the app repositories live.")]
    models: Annotated[dict[ModelKey, ModelSpec], Field(description="Every model a node may pull, by Ollama name.")]
    profiles: Annotated[dict[ProfileKey, ProfileSpec], Field(description="Ollama profiles made with /api/create.")] = {}
    nodes: Annotated[
        dict[NodeKey, NodeSpec],
        AfterValidator(_some_nodes),
        Field(description="The machines, by name.", json_schema_extra={"minProperties": 1}),
    ]
    review: Annotated[ReviewSection, Field(description="Who reviews pull requests.")] = None
    fleet: Annotated[FleetSection, Field(description="Settings of devops-studio fleet.")] = None
    backup: Annotated[BackupSection, Field(description="Where the production box's backups go.")] = None
    # Checked in full by devops_studio.monitoring.config, which owns this section.
    monitoring: Annotated[dict[str, Any], Field(description="The monitoring stack (docs/monitoring.md).")] = None


def json_schema() -> dict[str, Any]:
    """The JSON Schema of studio.yml, for editors (yaml-language-server) and other tools."""
    schema = StudioFile.model_json_schema(by_alias=True)
    _tidy(schema)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def _tidy(node: Any) -> None:
    """Keyed sections refuse keys their pattern does not match; `null` defaults mean "absent"."""
    if isinstance(node, dict):
        if "patternProperties" in node:
            node.setdefault("additionalProperties", False)
        if node.get("default", ...) is None:
            del node["default"]
        for value in node.values():
            _tidy(value)
    elif isinstance(node, list):
        for value in node:
            _tidy(value)
