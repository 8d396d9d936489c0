"""The lab a dashboard shows, and the sources that measure it.

Machines are the nodes of studio.yml; apps are the repos of `github.repos`, deployed under the
production node's `apps_dir` (or `--apps-dir`); repos are what `fleet status` would list (the
inventory's, or `--repos`/`--folder`). A node counts as this machine as `doctor` decides: by host
name, and a machine the inventory does not know is taken at its word.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from devops_studio.dashboard import readers
from devops_studio.dashboard.sources import Source
from devops_studio.fleet.discovery import RepoRef
from devops_studio.fleet.pullrequest import slug_from_url
from devops_studio.github_api import GitHubClient
from devops_studio.inventory import Inventory, Node
from devops_studio.nodes.cli_support import this_machine
from devops_studio.ollama.client import elsewhere_problem, resolve_url
from devops_studio.runner.manager import host_os

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass
class Lab:
    inventory: Inventory
    repos: list[RepoRef] = field(default_factory=list)
    github: GitHubClient | None = None
    apps_dir: Path | None = None  # where the apps are deployed, on this machine
    alerts_url: str | None = None
    here: str | None = None  # --node: the node this dashboard runs on
    timeout: float = 5.0
    reach_timeout: float = 2.0
    github_interval: float = 0.0  # GitHub sources are asked again at most this often (seconds)

    @property
    def apps(self) -> tuple[str, ...]:
        return self.inventory.repos

    def production(self) -> Node | None:
        return next((n for n in self.inventory.nodes.values() if n.has("production")), None)

    def app_dir(self, app: str) -> Path:
        if self.apps_dir is not None:
            return self.apps_dir / app
        node = self.production()
        return Path(node.apps_dir if node and node.apps_dir else "/home/chronos/apps") / app

    def is_here(self, node: Node) -> bool:
        """This machine: --node, else by host name as doctor decides (and only a node of this OS)."""
        if self.here is not None:
            return node.name == self.here
        return node.os == host_os() and this_machine(self.inventory, node)

    def repo_slug(self, ref: RepoRef) -> str | None:
        """owner/name on GitHub: the inventory's, the URL's, else the inventory's owner and the clone's name."""
        if ref.github:
            return ref.github
        return slug_from_url(ref.location) or (f"{self.inventory.owner}/{ref.name}" if self.inventory.owner else None)


def _local_up(name: str) -> dict:
    return {"up": True, "address": f"{name} (this machine)"}


def _loopback_elsewhere(lab: Lab, node: Node) -> bool:
    if node.ollama is None or lab.is_here(node):
        return False
    return urllib.parse.urlsplit(resolve_url(node.ollama.url)).hostname in LOOPBACK


def _not_asked(reason: str):
    raise LookupError(reason)


def machine_sources(lab: Lab, node: Node) -> list[Source]:
    here = lab.is_here(node)
    sources = []
    if here and node.ollama is None:
        sources.append(Source(f"reach:{node.name}", partial(_local_up, node.name), lab.reach_timeout))
    else:
        host, port = (
            (node.host or node.name, readers.SSH_PORT) if _loopback_elsewhere(lab, node) else readers.probe_target(node)
        )
        sources.append(
            Source(f"reach:{node.name}", partial(readers.reach, host, port, lab.reach_timeout), lab.reach_timeout + 0.5)
        )
    github = (lambda: lab.github) if lab.github is not None else (lambda: None)
    sources.append(
        Source(
            f"doctor:{node.name}",
            partial(readers.doctor_report, lab.inventory, node, github, here),
            max(lab.timeout * 3, 15),
        )
    )
    if node.ollama is not None:
        problem = None if here else elsewhere_problem(node.name, node.ollama.url, None)
        read = (
            partial(_not_asked, problem)
            if problem
            else partial(readers.ollama_models, resolve_url(node.ollama.url), lab.timeout)
        )
        sources.append(Source(f"ollama:{node.name}", read, lab.timeout + 1))
    if here:
        paths = ["/"] + ([node.apps_dir] if node.apps_dir else [])
        sources.append(Source(f"disk:{node.name}", partial(readers.disk, paths), lab.timeout))
    return sources


def app_sources(lab: Lab, app: str) -> list[Source]:
    app_dir = lab.app_dir(app)
    return [
        Source(f"deploy:{app}", partial(readers.deploy_status, app_dir), readers.DEPLOY_STATUS_TIMEOUT + 2),
        Source(f"cert:{app}", partial(readers.certificate, app_dir), lab.timeout),
        Source(f"backup:{app}", partial(readers.backup, app_dir), lab.timeout),
    ]


def repo_sources(lab: Lab) -> list[Source]:
    sources = []
    if lab.repos:
        fleet_age = lab.github_interval if lab.github is not None else 0.0
        sources.append(Source("fleet", partial(readers.fleet, lab.repos, lab.github), lab.timeout * 6, fleet_age))
    if lab.github is not None:
        for ref in lab.repos:
            slug = lab.repo_slug(ref)
            if slug:
                ci = partial(readers.ci_state, lab.github, slug)
                review = partial(readers.last_review, lab.github, slug)
                sources.append(Source(f"ci:{ref.name}", ci, lab.timeout * 2, lab.github_interval))
                sources.append(Source(f"review:{ref.name}", review, lab.timeout * 3, lab.github_interval))
    return sources


def build_sources(lab: Lab) -> list[Source]:
    sources: list[Source] = []
    for node in lab.inventory.nodes.values():
        sources.extend(machine_sources(lab, node))
    for app in lab.apps:
        sources.extend(app_sources(lab, app))
    sources.extend(repo_sources(lab))
    if lab.alerts_url:
        sources.append(Source("alerts", partial(readers.alerts, lab.alerts_url, lab.timeout), lab.timeout + 1))
    return sources
