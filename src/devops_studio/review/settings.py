"""The reviewer's configuration: the inventory's `review` section plus command-line overrides."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from devops_studio.inventory import Inventory
from devops_studio.ollama.client import resolve_url

REPO_FULL_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}")
DEFAULT_STATE = "~/.local/state/devops-studio/review-state.json"


class SettingsError(Exception):
    pass


@dataclass(frozen=True)
class ReviewSettings:
    repos: tuple[str, ...]  # owner/name of every repository this machine reviews
    model: str
    language: str
    ollama_url: str
    api_url: str
    state_file: Path
    status_check: bool = False  # post the commit status `llm-review` (owners may make it required)
    poll_seconds: float = 60.0
    max_parts: int = 40
    max_output_tokens: int = 1024
    fallback_num_ctx: int = 4096
    request_timeout: float = 600.0


def from_inventory(
    inventory: Inventory, state_file: str | None = None, ollama_url: str | None = None
) -> ReviewSettings:
    policy = inventory.review
    if policy is None:
        raise SettingsError(
            f"{inventory.path}: review: is missing; add review.node and review.model (see examples/studio.yml)"
        )
    node = inventory.node(policy.node)
    names = policy.repos or inventory.repos
    repos = tuple(name if "/" in name else f"{inventory.owner}/{name}" for name in names)
    for repo in repos:
        if not REPO_FULL_RE.fullmatch(repo):
            raise SettingsError(f"review.repos: {repo!r} is not owner/name")
    if not repos:
        raise SettingsError(f"{inventory.path}: no repository to review; list them under github.repos or review.repos")
    path = Path(state_file or DEFAULT_STATE).expanduser()
    if not path.is_absolute() or ".." in path.parts:
        raise SettingsError(f"--state-file {path}: use an absolute path without '..'")
    return ReviewSettings(
        repos=repos,
        model=policy.model,
        language=policy.language,
        ollama_url=resolve_url(node.ollama.url if node.ollama else None, ollama_url),
        api_url=inventory.api_url,
        state_file=path,
        status_check=policy.status_check,
    )
