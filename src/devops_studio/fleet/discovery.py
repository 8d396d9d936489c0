"""Which app repos a fleet command works on.

Sources, in the order they are listed on the command line:

- `--repos`: local clones (paths) or git URLs;
- `--folder`: every direct sub-folder that is a git repo with a `.copier-answers.yml`;
- the inventory (`--inventory`, or `studio.yml` in the current folder when neither of the others
  is given): the repos listed under `github.repos` of `github.owner`. A clone of the same name
  given with `--repos`/`--folder` is used in place of the GitHub URL.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from devops_studio.fleet.answers import ANSWERS_FILE
from devops_studio.fleet.gitcmd import is_url

DEFAULT_INVENTORY = Path("studio.yml")


class DiscoveryError(ValueError):
    """Bad repo list; the message names the input and the fix."""


@dataclass(frozen=True)
class RepoRef:
    """One app repo: a local clone (path) or a remote URL."""

    name: str
    location: str
    local: bool
    github: str | None = None  # "owner/repo" when the inventory names it

    @property
    def path(self) -> Path:
        return Path(self.location)


def repo_name(location: str) -> str:
    tail = location.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    return tail[: -len(".git")] if tail.endswith(".git") else tail


def _ref_for(location: str, field: str, github: str | None = None, name: str | None = None) -> RepoRef:
    if is_url(location):
        return RepoRef(name or repo_name(location), location, local=False, github=github)
    path = Path(location).expanduser()
    if not path.is_dir():
        raise DiscoveryError(f"{field}: {location!r} is neither a folder nor a git URL; fix the path")
    if not (path / ".git").exists():
        raise DiscoveryError(f"{field}: {location!r} is not a git repo; pass the root of a clone")
    path = path.resolve()
    return RepoRef(name or path.name, str(path), local=True, github=github)


def from_folder(folder: Path) -> list[RepoRef]:
    if not folder.is_dir():
        raise DiscoveryError(f"--folder: {str(folder)!r} is not a folder; pass the folder holding the clones")
    refs = [
        _ref_for(str(child), "--folder")
        for child in sorted(folder.iterdir())
        if child.is_dir() and (child / ".git").exists() and (child / ANSWERS_FILE).is_file()
    ]
    if not refs:
        raise DiscoveryError(
            f"--folder: no git repos with {ANSWERS_FILE} in {str(folder)!r}; pass the folder of app clones"
        )
    return refs


def from_inventory(path: Path) -> list[RepoRef]:
    """The app repos the inventory names: `github.owner` and `github.repos`.

    Each becomes a GitHub URL (`$GITHUB_SERVER_URL`, default https://github.com). The inventory is
    loaded and validated by the same code as every other command, so a broken studio.yml is
    reported once, the same way, with file, line and key.
    """
    from devops_studio.inventory import InventoryError, load_inventory

    try:
        inventory = load_inventory(path)
    except InventoryError as exc:
        raise DiscoveryError(str(exc)) from exc
    if not inventory.owner or not inventory.repos:
        raise DiscoveryError(f"{path}: github.owner and github.repos name the app repos; add them to update a fleet")
    server = os.environ.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
    return [
        RepoRef(name, f"{server}/{inventory.owner}/{name}.git", local=False, github=f"{inventory.owner}/{name}")
        for name in inventory.repos
    ]


def discover(
    repos: list[str] | None = None,
    folder: Path | None = None,
    inventory: Path | None = None,
) -> list[RepoRef]:
    """The repos to work on, each once, in the order given."""
    refs: list[RepoRef] = []
    for location in repos or []:
        refs.append(_ref_for(location, "--repos"))
    if folder is not None:
        refs.extend(from_folder(folder))
    if inventory is not None:
        if not inventory.is_file():
            raise DiscoveryError(f"--inventory: {str(inventory)!r} does not exist; pass the path of studio.yml")
        refs.extend(from_inventory(inventory))
    elif not refs and DEFAULT_INVENTORY.is_file():
        refs.extend(from_inventory(DEFAULT_INVENTORY))
    if not refs:
        raise DiscoveryError("no repos: pass --repos PATH_OR_URL..., --folder DIR, or --inventory studio.yml")
    unique: dict[str, RepoRef] = {}
    names: dict[str, str] = {}
    for ref in refs:
        if ref.location in unique:
            continue
        if not ref.local and ref.github and ref.name in names:
            # The inventory names a repo that is also given as a clone: use the clone.
            clone = unique[names[ref.name]]
            unique[clone.location] = replace(clone, github=clone.github or ref.github)
            continue
        if ref.name in names:
            raise DiscoveryError(
                f"two repos named {ref.name!r} ({names[ref.name]} and {ref.location}); "
                "give them distinct names in the inventory"
            )
        unique[ref.location] = ref
        names[ref.name] = ref.location
    return list(unique.values())
