"""Docker and the per-release compose model: containers of the app's project, colours, ports."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from pathlib import Path

from deploy_core import AppDir, DeployError, Settings, UsageError, compose_paths, run
from deploy_envfile import parse_env_file

# ───────────────────────────── docker ─────────────────────────────


class Docker:
    def __init__(self, settings: Settings, app: AppDir):
        self.settings = settings
        self.app = app
        self.env = dict(os.environ, COMPOSE_IGNORE_ORPHANS="1")

    def compose(
        self,
        model: Path,
        project_dir: Path,
        *args: str,
        check: bool = True,
        capture: bool = True,
        timeout: float | None = None,
    ) -> subprocess.CompletedProcess:
        cmd = [*self._compose_argv(project_dir), "-f", str(model), *args]
        return run(cmd, check=check, capture=capture, env=self.env, timeout=timeout)

    def _compose_argv(self, project_dir: Path) -> list[str]:
        """`docker compose` for this app's project, directory and .env."""
        return [
            "docker",
            "compose",
            "-p",
            self.settings.project,
            "--project-directory",
            str(project_dir),
            "--env-file",
            str(self.app.env_file),
        ]

    def resolve(self, source: Path) -> dict:
        files: list[str] = []
        for path in compose_paths(self.settings, source):
            if not path.exists():
                raise DeployError(
                    f"compose file {path} does not exist (compose_files in deploy.json)"
                )
            files += ["-f", str(path)]
        cmd = [*self._compose_argv(source), *files, "config", "--no-interpolate", "--format=json"]
        return json.loads(run(cmd, env=self.env).stdout)

    def containers(self, service: str | None = None, all_states: bool = True) -> list[str]:
        cmd = [
            "docker",
            "ps",
            "-q",
            "--no-trunc",
            "--filter",
            f"label=com.docker.compose.project={self.settings.project}",
        ]
        if all_states:
            cmd.insert(2, "-a")
        if service:
            cmd += ["--filter", f"label=com.docker.compose.service={service}"]
        return [c for c in run(cmd).stdout.split() if c]

    def inspect(self, container: str) -> dict:
        out = run(["docker", "inspect", container], check=False)
        if out.returncode != 0:
            return {}
        data = json.loads(out.stdout)
        return data[0] if data else {}

    def logs(self, container: str) -> str:
        out = run(
            ["docker", "logs", "--tail", str(self.settings.log_lines), container], check=False
        )
        return (out.stdout + out.stderr).strip()

    def remove(self, service: str) -> None:
        for cid in self.containers(service):
            run(["docker", "stop", "-t", str(self.settings.stop_timeout), cid], check=False)
            run(["docker", "rm", "-f", cid], check=False)

    def image_exists(self, image: str) -> bool:
        return run(["docker", "image", "inspect", image], check=False).returncode == 0


# ───────────────────────────── the deploy ─────────────────────────────


def colour_service(settings: Settings, colour: str) -> str:
    return f"{settings.web_service}-{colour}"


def env_port(settings: Settings, env: dict) -> int:
    """APP_HOST_PORT from .env (the first loopback port of the app), or app_port."""
    raw = env.get("APP_HOST_PORT") or str(settings.app_port)
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise UsageError(
            f"{raw!r} is not a port", "APP_HOST_PORT in .env", "set it to a number in 1-65535"
        )
    return int(raw)


def free_port(settings: Settings, avoid: set[int]) -> int:
    env = parse_env_file(AppDir(settings).env_file) if AppDir(settings).env_file.exists() else {}
    base = env_port(settings, env)
    for port in range(base, base + int(settings.port_span)):
        if port in avoid:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise DeployError(
        f"no free loopback port in {base}-{base + settings.port_span - 1}; "
        "set APP_HOST_PORT in .env to a free range"
    )


def copy_mounted_files(
    model: dict, source: Path, bundle: Path, shared: Path, web_service: str
) -> None:
    """Bind mounts from the checkout point at copies that outlive the checkout.

    The web service's files go into the release bundle (each colour keeps its own). Other services
    (the proxy, the database) run across releases, so their files live at one stable place and are
    rewritten in place: their containers are not recreated and single-file mounts see the update.
    """
    for name, service in model.get("services", {}).items():
        dest_root = bundle if name == web_service else shared
        for volume in service.get("volumes", []) or []:
            if not isinstance(volume, dict) or volume.get("type") != "bind":
                continue
            src = Path(volume["source"])
            try:
                rel = src.relative_to(source)
            except ValueError:
                continue
            dest = dest_root / rel
            if src.is_dir():
                shutil.copytree(src, dest, dirs_exist_ok=True)
            elif src.exists():
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dest)
            volume["source"] = str(dest)


def runtime_model(
    settings: Settings,
    app: AppDir,
    resolved: dict,
    colour: str,
    image: str,
    ref: str,
    port: int | None,
) -> dict:
    """The compose model of one release: web renamed to its colour, with its image and port."""
    model = json.loads(json.dumps(resolved))
    services = model.setdefault("services", {})
    web_name = settings.web_service
    if web_name not in services:
        raise DeployError(
            f"the compose files define no `{web_name}` service (web_service in deploy.json)"
        )
    web = services.pop(web_name)
    web.pop("build", None)
    web.pop("container_name", None)
    web["image"] = image
    env = web.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    env["APP_VERSION"] = ref
    web["environment"] = env
    labels = web.get("labels") or {}
    if isinstance(labels, list):
        labels = dict(item.split("=", 1) for item in labels)
    labels.update({"studio.deploy.colour": colour, "studio.deploy.ref": ref})
    web["labels"] = labels
    if settings.proxy == "host-nginx":
        web["ports"] = [f"127.0.0.1:{port}:{settings.app_port}"]
    elif settings.proxy == "compose-nginx":
        web.pop("ports", None)
    services[colour_service(settings, colour)] = web
    for name, service in services.items():
        deps = service.get("depends_on")
        if isinstance(deps, dict):
            deps.pop(web_name, None)
        elif isinstance(deps, list) and web_name in deps:
            deps.remove(web_name)
        if settings.proxy == "compose-nginx" and name == settings.proxy_service:
            # The proxy reads the upstream include from the app directory (same path inside).
            mount = {
                "type": "bind",
                "source": str(app.deploy),
                "target": str(app.deploy),
                "read_only": True,
            }
            service.setdefault("volumes", []).append(mount)
    return model
