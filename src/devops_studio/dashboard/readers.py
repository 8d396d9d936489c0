"""What each source of the dashboard reads. Every reader is read-only and returns plain JSON data.

The readers reuse the commands we already have: doctor's checks in-process, the one Ollama client,
deploy.py's own `status --json` (its journal `.deploy/state.json` when the program is not there),
fleet status, and the one GitHub client. Every URL and message they return is redacted.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import urllib.parse
from pathlib import Path
from typing import Any

import httpx

from devops_studio import doctor
from devops_studio.fleet.discovery import RepoRef
from devops_studio.fleet.status import fleet_status
from devops_studio.github_api import GitHubClient, env_without_tokens
from devops_studio.inventory import Inventory, Node
from devops_studio.ollama.client import Ollama, resolve_url
from devops_studio.redact import redact, redact_data, redact_url
from devops_studio.review import markers
from devops_studio.runner.manager import host_os

SSH_PORT = 22
DEPLOY_STATUS_TIMEOUT = 20


def probe_target(node: Node) -> tuple[str, int]:
    """Where a machine is asked whether it is up: its Ollama port when it runs Ollama, else SSH."""
    if node.ollama is not None:
        parts = urllib.parse.urlsplit(resolve_url(node.ollama.url))
        return parts.hostname or "127.0.0.1", parts.port or 11434
    return node.host or node.name, SSH_PORT


def reach(host: str, port: int, timeout: float) -> dict[str, Any]:
    """Up when a TCP connection opens; the error (refused, no route, unknown host) otherwise."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return {"up": True, "address": f"{host}:{port}"}
    except OSError as error:
        raise ConnectionError(f"{host}:{port}: {error.strerror or error}") from None


def disk(paths: list[str]) -> list[dict[str, Any]]:
    """Disk space of this machine at each existing path (measured only on the machine itself)."""
    seen, rows = set(), []
    for path in paths:
        target = Path(path)
        while not target.exists() and target != target.parent:
            target = target.parent
        usage = shutil.disk_usage(target)
        if (usage.total, usage.free) in seen:
            continue
        seen.add((usage.total, usage.free))
        rows.append(
            {
                "path": str(target),
                "total_gb": round(usage.total / 1e9, 1),
                "free_gb": round(usage.free / 1e9, 1),
                "used_percent": round(100 * (usage.total - usage.free) / usage.total) if usage.total else 0,
            }
        )
    return rows


def doctor_report(inventory: Inventory, node: Node, github, local: bool) -> dict[str, Any]:
    """`devops-studio doctor NAME --json`, in-process."""
    checks = doctor.diagnose(inventory, node, github=github, local=local and node.os == host_os())
    return redact_data(doctor.as_json(node, checks))


def ollama_models(url: str, timeout: float) -> dict[str, Any]:
    """The models an Ollama serves (/api/tags)."""
    models = Ollama(url, timeout=timeout).tags()
    return {"url": redact_url(url), "models": sorted(m.get("model") or m.get("name") or "?" for m in models)}


def _release(rel: dict[str, Any]) -> dict[str, Any]:
    keep = ("id", "ref", "image", "colour", "time", "kind", "status", "error")
    return {key: redact(str(rel[key])) for key in keep if rel.get(key) not in (None, "")}


def deploy_status(app_dir: Path) -> dict[str, Any]:
    """The app's live release and its releases: `deploy.py status --json`, else the journal alone."""
    program = app_dir / "deploy" / "deploy.py"
    note = ""
    if program.is_file():
        done = subprocess.run(
            [sys.executable, str(program), "status", "--json"],
            cwd=app_dir,
            capture_output=True,
            text=True,
            timeout=DEPLOY_STATUS_TIMEOUT,
            env=env_without_tokens(),
            check=False,
        )
        if done.returncode == 0:
            status = json.loads(done.stdout)
            return {
                "source": "deploy.py status",
                "active": _release(status["active"]) if status.get("active") else None,
                "containers": redact_data(status.get("containers") or {}),
                "releases": [_release(r) for r in status.get("releases", [])],
            }
        note = redact(f"deploy.py status failed ({(done.stderr or done.stdout).strip()[-200:]}); journal only")
    journal = app_dir / ".deploy" / "state.json"
    if not journal.is_file():
        raise FileNotFoundError(f"no deploy journal at {journal}: not deployed on this machine yet")
    state = json.loads(journal.read_text(encoding="utf-8"))
    releases = [_release(r) for r in state.get("releases", []) if isinstance(r, dict)]
    active = next((r for r in releases if r.get("id") == state.get("active")), None)
    return {"source": "journal", "note": note, "active": active, "containers": {}, "releases": releases}


def certificate(app_dir: Path) -> dict[str, Any]:
    """Days left on the app's certificate (its domain from deploy/deploy.json)."""
    settings = json.loads((app_dir / "deploy" / "deploy.json").read_text(encoding="utf-8"))
    domain = str(settings.get("domain") or "")
    cert = doctor.letsencrypt_dir() / domain / "cert.pem"
    if not domain or not cert.is_file():
        raise FileNotFoundError(f"no certificate for {domain or 'the app'} under {doctor.letsencrypt_dir()}")
    return {"domain": domain, "days_left": doctor.certificate_days(cert)}


def backup(app_dir: Path) -> dict[str, Any]:
    """The newest backup and restore drill, judged as `doctor` judges them (backup_status)."""
    from devops_studio.backup_status import app_checks

    status_file = app_dir / ".deploy" / "backup" / "status.json"
    if not status_file.is_file():
        raise FileNotFoundError(f"no backups recorded ({status_file}); see docs/backups.md")
    checks = app_checks(status_file)
    return {"ok": all(status == "ok" for _, status, _ in checks), "checks": [[n, st, d] for n, st, d in checks]}


def fleet(repos: list[RepoRef], github: GitHubClient | None) -> list[dict[str, Any]]:
    """`devops-studio fleet status --json` rows: template version, newest, behind, update pull request."""
    return redact_data(fleet_status(repos, github=github))


def ci_state(github: GitHubClient, slug: str, branches: tuple[str, ...] = ("main", "develop")) -> dict[str, Any]:
    """The newest workflow run of each branch: its state and conclusion."""
    states: dict[str, Any] = {}
    for branch in branches:
        query = urllib.parse.urlencode({"branch": branch, "per_page": 1})
        runs = github.request("GET", f"/repos/{slug}/actions/runs?{query}").get("workflow_runs", [])
        if not runs:
            states[branch] = {"state": "none"}
            continue
        run = runs[0]
        states[branch] = {
            "state": run.get("conclusion") or run.get("status") or "unknown",
            "workflow": redact(str(run.get("name") or "")),
            "sha": str(run.get("head_sha") or "")[:7],
            "updated_at": run.get("updated_at"),
        }
    return states


# Who may have written a review summary the page believes: a stranger can type our marker in a
# comment on a public repository, but cannot make themselves a collaborator.
TRUSTED_ASSOCIATIONS = ("OWNER", "MEMBER", "COLLABORATOR")
REVIEW_PULLS_LOOKED_AT = 5


def last_review(github: GitHubClient, slug: str) -> dict[str, Any]:
    """The newest LLM review summary on the repo's most recently updated pull requests.

    A summary counts when it carries our summary marker and its author is associated with the repo
    (owner, member, collaborator); its result marker says reviewed (with its findings) or not."""
    query = urllib.parse.urlencode(
        {"state": "all", "sort": "updated", "direction": "desc", "per_page": REVIEW_PULLS_LOOKED_AT}
    )
    pulls = github.request("GET", f"/repos/{slug}/pulls?{query}") or []
    for pull in pulls:
        number = int(pull["number"])
        summaries = [
            comment
            for comment in github.paginate(f"/repos/{slug}/issues/{number}/comments")
            if markers.SUMMARY_MARKER in str(comment.get("body") or "")
            and comment.get("author_association") in TRUSTED_ASSOCIATIONS
        ]
        if not summaries:
            continue
        newest = max(summaries, key=lambda c: str(c.get("updated_at") or ""))
        result = markers.parse_result(str(newest.get("body") or "")) or {"outcome": "unknown"}
        return {
            "state": result["outcome"],
            "pull": number,
            "title": redact(" ".join(str(pull.get("title") or "").split())[:80]),  # the page escapes it
            "findings": result.get("findings"),
            "commit": result.get("commit", ""),
            "model": redact(result.get("model", "")),
            "author": redact(str((newest.get("user") or {}).get("login") or "")),
            "url": redact_url(str(newest.get("html_url") or "")),
            "updated_at": newest.get("updated_at"),
        }
    return {"state": "none", "looked_at": len(pulls)}


def alerts(url: str, timeout: float) -> list[dict[str, Any]]:
    """Firing alerts from Alertmanager (/api/v2/alerts) at `url`."""
    response = httpx.get(
        url.rstrip("/") + "/api/v2/alerts", params={"active": "true", "silenced": "false"}, timeout=timeout
    )
    response.raise_for_status()
    return [
        {
            "name": redact(str(alert.get("labels", {}).get("alertname", "?"))),
            "app": redact(str(alert.get("labels", {}).get("app") or alert.get("labels", {}).get("job") or "")),
            "severity": redact(str(alert.get("labels", {}).get("severity", ""))),
            "since": alert.get("startsAt"),
            "summary": redact(str(alert.get("annotations", {}).get("summary", ""))),
        }
        for alert in response.json()
    ]
