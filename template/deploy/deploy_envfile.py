""".env files: read as Docker Compose reads them, and checked against .env.example."""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from pathlib import Path

from deploy_core import DEPLOY_SET, AppDir, Settings, UsageError, compose_paths, log


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


UNSET = "__deploy_py_unset__"


def compose_values(settings: Settings, app: AppDir, names: list[str]) -> dict[str, str | None]:
    """The values Compose itself gives `names` from .env (and the environment, which wins, as it
    does for the deploy's own `docker compose` calls); None: unset. Never printed."""
    model = {
        "name": f"{settings.project}-envcheck",
        "services": {},
        "x-values": {n: "${" + n + "-" + UNSET + "}" for n in names},
    }
    with tempfile.TemporaryDirectory(prefix="deploy-envcheck-") as tmp:
        path = Path(tmp) / "compose.json"
        path.write_text(json.dumps(model))
        cmd = ["docker", "compose", "-f", str(path), "--env-file", str(app.env_file)]
        try:
            proc = subprocess.run(
                [*cmd, "config", "--format", "json"], capture_output=True, text=True, check=False
            )
        except FileNotFoundError:
            raise UsageError(
                "docker is not installed", "check-env", "install Docker with Compose v2"
            ) from None
    if proc.returncode != 0:
        where = re.search(r"line (\d+)", proc.stderr)
        raise UsageError(
            "Compose cannot read the file" + (f" at line {where.group(1)}" if where else ""),
            str(app.env_file),
            "fix its syntax (see `docker compose --env-file .env config`; values stay unprinted)",
        )
    values = json.loads(proc.stdout).get("x-values") or {}
    # `config` writes a literal `$` as `$$` again.
    return {
        n: (None if values.get(n) == UNSET else str(values.get(n, "")).replace("$$", "$"))
        for n in names
    }


def dollar_warnings(path: Path) -> list[str]:
    """Names whose value holds a `$` that Compose reads as the start of a variable.

    Compose interpolates unquoted and double-quoted values: `pa$word` becomes `pa` followed by the
    value of `word` (usually nothing), silently. `$$` is a literal `$`; single quotes keep all."""
    names = []
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if line.startswith("export "):
            line = line[len("export ") :]
        name, sep, value = line.partition("=")
        value = value.strip()
        if not sep or line.startswith("#") or value.startswith("'"):
            continue
        if re.search(r"(?<!\$)(\$\$)*\$(?!\$)", value):
            names.append(name.strip())
    return names


def check_env(settings: Settings, app: AppDir, source: Path) -> None:
    """Stop before any change when .env lacks a required name, as Compose reads it (never print
    values)."""
    example = source / ".env.example"
    if not app.env_file.exists():
        raise UsageError(
            "the app directory has no .env",
            str(app.env_file),
            "copy .env.example there, fill in its values and chmod 600 it",
        )
    if not example.exists():
        log(f"no .env.example in {source}: skipping the .env check")
        return
    texts = [p.read_text() for p in compose_paths(settings, source) if p.exists()]
    required, optional = required_names(example, texts)
    for name in dollar_warnings(app.env_file):
        log(
            f"warning: the value of {name} holds a `$` that Compose reads as a variable and "
            "replaces; write `$$` for a literal `$`, or put the value in single quotes"
        )
    env = compose_values(settings, app, required + optional)
    missing = [n for n in required if env[n] is None]
    empty = [n for n in required if env[n] is not None and not env[n].strip()]
    if missing or empty:
        parts = []
        if missing:
            parts.append("missing: " + ", ".join(missing))
        if empty:
            parts.append("empty: " + ", ".join(empty))
        raise UsageError(
            f"required settings are not set ({'; '.join(parts)})",
            str(app.env_file),
            "set them (see .env.example); nothing was changed",
        )
    unset = [n for n in optional if env[n] is None]
    if unset:
        log("optional settings not in .env (their defaults apply): " + ", ".join(unset))
    log(f".env has every required setting ({len(required)} checked, as Compose reads them)")
