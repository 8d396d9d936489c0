"""What the dashboard shows, gathered from the parts that already know it, each with a deadline.

Every source runs in its own thread and has `timeout` seconds; one that fails or does not answer
in time is shown as "no answer" with the reason, and never holds the page up. Each result carries
the time it was measured. Sources only read: the Ollama API, the files deploy.py and backup.py
write in each app folder, each app's /healthz on loopback, and `fleet status`.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devops_studio.backup_status import app_checks
from devops_studio.inventory import Inventory, Node
from devops_studio.redact import redact


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Fact:
    """One source's answer: `data` when it answered, `error` when it did not."""

    source: str
    measured_at: str
    data: Any = None
    error: str | None = None

    @property
    def answered(self) -> bool:
        return self.error is None


@dataclass
class Snapshot:
    machines: list[Fact] = field(default_factory=list)
    apps: list[Fact] = field(default_factory=list)
    repos: Fact | None = None
    taken_at: str = field(default_factory=now_iso)


def _get_json(url: str, timeout: float) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310 (http(s) URLs from the inventory)
        return json.loads(answer.read(1 << 20))


def machine(node: Node, timeout: float) -> dict[str, Any]:
    """Up or not (its Ollama, else its ssh port), the models it holds and its runner."""
    facts: dict[str, Any] = {
        "name": node.name,
        "os": node.os,
        "roles": list(node.roles),
        "models": None,
        "missing_models": [],
    }
    facts["runner"] = ", ".join(node.runner.labels) if node.runner else None
    if node.ollama is not None:
        tags = _get_json(node.ollama.url.rstrip("/") + "/api/tags", timeout)
        facts["models"] = sorted(m.get("name", "?") for m in tags.get("models", []))
        facts["missing_models"] = sorted(set(node.ollama.models) - {m.split(":latest")[0] for m in facts["models"]})
        return facts
    if not node.host:
        raise ValueError("no host and no Ollama in the inventory: nothing to ask")
    with socket.create_connection((node.host, 22), timeout=timeout):
        pass
    return facts


def app(folder: Path, timeout: float) -> dict[str, Any]:
    """The live release, its health, the deploy history and the newest verified backup of one app."""
    state = json.loads((folder / ".deploy" / "state.json").read_text())
    releases = state.get("releases", [])
    active = next((r for r in releases if r.get("id") == state.get("active")), None)
    facts: dict[str, Any] = {"name": folder.name, "live": active and active.get("ref"), "health": None}
    facts["history"] = [
        {
            "time": r.get("time"),
            "ref": r.get("ref"),
            "kind": r.get("kind"),
            "status": r.get("status"),
            "error": r.get("error"),
        }
        for r in releases[-20:]
    ]
    if active and active.get("port"):
        try:
            facts["health"] = _get_json(f"http://127.0.0.1:{int(active['port'])}/healthz", timeout).get("status")
        except (OSError, ValueError) as error:
            facts["health"] = f"no answer ({error})"
    status_file = folder / ".deploy" / "backup" / "status.json"
    facts["backup"] = (
        [(name, status, detail) for name, status, detail in app_checks(status_file)]
        if (status_file.is_file())
        else None
    )
    return facts


def app_folders(apps_dirs: list[Path]) -> list[Path]:
    return sorted(p for d in apps_dirs if d.is_dir() for p in d.iterdir() if (p / ".deploy" / "state.json").is_file())


def _run_all(jobs: dict[str, Callable[[], Any]], timeout: float) -> dict[str, Fact]:
    results: dict[str, Fact] = {}
    pool = ThreadPoolExecutor(max_workers=max(1, min(16, len(jobs))))
    futures = {name: pool.submit(job) for name, job in jobs.items()}
    for name, future in futures.items():
        try:
            results[name] = Fact(name, now_iso(), data=future.result(timeout=timeout))
        except FutureTimeout:
            results[name] = Fact(name, now_iso(), error=f"no answer within {timeout:g} s")
        except Exception as error:  # noqa: BLE001 - any failure of one source is shown, not raised
            results[name] = Fact(name, now_iso(), error=redact(f"{type(error).__name__}: {error}")[:300])
    pool.shutdown(wait=False, cancel_futures=True)  # a hung source is left behind, not waited for
    return results


def gather(
    inventory: Inventory | None,
    apps_dirs: list[Path],
    *,
    timeout: float = 3.0,
    repos: Callable[[], Any] | None = None,
) -> Snapshot:
    jobs: dict[str, Callable[[], Any]] = {}
    nodes = list(inventory.nodes.values()) if inventory else []
    for node in nodes:
        jobs[f"machine:{node.name}"] = lambda node=node: machine(node, timeout)
    for folder in app_folders(apps_dirs):
        jobs[f"app:{folder.name}"] = lambda folder=folder: app(folder, timeout)
    if repos is not None:
        jobs["repos"] = repos
    results = _run_all(jobs, timeout)
    snapshot = Snapshot()
    snapshot.machines = [results[f"machine:{n.name}"] for n in nodes]
    snapshot.apps = [results[name] for name in jobs if name.startswith("app:")]
    snapshot.repos = results.get("repos")
    return snapshot
