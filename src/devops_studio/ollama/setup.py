"""Bring a node's Ollama to what the inventory says: models pulled, profiles current, review policy kept.

Every step is idempotent: a model that is present is not pulled again, a profile is recreated only
when its definition (base model, system prompt, parameters incl. num_ctx) differs from what
/api/show reports, and the result of every create is checked with /api/show.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from devops_studio.inventory import Inventory, Node, Profile, review_policy_violations
from devops_studio.nodes.report import CHANGED, DONE, FAILED, PLANNED, SKIPPED, Report
from devops_studio.ollama.client import (
    ModelNotFound,
    Ollama,
    OllamaError,
    OllamaUnreachable,
    normalise_name,
    parse_parameters,
)

# Share of a node's memory a model may take: the OS, the IDE and a browser need the rest. On Apple
# silicon the GPU uses the same (unified) memory, so this is the limit that matters there too.
USABLE_MEMORY = 0.75


def usable_gb(node: Node) -> float:
    return node.memory_gb * USABLE_MEMORY


def model_plan(inventory: Inventory, node: Node) -> list[tuple[str, str, str]]:
    """(model, action, note) for each model of the node: pull, or skip-too-big (with the fallback named)."""
    plan: list[tuple[str, str, str]] = []
    wanted = list(node.ollama.models if node.ollama else ())
    for name in wanted:
        model = inventory.models[name]
        if model.memory_gb <= usable_gb(node):
            vram = node.gpu_vram_gb
            note = (
                f"larger than the GPU's {vram:g} GB: Ollama runs part of it on the CPU, slower"
                if vram and model.memory_gb > vram
                else ""
            )
            plan.append((name, "pull", note))
            continue
        note = (
            f"{name} needs about {model.memory_gb:g} GB but {node.name} has {node.memory_gb:g} GB "
            f"(about {usable_gb(node):g} GB usable for models)"
        )
        if model.fallback and model.fallback not in wanted and model.fallback not in [p[0] for p in plan]:
            plan.append((name, "too-big", f"{note}; using the fallback {model.fallback} instead"))
            plan.append((model.fallback, "pull", f"fallback for {name}"))
        elif model.fallback:
            plan.append((name, "too-big", f"{note}; its fallback {model.fallback} is already on the node"))
        else:
            plan.append((name, "too-big", f"{note}; no fallback is set (models.{name}.fallback)"))
    return plan


def profile_differences(client: Ollama, profile: Profile) -> list[str] | None:
    """None when the profile does not exist; else what differs from its definition (empty: up to date)."""
    try:
        shown = client.show(profile.name)
    except ModelNotFound:
        return None
    base = client.show(profile.base)
    expected = {**parse_parameters(base.get("parameters", "")), **profile.definition()["parameters"]}
    actual = parse_parameters(shown.get("parameters", ""))
    differences = []
    parent = (shown.get("details") or {}).get("parent_model") or ""
    if parent and normalise_name(parent) != normalise_name(profile.base):
        differences.append(f"made from {parent}, wanted {profile.base}")
    if (shown.get("system") or "").strip() != profile.system.strip():
        differences.append("system prompt")
    for key in sorted(set(expected) | set(actual)):
        want, have = expected.get(key), actual.get(key)
        if isinstance(want, list) and not isinstance(have, list) and have is not None:
            have = [have]
        if want != have:
            differences.append(f"{key}: {have!r} -> {want!r}")
    return differences


def _pull_with_progress(client: Ollama, name: str, console: Console) -> None:
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        tasks: dict[str, Any] = {}
        status_task = progress.add_task(f"{name}: starting", total=None)

        def show(item: dict[str, Any]) -> None:
            digest = item.get("digest")
            if digest and item.get("total"):
                if digest not in tasks:
                    tasks[digest] = progress.add_task(f"{name} {digest[7:19]}", total=item["total"])
                progress.update(tasks[digest], completed=item.get("completed", 0))
            else:
                progress.update(status_task, description=f"{name}: {item.get('status', '')}")

        client.pull(name, show)
        progress.remove_task(status_task)
    console.print(f"{name}: pulled")


def setup(
    inventory: Inventory,
    node: Node,
    client: Ollama | None,
    console: Console,
    *,
    dry_run: bool = False,
    allow_oversize: bool = False,
    report: Report | None = None,
) -> Report:
    report = report or Report(f"ollama setup: {node.name}")
    if node.ollama is None:
        report.add("ollama", SKIPPED, f"{node.name} has no ollama section")
        return report
    plan = model_plan(inventory, node)
    for _name, action, note in plan:
        if action == "too-big":
            console.print(f"[yellow]warning:[/] {note}", soft_wrap=True)
    if dry_run or client is None:
        for name, action, note in plan:
            if action == "too-big" and not allow_oversize:
                report.add(f"model {name}", SKIPPED, note)
            else:
                report.add(f"model {name}", PLANNED, f"pull {name} if missing" + (f" ({note})" if note else ""))
        for profile in node.ollama.profiles:
            report.add(
                f"profile {profile}",
                PLANNED,
                f"create from {inventory.profiles[profile].base} if missing or changed; check /api/show",
            )
        _policy(inventory, node, None, report)
        return report

    try:
        version = client.version()
        installed = client.installed()
    except OllamaUnreachable as error:
        report.add("ollama reachable", FAILED, str(error))
        return report
    report.add("ollama reachable", DONE, f"Ollama {version} at {client.url}")

    available = set()
    for name, action, note in plan:
        step = f"model {name}"
        if action == "too-big" and not allow_oversize:
            report.add(step, SKIPPED, note + "; pass --allow-oversize to pull it anyway")
            continue
        if normalise_name(name) in installed:
            report.add(step, DONE, "present")
            available.add(name)
            continue
        try:
            _pull_with_progress(client, name, console)
        except OllamaError as error:
            report.add(step, FAILED, f"pull failed: {error}. Re-run to resume; Ollama keeps finished layers")
            continue
        report.add(step, CHANGED, "pulled" + (f" ({note})" if note else ""))
        available.add(name)

    for name in node.ollama.profiles:
        profile = inventory.profiles[name]
        step = f"profile {name}"
        if profile.base not in available:
            report.add(step, SKIPPED, f"its base model {profile.base} is not on the node")
            continue
        try:
            differences = profile_differences(client, profile)
            if differences == []:
                report.add(step, DONE, f"up to date (from {profile.base}, num_ctx {profile.num_ctx})")
                continue
            client.create(name, profile.definition())
            after = profile_differences(client, profile)
        except OllamaError as error:
            report.add(step, FAILED, f"create failed: {error}")
            continue
        if after:
            report.add(step, FAILED, f"/api/show still differs after create: {', '.join(after)}")
        elif differences is None:
            report.add(step, CHANGED, f"created from {profile.base} with num_ctx {profile.num_ctx}; checked")
        else:
            report.add(step, CHANGED, f"recreated ({', '.join(differences)}); checked")

    _policy(inventory, node, client, report)
    return report


def _policy(inventory: Inventory, node: Node, client: Ollama | None, report: Report) -> None:
    policy = inventory.review
    if policy is None or policy.node != node.name:
        return
    families: dict[str, str] = {}
    if client is not None:
        for name in {policy.model, *policy.author_models}:
            base = inventory.profiles[name].base if name in inventory.profiles else name
            try:
                family = (client.show(base).get("details") or {}).get("family")
            except OllamaError:
                continue
            if family:
                families[base] = family
    problems = review_policy_violations(policy, inventory.models, inventory.profiles, families)
    if problems:
        report.add("review policy", FAILED, "; ".join(problems))
    else:
        report.add(
            "review policy",
            DONE if client else PLANNED,
            f"reviewer {policy.model} shares no model or family with the author models",
        )


def status(inventory: Inventory, node: Node, client: Ollama) -> tuple[Report, dict[str, Any]]:
    """Read-only: is Ollama reachable, are the node's models and profiles there and current."""
    report = Report(f"ollama status: {node.name}")
    data: dict[str, Any] = {
        "node": node.name,
        "url": client.url,
        "reachable": False,
        "models": {},
        "profiles": {},
    }
    if node.ollama is None:
        report.add("ollama", SKIPPED, f"{node.name} has no ollama section")
        return report, data
    try:
        data["version"] = client.version()
        installed = client.installed()
    except OllamaUnreachable as error:
        report.add("ollama reachable", FAILED, str(error))
        return report, data
    data["reachable"] = True
    report.add("ollama reachable", DONE, f"Ollama {data['version']} at {client.url}")
    for name, action, note in model_plan(inventory, node):
        present = normalise_name(name) in installed
        data["models"][name] = present
        if action == "too-big":
            report.add(f"model {name}", SKIPPED, note)
        else:
            report.add(
                f"model {name}",
                DONE if present else FAILED,
                "present" if present else "missing; run `devops-studio ollama setup`",
            )
    for name in node.ollama.profiles:
        try:
            differences = profile_differences(client, inventory.profiles[name])
        except OllamaError as error:
            differences = [str(error)]
        data["profiles"][name] = "missing" if differences is None else ("current" if not differences else "changed")
        if differences == []:
            report.add(f"profile {name}", DONE, "up to date")
        else:
            report.add(
                f"profile {name}",
                FAILED,
                ("missing" if differences is None else ", ".join(differences)) + "; run `devops-studio ollama setup`",
            )
    _policy(inventory, node, client, report)
    return report, data
