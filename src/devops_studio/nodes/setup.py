"""`node setup`: run the steps of a node's roles in order and sum them up in one table."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from devops_studio.github_api import GitHub, GitHubError
from devops_studio.inventory import Inventory, Node
from devops_studio.nodes import docker_metrics, exporter, production
from devops_studio.nodes.report import CHANGED, DONE, FAILED, PLANNED, SKIPPED, Report
from devops_studio.ollama import setup as ollama_setup
from devops_studio.ollama.client import Ollama, OllamaError, elsewhere_problem, resolve_url
from devops_studio.runner import manager
from devops_studio.runner.package import PackageError

PLAYWRIGHT_INSTALL = ["npx", "--yes", "playwright", "install", "--with-deps", "chromium"]


def playwright_dir(node: Node) -> Path:
    if os.environ.get("PLAYWRIGHT_BROWSERS_PATH"):
        return Path(os.environ["PLAYWRIGHT_BROWSERS_PATH"])
    home = Path.home()
    return home / "Library" / "Caches" / "ms-playwright" if node.os == "macos" else home / ".cache" / "ms-playwright"


def ensure_playwright(node: Node, report: Report, dry_run: bool) -> None:
    browsers = playwright_dir(node)
    present = browsers.is_dir() and any(p.name.startswith("chromium") for p in browsers.iterdir())
    if present:
        report.add("playwright", DONE, f"browsers in {browsers}")
        return
    if dry_run:
        report.add("playwright", PLANNED, " ".join(PLAYWRIGHT_INSTALL) + " (browsers and their system libraries)")
        return
    code, out = production.run(PLAYWRIGHT_INSTALL, timeout=1800)
    if code == 127:
        report.add(
            "playwright",
            FAILED,
            "npx is missing. Fix: install Node.js LTS (brew install node / dnf install nodejs), then re-run",
        )
    elif code != 0:
        report.add("playwright", FAILED, f"playwright install failed: {out[-300:]}")
    else:
        report.add("playwright", CHANGED, f"installed chromium and its system dependencies into {browsers}")


def setup_node(
    inventory: Inventory,
    node: Node,
    console: Console,
    *,
    dry_run: bool,
    github: Callable[[], GitHub],
    ollama_url: str | None = None,
    local: bool = True,
    stack_node: str | None = None,
) -> Report:
    report = Report(f"node setup: {node.name}" + (" (dry run: nothing changed)" if dry_run else ""))
    if node.has("production"):
        if dry_run:
            for step in ("docker engine", "docker compose", "nginx"):
                report.add(
                    step,
                    PLANNED,
                    "check it is installed and running"
                    if step != "nginx"
                    else "check it is installed and `nginx -t` passes",
                )
        else:
            production.check_docker(report)
            production.check_compose(report)
            production.check_nginx(report)
    if node.runner is not None:
        if dry_run or local or node.os == "windows":
            _runner(inventory, node, console, report, dry_run, github)
        else:
            report.add("runner", FAILED, f"{node.name} is another machine; run `node setup` on {node.name} itself")
    if node.has("production"):
        production.ensure_docker_group(node, report, dry_run, restart=lambda: _restart_runner(inventory, node))
        production.ensure_apps_dir(node, report, dry_run)
        production.ensure_sudo_rule(node, report, dry_run)
        production.ensure_certbot_timer(report, dry_run)
        production.ensure_backup_timers(node, report, dry_run, inventory.backup)
    if node.ollama is not None:
        problem = None if dry_run or local else elsewhere_problem(node.name, node.ollama.url, ollama_url)
        if problem:
            report.add("ollama", FAILED, problem)
        else:
            client = None if dry_run else Ollama(resolve_url(node.ollama.url, ollama_url))
            try:
                ollama_setup.setup(inventory, node, client, console, dry_run=dry_run, report=report)
            except OllamaError as error:
                report.add("ollama", FAILED, str(error))
    if node.has("review"):
        ensure_playwright(node, report, dry_run)
    if stack_node is not None:
        if dry_run or local or node.os == "windows":
            exporter.ensure_exporter(node, stack_node, report, dry_run)
        else:
            report.add(exporter.STEP, FAILED, f"{node.name} is another machine; run `node setup` on {node.name} itself")
        if node.name == stack_node and node.has("production"):
            docker_metrics.ensure_metrics_address(report, dry_run)
    if not report.outcomes:
        report.add("roles", DONE, "nothing to set up for roles " + ", ".join(node.roles))
    return report


def _restart_runner(inventory: Inventory, node: Node) -> None:
    if node.runner is not None:
        ctx = manager.RunnerContext(inventory, node, None, Console(quiet=True))
        manager.systemctl(ctx, "try-restart", f"{ctx.service.name}.service")


def _runner(
    inventory: Inventory,
    node: Node,
    console: Console,
    report: Report,
    dry_run: bool,
    github: Callable[[], GitHub],
) -> None:
    if not dry_run and node.os != "windows" and hasattr(os, "geteuid") and os.geteuid() != 0:
        report.add(
            "runner",
            SKIPPED,
            "installing the runner service needs root: run `sudo --preserve-env=GH_TOKEN "
            f"devops-studio runner register --node {node.name}` (the bootstrap script does)",
        )
        return
    try:
        client = None if dry_run or node.os == "windows" else github()
        ctx = manager.RunnerContext(inventory, node, client, console)
        manager.register(ctx, dry_run=dry_run, report=report)
    except (GitHubError, manager.RunnerError, PackageError) as error:
        report.add("runner", FAILED, str(error))


__all__ = ["CHANGED", "DONE", "FAILED", "setup_node"]
