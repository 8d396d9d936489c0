"""load_inventory: read `studio.yml`, check it against the schema and the policy, and build the Inventory."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import ValidationError

from devops_studio.inventory import policy
from devops_studio.inventory.errors import InventoryError, Problem
from devops_studio.inventory.messages import problems_of
from devops_studio.inventory.schema import NodeSpec, StudioFile
from devops_studio.inventory.source import read_source
from devops_studio.inventory.types import (
    BackupTarget,
    Inventory,
    Model,
    Node,
    OllamaSpec,
    Profile,
    ReviewPolicy,
    RunnerSpec,
)

DEFAULT_INVENTORY = "studio.yml"
RUNNER_DIRECTORIES = {
    "linux": "/opt/actions-runner",
    "macos": "/Users/Shared/actions-runner",
    "windows": "C:\\actions-runner",
}
DEFAULT_APPS_DIR = "/home/chronos/apps"


def load_inventory(path: str | os.PathLike[str]) -> Inventory:
    """Read and validate an inventory; raise InventoryError listing every problem.

    The schema's problems are all reported together; the rules between fields (policy.py) are checked
    once every field has the right type, so a wrong value is not reported twice over.
    """
    path = Path(path)
    source = read_source(path)
    if not isinstance(source.data, dict):
        raise InventoryError(
            [Problem(source.file, 1, "", "must be a YAML mapping with version, github, models, nodes")]
        )
    try:
        spec = StudioFile.model_validate(source.data)
    except ValidationError as error:
        raise InventoryError(problems_of(error, source)) from None
    if found := policy.check(spec):
        problems = [source.problem(loc, message) for loc, message in found]
        raise InventoryError(sorted(dict.fromkeys(problems), key=lambda p: (p.line, p.key)))
    return build(path, spec)


def build(path: Path, spec: StudioFile) -> Inventory:
    """The Inventory of a validated file, every default filled in."""
    models = {name: Model(name, m.family, float(m.memory_gb), m.fallback) for name, m in spec.models.items()}
    profiles = {
        name: Profile(name, p.base, p.num_ctx, p.system, dict(p.parameters)) for name, p in spec.profiles.items()
    }
    nodes = {name: _node(name, node) for name, node in spec.nodes.items()}
    review = None
    if spec.review is not None:
        r = spec.review
        review = ReviewPolicy(r.node, r.model, tuple(r.author_models), r.language, tuple(r.repos), r.status_check)
    trusted = tuple(spec.fleet.trusted_templates) if spec.fleet else ()
    github = spec.github
    backup = None
    if spec.backup is not None:
        b = spec.backup
        backup = BackupTarget(b.node, str(nodes[b.node].host), b.user, b.path, b.port)
    return Inventory(
        path, github.owner, tuple(github.repos), github.api_url.rstrip("/"), models, profiles, nodes, review, trusted,
        backup,
    )


def _node(name: str, node: NodeSpec) -> Node:
    production = "production" in node.roles
    runner = None
    if node.runner is not None:
        r = node.runner
        runner = RunnerSpec(
            r.scope,
            r.repo if r.scope == "repo" else None,
            r.name or name,
            tuple(r.labels),
            r.user,
            r.directory or RUNNER_DIRECTORIES[node.os],
            r.work_folder,
            r.ephemeral or r.role == "ci",
            r.group,
            r.role,
        )
    ollama = None
    if node.ollama is not None:
        ollama = OllamaSpec(node.ollama.url, tuple(node.ollama.models), tuple(node.ollama.profiles))
    return Node(
        name,
        node.os,
        node.arch,
        float(node.memory_gb),
        tuple(node.roles),
        node.host,
        runner,
        ollama,
        node.apps_dir or (DEFAULT_APPS_DIR if production else None),
        node.deploy_user or (runner.user if production and runner else None),
        float(node.gpu_vram_gb) if node.gpu_vram_gb else None,
    )


def find_inventory(explicit: str | None = None) -> Path:
    """--inventory, else $DEVOPS_STUDIO_INVENTORY, else ./studio.yml."""
    return Path(explicit or os.environ.get("DEVOPS_STUDIO_INVENTORY") or DEFAULT_INVENTORY)
