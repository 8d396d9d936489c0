"""Rules between fields of a well-typed inventory: references resolve, roles have what they need, the
deploy runner is kept apart from CI runners and the reviewer is not of the family that writes the code.

Each check yields `(loc, message)`; the loader turns them into problems at the line of `loc`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from devops_studio import models as model_names
from devops_studio.inventory.schema import NodeSpec, StudioFile, shown
from devops_studio.inventory.source import Loc
from devops_studio.inventory.types import Model, Profile, ReviewPolicy
from devops_studio.validation import path_problem

DEPLOY_LABEL = "chronos-deploy"  # the deploy runner's own label; no other runner may carry it
OLLAMA_ROLES = ("dev", "review", "gpu")  # roles that need an Ollama section
Finding = tuple[Loc, str]


def _listing(names: object) -> str:
    return ", ".join(names) or "(none)"  # type: ignore[arg-type]


def check(inventory: StudioFile) -> list[Finding]:
    """Every cross-field problem of `inventory`."""
    return [
        *_models(inventory),
        *_profiles(inventory),
        *(found for name, node in inventory.nodes.items() for found in _node(inventory, name, node)),
        *_review(inventory),
        *_runner_roles(inventory),
        *_backup(inventory),
    ]


def _backup(inventory: StudioFile) -> Iterator[Finding]:
    backup = inventory.backup
    if backup is None:
        return
    node = inventory.nodes.get(backup.node)
    if node is None:
        yield ("backup", "node"), f"{shown(backup.node)} is not a node; use one of: " + _listing(inventory.nodes)
    elif "production" in node.roles:
        yield ("backup", "node"), (
            f"{shown(backup.node)} is the production machine: a backup there dies with it; name another machine"
        )
    elif not node.host:
        yield ("backup", "node"), f"nodes.{backup.node}.host is needed to reach it over SFTP"


def _models(inventory: StudioFile) -> Iterator[Finding]:
    for name, model in inventory.models.items():
        if model.fallback is not None and model.fallback not in inventory.models:
            yield (
                ("models", name, "fallback"),
                f"{shown(model.fallback)} is not a model of this inventory; use one of: {_listing(inventory.models)}",
            )


def _profiles(inventory: StudioFile) -> Iterator[Finding]:
    for name, profile in inventory.profiles.items():
        if profile.base not in inventory.models:
            yield (
                ("profiles", name, "from"),
                f"{shown(profile.base)} is not listed under models; use one of: {_listing(inventory.models)}",
            )


def _node(inventory: StudioFile, name: str, node: NodeSpec) -> Iterator[Finding]:
    at: Loc = ("nodes", name)
    production = "production" in node.roles
    if node.runner is None and ("runner" in node.roles or production):
        yield (*at, "runner"), "is required for roles runner/production (at least: scope and repo)"
    if node.ollama is None and any(role in node.roles for role in OLLAMA_ROLES):
        yield (*at, "ollama"), f"is required for roles {', '.join(OLLAMA_ROLES)} (at least: models)"
    if production and node.os != "linux":
        yield (*at, "roles"), "the production role needs os: linux (Docker Engine, nginx, systemd)"
    runner = node.runner
    if runner is not None:
        repos = inventory.github.repos
        if runner.scope == "repo" and runner.repo is None:
            yield (
                (*at, "runner", "repo"),
                f"is required when scope is repo; use one of github.repos: {_listing(repos)}",
            )
        elif runner.scope == "repo" and runner.repo not in repos:
            yield (*at, "runner", "repo"), f"{shown(runner.repo)} is not in github.repos; use one of: {_listing(repos)}"
        elif runner.scope != "repo" and runner.repo is not None:
            yield (*at, "runner", "repo"), "only allowed with scope: repo"
        if runner.directory is not None and (problem := path_problem(runner.directory, node.os == "windows")):
            yield (*at, "runner", "directory"), problem
        # Deploy jobs run as the runner's user, so on a production node they are one and the same.
        if production and node.deploy_user is not None and node.deploy_user != runner.user:
            yield (
                (*at, "deploy_user"),
                f"deploy jobs run as the runner's user; set it to {shown(runner.user)} (runner.user) "
                "or change runner.user",
            )
    if node.ollama is not None:
        yield from _ollama(inventory, (*at, "ollama"), node)


def _ollama(inventory: StudioFile, at: Loc, node: NodeSpec) -> Iterator[Finding]:
    assert node.ollama is not None
    names = node.ollama.models
    for index, name in enumerate(names):
        if name not in inventory.models:
            yield (
                (*at, "models", index),
                f"{shown(name)} is not listed under models; use one of: {_listing(inventory.models)}",
            )
    for index, name in enumerate(node.ollama.profiles):
        profile = inventory.profiles.get(name)
        if profile is None:
            yield (
                (*at, "profiles", index),
                f"{shown(name)} is not listed under profiles; use one of: {_listing(inventory.profiles)}",
            )
        elif profile.base not in names:
            yield (
                (*at, "profiles", index),
                f"profile {shown(name)} is made from {shown(profile.base)}; "
                f"add that model to {'.'.join(map(str, at))}.models",
            )


def _review(inventory: StudioFile) -> Iterator[Finding]:
    review = inventory.review
    if review is None:
        return
    if review.node not in inventory.nodes:
        yield (
            ("review", "node"),
            f"{shown(review.node)} is not a node of this inventory; use one of: " + _listing(inventory.nodes),
        )
    known = sorted({*inventory.models, *inventory.profiles})
    if review.model not in known:
        yield (
            ("review", "model"),
            f"{shown(review.model)} is not listed under models or profiles; use one of: {', '.join(known)}",
        )
    for index, name in enumerate(review.author_models):
        if name not in known:
            yield (
                ("review", "author_models", index),
                f"{shown(name)} is not listed under models or profiles; use one of: {', '.join(known)}",
            )
    if review.node not in inventory.nodes or review.model not in known:
        return
    profiles = {name: _profile(name, spec) for name, spec in inventory.profiles.items()}
    ollama = inventory.nodes[review.node].ollama
    base = base_model(review.model, profiles)
    if ollama is not None and base not in ollama.models:
        yield ("review", "model"), f"{shown(base)} is not among nodes.{review.node}.ollama.models; add it there"
    models = {name: Model(name, spec.family, spec.memory_gb, spec.fallback) for name, spec in inventory.models.items()}
    policy = ReviewPolicy(review.node, review.model, tuple(review.author_models), review.language)
    for message in review_policy_violations(policy, models, profiles):
        yield ("review", "model"), message


def _profile(name: str, spec: object) -> Profile:
    return Profile(name, spec.base, spec.num_ctx, spec.system, dict(spec.parameters))  # type: ignore[attr-defined]


def _runner_roles(inventory: StudioFile) -> Iterator[Finding]:
    """CI runners never share a label or a user with the deploy runner, so a CI job cannot land there."""
    deploy_labels = {DEPLOY_LABEL.lower()}
    deploy_users = set()
    for node in inventory.nodes.values():
        if node.runner and (node.runner.role == "deploy" or "production" in node.roles):
            deploy_labels |= {label.lower() for label in node.runner.labels}
            deploy_users |= {node.runner.user, node.deploy_user or node.runner.user}
    for name, node in inventory.nodes.items():
        runner = node.runner
        if runner is None or runner.role != "ci":
            continue
        at: Loc = ("nodes", name, "runner")
        for index, label in enumerate(runner.labels):
            if label.lower() in deploy_labels:
                yield (
                    (*at, "labels", index),
                    f"{shown(label)} is a label of the deploy runner, so a CI job could run there or a deploy job "
                    "here; give CI runners labels of their own",
                )
        if runner.user in deploy_users:
            yield (
                (*at, "user"),
                f"{shown(runner.user)} is the deploy user; CI runners need a user of their own with no access to "
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
                f"the reviewer {shown(policy.model)} runs on {shown(reviewer)}, the same model that writes "
                f"code ({shown(author)}); pick a reviewer from another family"
            )
        elif same_family(reviewer, written_by):
            problems.append(
                f"the reviewer {shown(policy.model)} ({reviewer}) is of the family {family(reviewer)!r} "
                f"like the author model {shown(author)} ({written_by}); pick a reviewer from another family"
            )
    return problems
