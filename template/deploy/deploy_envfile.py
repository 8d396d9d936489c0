""".env files: read as Docker Compose reads them, and checked against .env.example."""

from __future__ import annotations

import re
from pathlib import Path

from deploy_core import DEPLOY_SET, AppDir, DeployError, Settings, compose_paths, log


def parse_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines as docker compose reads them (comments, `export`, quotes)."""
    values: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        name, sep, value = line.partition("=")
        name = name.strip()
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[name] = value
    return values


def required_names(example: Path, compose_texts: list[str]) -> tuple[list[str], list[str]]:
    """(required, optional) names: .env.example lines with an empty value or a "Required" comment
    just above, and ${NAME:?...} references in the compose files, are required."""
    required: list[str] = []
    optional: list[str] = []
    comment = ""
    for raw in example.read_text().splitlines():
        line = raw.strip()
        if line.startswith("#"):
            comment += " " + line.lower()
            continue
        if not line:
            comment = ""
            continue
        name, sep, value = line.partition("=")
        name = name.strip().removeprefix("export ").strip()
        if sep and name not in DEPLOY_SET:
            if value.strip() == "" or "required" in comment:
                required.append(name)
            else:
                optional.append(name)
        comment = ""
    for text in compose_texts:
        for name in re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*):?\?", text):
            if name not in DEPLOY_SET and name not in required:
                required.append(name)
    optional = [n for n in optional if n not in required]
    return required, optional


def check_env(settings: Settings, app: AppDir, source: Path) -> None:
    """Stop before any change when .env lacks a required name (never print values)."""
    example = source / ".env.example"
    if not app.env_file.exists():
        raise DeployError(
            f"{app.env_file} does not exist: copy .env.example there and fill in its values"
        )
    if not example.exists():
        log(f"no .env.example in {source}: skipping the .env check")
        return
    texts = [p.read_text() for p in compose_paths(settings, source) if p.exists()]
    required, optional = required_names(example, texts)
    env = parse_env_file(app.env_file)
    missing = [n for n in required if n not in env]
    empty = [n for n in required if n in env and not env[n].strip()]
    if missing or empty:
        parts = []
        if missing:
            parts.append("missing: " + ", ".join(missing))
        if empty:
            parts.append("empty: " + ", ".join(empty))
        raise DeployError(
            f"{app.env_file} lacks required settings ({'; '.join(parts)}). "
            f"Fix: set them in {app.env_file} (see .env.example); nothing was changed."
        )
    unset = [n for n in optional if n not in env]
    if unset:
        log("optional settings not in .env (their defaults apply): " + ", ".join(unset))
    log(f".env has every required setting ({len(required)} checked)")
