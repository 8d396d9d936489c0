"""The inventory as the rest of devops-studio uses it: frozen dataclasses with every default filled in.

`schema.py` declares what the file may hold; `load.py` turns a validated file into these objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


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
class ReviewPolicy:
    node: str
    model: str
    author_models: tuple[str, ...]
    language: str
    repos: tuple[str, ...] = ()  # repositories the review node reviews (default: github.repos)
    status_check: bool = False  # post the commit status `llm-review`


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
