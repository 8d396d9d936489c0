"""One local bare mirror of the template per run.

Every update of the run reaches the template through this mirror: the worker processes get git's
`url.<mirror>.insteadOf <template url>` in their environment, so every clone Copier makes of the
template is a local clone of the mirror, and the network is used once per run, not five times per
repo.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from devops_studio.fleet.gitcmd import GitError, git, is_url

# Copier's shorthands for hosted templates.
SHORTHANDS = {
    "gh:": "https://github.com/",
    "gl:": "https://gitlab.com/",
}


def expand_template_url(src: str) -> str:
    """Turn Copier's `gh:owner/repo` shorthand into the URL git fetches."""
    for prefix, base in SHORTHANDS.items():
        if src.startswith(prefix):
            url = base + src[len(prefix) :]
            return url if url.endswith(".git") else url + ".git"
    if src.startswith("git+"):
        return src[4:]
    return src


def parse_version(tag: str) -> Version | None:
    try:
        return Version(tag)
    except InvalidVersion:
        return None


def version_of(ref: str) -> Version | None:
    """The version a Copier `_commit` stands for: `v1.2.0` or `v1.2.0-3-gabc123` -> 1.2.0."""
    return parse_version(re.sub(r"-\d+-g[0-9a-f]+$", "", ref))


@dataclass
class TemplateMirror:
    """A bare mirror of one template repo, fetched once per run."""

    source: str
    path: Path

    @classmethod
    def fetch(cls, source: str, path: Path) -> TemplateMirror:
        url = expand_template_url(source)
        if not is_url(url):
            url = str(Path(url).expanduser().resolve())
        try:
            git("clone", "--quiet", "--mirror", "--", url, str(path))
        except GitError as exc:
            raise GitError(
                ["clone", "--mirror", source],
                exc.returncode,
                f"cannot fetch the template {source!r}: {exc.stderr}. Check the template URL in "
                "_src_path of .copier-answers.yml, or pass --template",
            ) from exc
        return cls(source=source, path=path)

    def git(self, *args: str) -> str:
        return git(f"--git-dir={self.path}", *args)

    def tags(self) -> list[str]:
        """Release tags (PEP 440 versions, no pre-releases), oldest first."""
        tags = [t for t in self.git("tag", "--list").split() if t]
        released = [(parse_version(t), t) for t in tags]
        return [t for v, t in sorted((v, t) for v, t in released if v and not v.is_prerelease)]

    def newest(self) -> str:
        tags = self.tags()
        if not tags:
            raise ValueError(f"template {self.source!r} has no release tags (like v1.0.0); tag a release first")
        return tags[-1]

    def resolve(self, ref: str) -> str:
        """The commit id of `ref`; a clear error naming --to when it does not exist."""
        try:
            return self.git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").strip()
        except GitError as exc:
            raise ValueError(
                f"--to {ref!r}: no such tag, branch or commit in template {self.source!r}; "
                f"known versions: {', '.join(self.tags()) or 'none'}"
            ) from exc

    def show(self, ref: str, path: str) -> str | None:
        try:
            return self.git("show", f"{ref}:{path}")
        except GitError:
            return None

    def questions(self, ref: str) -> dict[str, Any]:
        """Question name -> default, from copier.yml at `ref` (settings starting with _ left out)."""
        text = self.show(ref, "copier.yml") or self.show(ref, "copier.yaml") or ""
        try:
            data = YAML(typ="safe").load(text) or {}
        except YAMLError:
            return {}
        questions: dict[str, Any] = {}
        for name, spec in data.items():
            if str(name).startswith("_"):
                continue
            questions[str(name)] = spec.get("default") if isinstance(spec, dict) else spec
        return questions

    def changelog_excerpt(self, old: str, new: str, limit: int = 4000) -> str:
        """The CHANGELOG.md sections after `old` up to `new`; else the commit subjects between."""
        old_v, new_v = version_of(old), version_of(new)
        text = self.show(new, "CHANGELOG.md")
        if text and new_v:
            sections = re.split(r"(?m)^(?=## )", text)
            picked = []
            for section in sections:
                heading = re.match(r"## \[?v?([0-9][^\]\s]*)", section)
                if not heading:
                    continue
                version = parse_version(heading.group(1))
                if version and version <= new_v and (old_v is None or version > old_v):
                    picked.append(section.strip())
            if picked:
                return "\n\n".join(picked)[:limit]
        try:
            log = self.git("log", "--format=- %s", f"{old}..{new}")
        except GitError:
            log = ""
        return log.strip()[:limit]


def insteadof_env(rewrites: dict[str, Path]) -> dict[str, str]:
    """git config through the environment: every template URL is fetched from its mirror.

    `GIT_CONFIG_COUNT`/`GIT_CONFIG_KEY_n`/`GIT_CONFIG_VALUE_n` reach every git process a worker
    spawns, including the ones Copier starts, without touching any config file.
    """
    env: dict[str, str] = {}
    pairs: list[tuple[str, str]] = []
    for source, mirror in rewrites.items():
        url = expand_template_url(source)
        variants = {source, url}
        if not is_url(url):
            variants.add(str(Path(url).expanduser().resolve()))
        for variant in sorted(variants):
            pairs.append((f"url.{mirror}.insteadOf", variant))
    env["GIT_CONFIG_COUNT"] = str(len(pairs))
    for i, (key, value) in enumerate(pairs):
        env[f"GIT_CONFIG_KEY_{i}"] = key
        env[f"GIT_CONFIG_VALUE_{i}"] = value
    return env
