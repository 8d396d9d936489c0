"""What the page shows, built from a snapshot of facts: one row per machine, app and repo.

Every cell keeps the Fact it came from, so the template can print when it was measured, or that its
source gave no answer and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from devops_studio.dashboard.lab import Lab
from devops_studio.dashboard.model import Fact, Snapshot, waiting

HISTORY_ON_CARD = 5


@dataclass
class MachineView:
    name: str
    roles: tuple[str, ...]
    os: str
    reach: Fact
    doctor: Fact
    ollama: Fact | None
    disk: Fact | None
    runner_checks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def up(self) -> bool:
        return self.reach.answered


@dataclass
class AppView:
    name: str
    deploy: Fact
    cert: Fact
    alerts: list[dict[str, Any]]
    backup: Fact | None = None

    @property
    def releases(self) -> list[dict[str, Any]]:
        return list((self.deploy.data or {}).get("releases", [])) if self.deploy.answered else []

    @property
    def active(self) -> dict[str, Any] | None:
        return (self.deploy.data or {}).get("active") if self.deploy.answered else None

    @property
    def containers(self) -> dict[str, str]:
        return (self.deploy.data or {}).get("containers", {}) if self.deploy.answered else {}

    @property
    def recent(self) -> list[dict[str, Any]]:
        return list(reversed(self.releases[-HISTORY_ON_CARD:]))


@dataclass
class RepoView:
    name: str
    fleet: Fact
    row: dict[str, Any] | None
    ci: Fact | None
    review: Fact | None = None


@dataclass
class Page:
    machines: list[MachineView]
    apps: list[AppView]
    repos: list[RepoView]
    alerts: Fact | None
    snapshot: Snapshot


def mark(release: dict[str, Any]) -> str:
    """How a release is marked in the history: failed, rolled-back (a rollback release) or ok."""
    if release.get("status") == "failed":
        return "failed"
    if release.get("kind") == "rollback":
        return "rolled-back"
    return "ok"


def build_page(lab: Lab, snapshot: Snapshot) -> Page:
    machines = []
    for node in lab.inventory.nodes.values():
        doctor = snapshot.get(f"doctor:{node.name}")
        runner = (
            [c for c in (doctor.data or {}).get("checks", []) if c.get("name", "").startswith("runner")]
            if doctor.answered
            else []
        )
        machines.append(
            MachineView(
                node.name,
                node.roles,
                node.os,
                snapshot.get(f"reach:{node.name}"),
                doctor,
                snapshot.get(f"ollama:{node.name}") if node.ollama is not None else None,
                snapshot.facts.get(f"disk:{node.name}"),
                runner,
            )
        )
    alerts = snapshot.get("alerts") if lab.alerts_url else None
    firing = alerts.data if alerts is not None and alerts.answered else []
    apps = [
        AppView(
            app,
            snapshot.get(f"deploy:{app}"),
            snapshot.get(f"cert:{app}"),
            [a for a in firing if a.get("app") == app],
            snapshot.get(f"backup:{app}"),
        )
        for app in lab.apps
    ]
    fleet = snapshot.get("fleet") if lab.repos else waiting("fleet")
    rows = {row.get("name"): row for row in (fleet.data or [])} if fleet.answered else {}
    repos = [
        RepoView(
            ref.name,
            fleet,
            rows.get(ref.name),
            snapshot.facts.get(f"ci:{ref.name}"),
            snapshot.facts.get(f"review:{ref.name}"),
        )
        for ref in lab.repos
    ]
    return Page(machines, apps, repos, alerts, snapshot)
