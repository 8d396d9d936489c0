"""The home-lab inventory, `studio.yml`: which machines exist, what each one does, which models run where.

The file's shape is declared in `schema.py` (pydantic models, published as JSON Schema by
`devops-studio inventory schema`); the rules between fields are in `policy.py`. ruamel.yaml keeps the
line of every value, so each problem names the file, the line, the key (a dotted path) and the fix.
"""

from __future__ import annotations

from devops_studio.inventory.errors import InventoryError, Problem
from devops_studio.inventory.load import DEFAULT_INVENTORY, find_inventory, load_inventory
from devops_studio.inventory.policy import DEPLOY_LABEL, OLLAMA_ROLES, base_model, review_policy_violations
from devops_studio.inventory.schema import (
    ARCHES,
    LANGUAGES,
    OSES,
    ROLES,
    RUNNER_ROLES,
    RUNNER_SCOPES,
    SCHEMA_VERSION,
    json_schema,
)
from devops_studio.inventory.source import MAX_DEPTH, MAX_INVENTORY_BYTES
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

__all__ = [
    "ARCHES",
    "DEFAULT_INVENTORY",
    "DEPLOY_LABEL",
    "BackupTarget",
    "LANGUAGES",
    "MAX_DEPTH",
    "MAX_INVENTORY_BYTES",
    "OLLAMA_ROLES",
    "OSES",
    "ROLES",
    "RUNNER_ROLES",
    "RUNNER_SCOPES",
    "SCHEMA_VERSION",
    "Inventory",
    "InventoryError",
    "Model",
    "Node",
    "OllamaSpec",
    "Problem",
    "Profile",
    "ReviewPolicy",
    "RunnerSpec",
    "base_model",
    "find_inventory",
    "json_schema",
    "load_inventory",
    "review_policy_violations",
]
