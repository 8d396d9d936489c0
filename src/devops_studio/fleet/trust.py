"""Which template sources the fleet may run: `fleet.trusted_templates` in studio.yml.

A pattern is a git URL or a local path; `*` matches within one path segment, `**` across
segments. Sources and patterns are compared in one normal form: Copier shorthands expanded,
credentials and a trailing `.git`/`/` dropped, local paths made absolute (patterns relative to
the inventory's folder). A URL with `.`/`..` segments or an unknown transport is never trusted.
The bundled template is always trusted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from devops_studio.fleet.gitcmd import is_url
from devops_studio.fleet.mirror import expand_template_url
from devops_studio.redact import redact_url

_SCHEMES = re.compile(r"(?:https?|ssh|git|file)://\S+|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:\S+")


def normal_form(source: str, base: Path) -> str | None:
    """The source as compared with patterns, or None when it cannot be trusted at all."""
    url = expand_template_url(source)  # no strip(): a trailing newline is a different source
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        return None
    if is_url(url):
        if not _SCHEMES.fullmatch(url):
            return None
        url = redact_url(url).replace("***@", "", 1)
        path = url.split("://", 1)[-1]
        if any(seg in (".", "..") for seg in re.split(r"[/:]", path)):
            return None
    else:
        url = str((base / Path(url).expanduser()).resolve())
    url = url.rstrip("/")
    return url[: -len(".git")] if url.endswith(".git") else url


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    parts = re.split(r"(\*\*|\*)", pattern)
    body = "".join(".*" if p == "**" else "[^/]*" if p == "*" else re.escape(p) for p in parts)
    return re.compile(body)


@dataclass(frozen=True)
class TrustPolicy:
    patterns: tuple[str, ...]  # in normal form

    @classmethod
    def build(cls, patterns: list[str] | tuple[str, ...], base: Path) -> TrustPolicy:
        from devops_studio.template_source import template_root

        normal = [n for p in patterns if (n := normal_form(p, base))]
        normal.append(str(template_root().resolve()))
        return cls(tuple(normal))

    def allows(self, source: str) -> bool:
        normal = normal_form(source, Path.cwd())
        return normal is not None and any(_pattern_regex(p).fullmatch(normal) for p in self.patterns)

    def refusal(self, source: str) -> str:
        return (
            f"template {redact_url(source)} is not trusted: nothing of this repo was run. If you trust it, "
            "add it (or a pattern) to fleet.trusted_templates in studio.yml"
        )
