"""`devops-studio doctor`: is a node healthy? Every check is read-only; any failing check fails the run."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from devops_studio import backup_status
from devops_studio.github_api import GitHub, GitHubError
from devops_studio.inventory import Inventory, Node
from devops_studio.nodes import production
from devops_studio.nodes.report import DONE, FAILED, SKIPPED
from devops_studio.ollama import setup as ollama_setup
from devops_studio.ollama.client import Ollama, elsewhere_problem, resolve_url
from devops_studio.repo.audit import audit
from devops_studio.runner import manager

OK, WARN, FAIL, SKIP = "ok", "warn", "fail", "skip"
STYLES = {OK: "green", WARN: "yellow", FAIL: "bold red", SKIP: "dim"}
# certbot renews 30 days before expiry; under 21 days left, renewal has been failing for over a week.
CERT_WARN_DAYS = 21
CERT_FAIL_DAYS = 7


@dataclass
class Check:
    name: str
    status: str
    detail: str


def letsencrypt_dir() -> Path:
    return Path(os.environ.get("DEVOPS_STUDIO_LETSENCRYPT_DIR", "/etc/letsencrypt/live"))


def certificate_days(path: Path, now: dt.datetime | None = None) -> int:
    code, out = production.run(["openssl", "x509", "-enddate", "-noout", "-in", str(path)])
    if code != 0 or "=" not in out:
        raise ValueError(out or f"cannot read {path}")
    end = dt.datetime.strptime(out.split("=", 1)[1].strip(), "%b %d %H:%M:%S %Y %Z").replace(tzinfo=dt.UTC)
    return (end - (now or dt.datetime.now(dt.UTC))).days


def check_certificates() -> list[Check]:
    live = letsencrypt_dir()
    certs = sorted(live.glob("*/cert.pem")) if live.is_dir() else []
    if not certs:
        return [Check("certificates", WARN, f"no certificates under {live} yet (certbot has not issued any)")]
    checks = []
    for cert in certs:
        name = f"certificate {cert.parent.name}"
        try:
            days = certificate_days(cert)
        except ValueError as error:
            checks.append(Check(name, FAIL, str(error)))
            continue
        if days < CERT_FAIL_DAYS:
            status = FAIL
        elif days < CERT_WARN_DAYS:
            status = WARN
        else:
            status = OK
        hint = "" if status == OK else "; renewal is not working: certbot renew --dry-run, journalctl -u certbot*"
        checks.append(Check(name, status, f"{days} days left{hint}"))
    return checks


def _local_production(checks: list[Check], node: Node) -> None:
    if not shutil.which("docker"):
        checks.append(Check("docker", FAIL, f"not installed. Fix: {production.DOCKER_FIX}"))
    else:
        code, out = production.run(["docker", "info", "--format", "{{.ServerVersion}}"])
        checks.append(
            Check(
                "docker",
                OK if code == 0 else FAIL,
                f"Docker Engine {out} running"
                if code == 0
                else f"daemon not answering ({out[-160:]}). Fix: systemctl enable --now docker",
            )
        )
        code, out = production.run(["docker", "compose", "version", "--short"])
        checks.append(
            Check(
                "compose",
                OK if code == 0 else FAIL,
                f"Compose {out}" if code == 0 else "Compose v2 missing. Fix: dnf install -y docker-compose-plugin",
            )
        )
    if not shutil.which("nginx"):
        checks.append(Check("nginx -t", FAIL, "nginx is not installed. Fix: dnf install -y nginx"))
    else:
        code, out = production.run(["nginx", "-t"])
        checks.append(Check("nginx -t", OK if code == 0 else FAIL, "configuration valid" if code == 0 else out[-300:]))
    checks.extend(check_certificates())
    checks.extend(Check(*row) for row in backup_status.check_backups(Path(node.apps_dir or "/home/chronos/apps")))


def _runner(ctx: manager.RunnerContext, checks: list[Check], local: bool) -> None:
    if local:
        active = manager.service_active(ctx)
        if active is None:
            checks.append(Check("runner service", SKIP, "the service state cannot be read on this machine"))
        else:
            checks.append(
                Check(
                    "runner service",
                    OK if active else FAIL,
                    f"{ctx.service.name} {'active' if active else 'not active'}"
                    + ("" if active else f". Fix: devops-studio runner register --node {ctx.node.name}"),
                )
            )
    if ctx.client is None:
        checks.append(Check("runner online", WARN, "no GitHub token (GH_TOKEN or `gh auth login`); not checked"))
        return
    try:
        remote = manager.find_remote(ctx, ctx.spec.name)
    except GitHubError as error:
        checks.append(Check("runner online", FAIL, str(error)))
        return
    if remote is None:
        checks.append(
            Check(
                "runner online",
                FAIL,
                f"GitHub lists no runner {ctx.spec.name}. Fix: devops-studio runner register --node {ctx.node.name}",
            )
        )
    else:
        online = remote["status"] == "online"
        checks.append(
            Check(
                "runner online",
                OK if online else FAIL,
                f"{ctx.spec.name} is {remote['status']}" + (", busy" if remote.get("busy") else ""),
            )
        )


def _repo_settings(inventory: Inventory, node: Node, client: GitHub | None) -> list[Check]:
    """Drift of the GitHub settings of every repo this node's runner serves; fails when a fork can reach it."""
    if client is None or node.runner is None:
        return []
    names = inventory.repos if node.runner.scope == "org" else (node.runner.repo,)
    results = [audit(client, f"{inventory.owner}/{name}", inventory_runner=True) for name in names if name]
    return [Check(f"repo settings {r.repo}", r.status, r.detail) for r in results]


def diagnose(
    inventory: Inventory,
    node: Node,
    *,
    github: Callable[[], GitHub | None],
    ollama_url: str | None = None,
    local: bool = True,
) -> list[Check]:
    checks: list[Check] = []
    if node.has("production"):
        if local:
            _local_production(checks, node)
        else:
            checks.append(Check("docker, nginx, certificates", SKIP, f"run doctor on {node.name} itself"))
    if node.runner is not None and node.os != "windows":
        ctx = manager.RunnerContext(inventory, node, github(), Console(quiet=True))
        _runner(ctx, checks, local)
        checks.extend(_repo_settings(inventory, node, ctx.client))
    if node.ollama is not None:
        problem = None if local else elsewhere_problem(node.name, node.ollama.url, ollama_url)
        if problem:
            checks.append(Check("ollama", SKIP, problem))
        else:
            client = Ollama(resolve_url(node.ollama.url, ollama_url), timeout=5)
            report, _ = ollama_setup.status(inventory, node, client)
            mapping = {DONE: OK, FAILED: FAIL, SKIPPED: WARN}
            checks.extend(Check(o.step, mapping.get(o.status, WARN), o.detail) for o in report.outcomes)
    if not checks:
        checks.append(Check("roles", OK, "no health checks for roles " + ", ".join(node.roles)))
    return checks


def render(node: Node, checks: list[Check], console: Console) -> None:
    table = Table(title=f"doctor: {node.name}")
    table.add_column("check")
    table.add_column("status")
    table.add_column("detail", overflow="fold")
    for check in checks:
        table.add_row(check.name, f"[{STYLES[check.status]}]{check.status}[/]", check.detail)
    console.print(table)


def as_json(node: Node, checks: list[Check]) -> dict:
    return {
        "node": node.name,
        "healthy": not any(c.status == FAIL for c in checks),
        "checks": [asdict(c) for c in checks],
    }
