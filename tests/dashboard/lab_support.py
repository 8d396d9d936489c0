"""A small lab for the dashboard tests: studio.yml, deploy journals, real git repos and test servers.

The machines are nodes whose Ollama is the project's Ollama test server, one node whose Ollama port
is closed (a machine that does not answer), and a production node that is this machine. The apps'
deploy journals are the files deploy.py writes (`.deploy/state.json`); the repos are real git clones
of a real local template repo with two release tags; GitHub is the project's GitHub test server with
the workflow-runs endpoint added.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fakes"))

from github_api import REPO, FakeGitHub, Request, Response  # noqa: E402
from ollama_api import OllamaServer  # noqa: E402

OWNER = "octo"
APPS = ("shop", "blog")
TOKEN = "ghp_" + "D" * 36
MODEL = "olmo-3"

__all__ = ["APPS", "MODEL", "OWNER", "TOKEN", "DashGitHub", "OllamaServer", "closed_port", "make_lab"]


class DashGitHub(FakeGitHub):
    """The GitHub test server plus `GET /repos/{o}/{r}/actions/runs` (branch, per_page)."""

    ROUTES = FakeGitHub.ROUTES + [("GET", REPO + r"/actions/runs", "list_workflow_runs")]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.workflow_runs: dict[str, list[dict[str, Any]]] = {}  # "owner/repo" -> runs, newest first

    def add_run(self, owner: str, repo: str, branch: str, conclusion: str | None, status: str = "completed") -> None:
        with self.lock:
            run_id = self.next_id()
            self.workflow_runs.setdefault(f"{owner}/{repo}", []).insert(
                0,
                {
                    "id": run_id,
                    "name": "ci",
                    "head_branch": branch,
                    "head_sha": f"{run_id:040x}",
                    "status": status,
                    "conclusion": conclusion,
                    "event": "push",
                    "updated_at": "2025-01-02T03:04:05Z",
                    "html_url": f"https://github.com/{owner}/{repo}/actions/runs/{run_id}",
                },
            )

    def list_workflow_runs(self, req: Request) -> Response:
        repo = self.require_repo(req)
        branch = req.arg("branch")
        runs = [r for r in self.workflow_runs.get(repo["full_name"], []) if branch in (None, r["head_branch"])]
        per_page = int(req.arg("per_page") or 30)
        return Response(200, {"total_count": len(runs), "workflow_runs": runs[:per_page]})


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(
        ["git", "-c", "user.name=Lab", "-c", "user.email=lab@example.invalid", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def _template_repo(root: Path) -> Path:
    template = root / "template"
    template.mkdir(parents=True)
    _git("init", "-q", "-b", "main", cwd=template)
    for version in ("v1.0.0", "v1.1.0"):
        (template / "copier.yml").write_text(f"# {version}\n")
        _git("add", "-A", cwd=template)
        _git("commit", "-qm", version, cwd=template)
        _git("tag", version, cwd=template)
    return template


def _clone(root: Path, name: str, template: Path, version: str) -> Path:
    clone = root / "clones" / name
    clone.mkdir(parents=True)
    _git("init", "-q", "-b", "main", cwd=clone)
    (clone / ".copier-answers.yml").write_text(
        f"_commit: {version}\n_src_path: {template}\napp_name: {name}\ngithub_owner: {OWNER}\n"
    )
    _git("add", "-A", cwd=clone)
    _git("commit", "-qm", "render", cwd=clone)
    return clone


def _journal(app_dir: Path, releases: list[dict[str, Any]], active: str | None) -> None:
    (app_dir / ".deploy").mkdir(parents=True)
    (app_dir / ".deploy" / "state.json").write_text(
        json.dumps({"version": 1, "active": active, "releases": releases}, indent=2)
    )


def _release(n: int, ref: str, status: str, kind: str = "deploy", error: str = "") -> dict[str, Any]:
    record = {
        "id": f"2025010{n}T100000Z-{ref}",
        "ref": ref,
        "image": f"shop:{ref}",
        "colour": "blue",
        "port": 8100 + n,
        "time": f"2025-01-0{n}T10:00:00Z",
        "kind": kind,
        "status": status,
    }
    if error:
        record["error"] = error
    return record


def make_lab(
    root: Path, github_url: str, ollama_url: str, dead_port: int, *, machines: int = 0, apps: tuple[str, ...] = APPS
) -> Path:
    """Writes the lab under `root` and returns its studio.yml. `machines` adds that many extra nodes."""
    root.mkdir(parents=True, exist_ok=True)
    apps_dir = root / "apps"
    extra = "".join(
        f"  extra-{i}:\n    os: linux\n    arch: x64\n    memory_gb: 8\n    roles: [review]\n"
        f"    ollama:\n      url: {ollama_url}\n      models: [{MODEL}]\n"
        for i in range(machines)
    )
    inventory = root / "studio.yml"
    inventory.write_text(f"""version: 1
github:
  owner: {OWNER}
  repos: [{", ".join(apps)}]
  api_url: {github_url}
models:
  {MODEL}:
    family: olmo3
    memory_gb: 8
nodes:
  chronos:
    os: linux
    arch: x64
    memory_gb: 32
    roles: [production]
    apps_dir: {apps_dir}
    runner:
      scope: repo
      repo: {apps[0]}
      role: deploy
      labels: [chronos-deploy]
      user: github-runner
  selene:
    os: linux
    arch: x64
    memory_gb: 64
    roles: [review]
    ollama:
      url: {ollama_url}
      models: [{MODEL}]
  hermes:
    os: linux
    arch: x64
    memory_gb: 16
    roles: [review]
    ollama:
      url: http://127.0.0.1:{dead_port}
      models: [{MODEL}]
{extra}""")
    template = _template_repo(root)
    for index, app in enumerate(apps):
        _clone(root, app, template, "v1.0.0" if index == 0 else "v1.1.0")
    (apps_dir / apps[0] / "deploy").mkdir(parents=True)
    (apps_dir / apps[0] / "deploy" / "deploy.json").write_text(json.dumps({"domain": f"{apps[0]}.example.com"}))
    _journal(
        apps_dir / apps[0],
        [
            _release(1, "abc1111", "previous"),
            _release(2, "bad2222", "failed", error="web-blue turned unhealthy: /healthz answered 500"),
            _release(3, "def3333", "previous"),
            _release(4, "abc1111", "active", kind="rollback"),
        ],
        active="20250104T100000Z-abc1111",
    )
    # backup.py's record: an old backup and a failed drill, so the page must show both as failing.
    (apps_dir / apps[0] / ".deploy" / "backup").mkdir(parents=True)
    (apps_dir / apps[0] / ".deploy" / "backup" / "status.json").write_text(
        json.dumps(
            {
                "backups": [{"time": "2025-01-01T03:15:00", "ok": True}],
                "drills": [
                    {
                        "time": "2025-01-02T05:30:00",
                        "ok": False,
                        "error": "row count 0 < 1 (SELECT count(*) FROM items)",
                    }
                ],
            }
        )
    )
    return inventory
