#!/usr/bin/env python3
"""Zero-downtime deploys of this app on the production box, with Docker Compose and nginx.

    python3 deploy/deploy.py deploy   [--ref REF] [--image IMAGE] [--build-arg K=V ...]
    python3 deploy/deploy.py rollback [--to REF]
    python3 deploy/deploy.py status   [--json]
    python3 deploy/deploy.py check-env

Standard library only (Python 3.9+): the production box needs Python 3, Docker with Compose v2 and,
for `proxy: host-nginx`, nginx. Settings come from deploy/deploy.json next to this file; any key
can be overridden on one machine with an environment variable DEPLOY_<KEY> (for example
DEPLOY_DRAIN_SECONDS=5).

How a deploy goes (host-nginx and compose-nginx):
  1. .env in the app directory is checked against .env.example (names only, values never printed).
  2. A per-app lock is taken, so two deploys never interleave.
  3. The image is built (method A, build-on-host) or pulled (method B, registry), tagged with the
     ref.
  4. The new release starts as a second web service ("web-blue" or "web-green") beside the running
     one, on a fresh loopback port; its health check must pass; one-off migrations run if defined.
  5. The nginx upstream include file is rewritten, `nginx -t` checks it, nginx reloads; a smoke
     check through nginx must see the new release or the switch is undone.
  6. The old release drains and stops. The release is recorded; images of old releases are pruned.
Any failure before the switch removes the new release and leaves the old one serving. Data volumes
belong to the compose project, not to a colour, so the database is the same across releases.
With `proxy: none` the app owns its port, so a deploy is a health-gated recreate with a short gap.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import importlib.util
import json
import os
import re
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE_DIR = HERE.parent
COLOURS = ("blue", "green")
STATE_VERSION = 1
# Names the deploy itself sets for the web service; .env does not have to hold them.
DEPLOY_SET = {"APP_IMAGE", "APP_VERSION", "APP_HOST_PORT", "COMPOSE_FILE"}

DEFAULTS = {
    "app_name": "",
    "proxy": "host-nginx",
    "domain": "",
    "app_port": 8000,
    "apps_dir": "/home/chronos/apps",
    "app_dir": "",
    "deploy_method": "build-on-host",
    "registry_url": "",
    "compose_files": "compose.yaml",
    "web_service": "web",
    "proxy_service": "proxy",
    "health_path": "/healthz",
    "health_timeout": 180,
    "health_streak": 3,
    "smoke_url": "",
    "smoke_timeout": 20,
    "drain_seconds": 2,
    "stop_timeout": 20,
    "keep_releases": 3,
    "lock_timeout": 900,
    "port_span": 100,
    "migrate_command": "",
    "nginx_test_command": "nginx -t",
    "nginx_reload_command": "nginx -s reload",
    "log_lines": 40,
}


class DeployError(Exception):
    """A deploy step failed; the message says which and what to do."""


class Interrupted(DeployError):
    pass


# ───────────────────────────── small helpers ─────────────────────────────


def utc(fmt: str) -> str:
    return time.strftime(fmt, time.gmtime())


def log(message: str) -> None:
    now = time.time()
    stamp = time.strftime("%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}"
    print(f"[deploy {stamp}] {message}", flush=True)


def now_iso() -> str:
    return utc("%Y-%m-%dT%H:%M:%SZ")


def run(
    cmd: list[str],
    *,
    check: bool = True,
    capture: bool = True,
    env: dict | None = None,
    timeout: float | None = None,
) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        cmd, text=True, capture_output=capture, env=env, timeout=timeout, check=False
    )
    if check and proc.returncode != 0:
        detail = ((proc.stderr or "") + (proc.stdout or "")).strip() if capture else ""
        raise DeployError(
            f"`{' '.join(shlex.quote(c) for c in cmd)}` failed (exit {proc.returncode})"
            + (f":\n{detail}" if detail else "")
        )
    return proc


def write_atomic(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def sanitize_tag(ref: str) -> str:
    tag = re.sub(r"[^A-Za-z0-9_.-]", "-", ref).lstrip(".-")[:128]
    if not tag:
        raise DeployError(
            f"ref {ref!r} gives no usable image tag; pass --ref with letters or digits"
        )
    return tag


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


# ───────────────────────────── settings ─────────────────────────────


class Settings:
    def __init__(self, values: dict):
        self.values = values

    def __getattr__(self, key: str):
        try:
            return self.values[key]
        except KeyError:
            raise AttributeError(key) from None

    @classmethod
    def load(cls, config_path: Path, app_dir: str | None) -> Settings:
        values = dict(DEFAULTS)
        if config_path.exists():
            try:
                values.update(json.loads(config_path.read_text()))
            except json.JSONDecodeError as exc:
                raise DeployError(f"{config_path}: not valid JSON ({exc}); fix the file") from exc
        for key, default in DEFAULTS.items():
            env = os.environ.get(f"DEPLOY_{key.upper()}")
            if env is None:
                continue
            if isinstance(default, int):
                try:
                    values[key] = int(env)
                except ValueError:
                    raise DeployError(
                        f"DEPLOY_{key.upper()} must be a whole number, got {env!r}"
                    ) from None
            else:
                values[key] = env
        if app_dir:
            values["app_dir"] = app_dir
        if not values["app_name"]:
            raise DeployError(
                f"app_name is missing from {config_path}; re-render the repo or add it"
            )
        if not values["app_dir"]:
            values["app_dir"] = str(Path(values["apps_dir"]) / values["app_name"])
        if values["proxy"] not in ("host-nginx", "compose-nginx", "none"):
            raise DeployError(
                f"proxy must be host-nginx, compose-nginx or none, not {values['proxy']!r}"
            )
        return cls(values)

    @property
    def project(self) -> str:
        return self.app_name

    def command(self, key: str) -> list[str]:
        """A configured command; nginx commands go through `sudo -n` when not root."""
        cmd = self.values[key]
        argv = shlex.split(cmd) if isinstance(cmd, str) else list(cmd)
        if key.startswith("nginx_") and os.geteuid() != 0 and argv and argv[0] != "sudo":
            argv = ["sudo", "-n", *argv]
        return argv


# ───────────────────────────── the app directory ─────────────────────────────


class AppDir:
    """The app's directory on the production box: .env, and .deploy/ with what the deploy keeps."""

    def __init__(self, settings: Settings):
        self.root = Path(settings.app_dir)
        self.deploy = self.root / ".deploy"
        self.env_file = self.root / ".env"
        self.state_file = self.deploy / "state.json"
        self.lock_file = self.deploy / "lock"
        # host-nginx: the servers of an `upstream` block; compose-nginx: a `set` in a location.
        name = "proxy-upstream.conf" if settings.proxy == "compose-nginx" else "upstream.conf"
        self.upstream_file = self.deploy / name
        self.releases = self.deploy / "releases"

    def load_state(self) -> dict:
        if not self.state_file.exists():
            return {"version": STATE_VERSION, "active": None, "releases": []}
        return json.loads(self.state_file.read_text())

    def save_state(self, state: dict) -> None:
        write_atomic(self.state_file, json.dumps(state, indent=2) + "\n")


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


def compose_paths(settings: Settings, source: Path) -> list[Path]:
    files = settings.compose_files
    names = files.split(":") if isinstance(files, str) else list(files)
    return [source / n for n in names if n]


@contextlib.contextmanager
def app_lock(app: AppDir, timeout: int, wait: bool):
    app.deploy.mkdir(parents=True, exist_ok=True)
    fd = os.open(app.lock_file, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another deploy"
            if not wait:
                raise DeployError(
                    f"another deploy of this app is running ({holder}); "
                    "try again when it has finished"
                ) from None
            log(f"waiting for the running deploy to finish ({holder})")
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise DeployError(
                            f"the running deploy ({holder}) still holds the lock after "
                            f"{timeout} s; check it with `deploy.py status`"
                        ) from None
                    time.sleep(0.5)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} since {now_iso()}\n".encode(), 0)
        log("lock acquired")
        yield
    finally:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)
        log("lock released")


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


def free_port(settings: Settings, avoid: set[int]) -> int:
    env = parse_env_file(AppDir(settings).env_file) if AppDir(settings).env_file.exists() else {}
    base = int(env.get("APP_HOST_PORT") or settings.app_port)
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


class Deployer:
    def __init__(self, settings: Settings, source: Path):
        self.s = settings
        self.source = source
        self.app = AppDir(settings)
        self.docker = Docker(settings, self.app)

    # ── nginx ──

    def upstream_text(self, colour: str, port: int | None) -> str:
        head = "# Written by deploy/deploy.py: the live release (change it with deploy.py).\n"
        if self.s.proxy == "compose-nginx":
            variable = self.s.app_name.replace("-", "_") + "_upstream"
            target = f"{colour_service(self.s, colour)}:{self.s.app_port}"
            return head + f"set ${variable} {target};\n"
        return head + f"server 127.0.0.1:{port};\n"

    def nginx(self, key: str) -> None:
        if self.s.proxy == "compose-nginx":
            proxies = self.docker.containers(self.s.proxy_service, all_states=False)
            if not proxies:
                return  # not started yet: it reads the file when it starts
            argv = shlex.split(self.s.values[key])
            run(["docker", "exec", proxies[0], *argv])
        else:
            run(self.s.command(key))

    def switch(self, colour: str, port: int | None) -> str | None:
        """Point nginx at a release; returns the previous include text (None: there was none)."""
        previous = self.app.upstream_file.read_text() if self.app.upstream_file.exists() else None
        write_atomic(self.app.upstream_file, self.upstream_text(colour, port))
        try:
            self.nginx("nginx_test_command")
        except DeployError as exc:
            self.restore_upstream(previous, reload=False)
            raise DeployError(f"nginx rejected the new upstream, nothing switched: {exc}") from exc
        self.nginx("nginx_reload_command")
        log(
            f"nginx now sends traffic to {colour_service(self.s, colour)}"
            + (f" (127.0.0.1:{port})" if port else "")
        )
        return previous

    def restore_upstream(self, previous: str | None, reload: bool = True) -> None:
        if previous is None:
            with contextlib.suppress(FileNotFoundError):
                self.app.upstream_file.unlink()
        else:
            write_atomic(self.app.upstream_file, previous)
        if reload and previous is not None:
            self.nginx("nginx_test_command")
            self.nginx("nginx_reload_command")

    def smoke_url(self, port: int | None) -> tuple[str, str]:
        if self.s.smoke_url:
            return self.s.smoke_url, self.s.domain
        if self.s.proxy == "none":
            return f"http://127.0.0.1:{port}{self.s.health_path}", ""
        return f"https://127.0.0.1{self.s.health_path}", self.s.domain

    def smoke(self, ref: str, port: int | None) -> None:
        """Through nginx: 200 from the health path, naming the new release if it names one."""
        url, host = self.smoke_url(port)
        deadline = time.monotonic() + self.s.smoke_timeout
        last = "no answer"
        while time.monotonic() < deadline:
            status, body = http_get(url, host)
            if status == 200:
                try:
                    version = json.loads(body).get("version")
                except (ValueError, AttributeError):
                    version = None
                if version in (None, ref):
                    log(
                        f"smoke check passed: {url} answers 200"
                        + (f" with version {ref}" if version else "")
                    )
                    return
                last = f"200 from version {version}, not {ref}"
            else:
                last = f"status {status}" if status else body
            time.sleep(0.5)
        raise DeployError(f"smoke check through {url} failed: {last}")

    # ── health ──

    def wait_healthy(self, service: str, port: int | None) -> None:
        """Healthy: Docker's health check passed, or (published port) the same /healthz answered
        200 on every probe for `health_streak` seconds, without waiting for Docker's next interval.
        A container that exits, restarts or turns unhealthy fails at once."""
        deadline = time.monotonic() + self.s.health_timeout
        probe = f"http://127.0.0.1:{port}{self.s.health_path}" if port else None
        streak_since: float | None = None
        while True:
            ids = self.docker.containers(service)
            info = self.docker.inspect(ids[0]) if ids else {}
            state = info.get("State", {})
            health = (state.get("Health") or {}).get("Status")
            if state.get("Status") in ("exited", "dead") or state.get("RestartCount", 0) >= 2:
                raise DeployError(
                    f"{service} stopped (status {state.get('Status')}, "
                    f"exit code {state.get('ExitCode')}, restarts {state.get('RestartCount')})"
                )
            if health == "unhealthy":
                raise DeployError(f"{service} is unhealthy: its health check keeps failing")
            running = bool(state.get("Running"))
            probe_ok = probe is None or (running and http_get(probe, "")[0] == 200)
            now = time.monotonic()
            streak_since = (streak_since or now) if probe_ok and probe else None
            docker_ok = running and health in (None, "healthy")
            streak_ok = streak_since is not None and now - streak_since >= self.s.health_streak
            if (docker_ok and probe_ok) or streak_ok:
                log(f"{service} is healthy")
                return
            if now > deadline:
                raise DeployError(
                    f"{service} did not become healthy within {self.s.health_timeout} s "
                    f"(state {state.get('Status')}, health {health})"
                )
            time.sleep(0.5)

    def print_logs(self, service: str) -> None:
        for cid in self.docker.containers(service):
            text = self.docker.logs(cid)
            print(
                f"---- last log lines of {service} ----\n{text or '(no output)'}\n----",
                file=sys.stderr,
                flush=True,
            )

    # ── images ──

    def build(self, model_path: Path, service: str, image: str, build_args: list[str]) -> None:
        log(f"building {image}")
        args = ["build"]
        for item in build_args:
            args += ["--build-arg", item]
        proc = self.docker.compose(
            model_path, self.source, *args, service, check=False, capture=True
        )
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-self.s.log_lines :])
            raise DeployError(f"building {image} failed:\n{tail}")

    def pull(self, image: str) -> None:
        log(f"pulling {image}")
        run(["docker", "pull", "-q", image])

    # ── one release ──

    def release(
        self,
        *,
        ref: str,
        image: str | None,
        build_args: list[str],
        bundle_from: Path | None,
        kind: str,
    ) -> int:
        state = self.app.load_state()
        active = state.get("active")
        active_rel = find_release(state, active) if active else None
        old_colour = active_rel["colour"] if active_rel else None
        colour = "green" if old_colour == "blue" else "blue"
        new_service = colour_service(self.s, colour)
        old_service = colour_service(self.s, old_colour) if old_colour else None
        tag = sanitize_tag(ref)
        release_id = f"{utc('%Y%m%dT%H%M%SZ')}-{tag}"
        bundle = self.app.releases / release_id

        # A deploy that died half-way may have left the next colour behind: it is not serving.
        if self.docker.containers(new_service):
            log(f"removing {new_service} left over from an interrupted deploy")
            self.docker.remove(new_service)

        if bundle_from is None:
            resolved = self.docker.resolve(self.source)
        else:
            resolved = json.loads((bundle_from / "resolved.json").read_text())
        build = image is None and bundle_from is None and self.s.deploy_method != "registry"
        if image is None:
            if self.s.deploy_method == "registry":
                if not self.s.registry_url:
                    raise DeployError(
                        "registry_url is empty in deploy.json; pass --image or set it"
                    )
                image = f"{self.s.registry_url}:{tag}"
            else:
                image = f"{self.s.app_name}:{tag}"

        bundle.mkdir(parents=True, exist_ok=True)
        copy_mounted_files(
            resolved,
            self.source if bundle_from is None else bundle_from,
            bundle,
            self.app.deploy / "shared",
            self.s.web_service,
        )
        write_atomic(bundle / "resolved.json", json.dumps(resolved, indent=2) + "\n")

        port = None
        if self.s.proxy == "host-nginx":
            port = free_port(
                self.s, {active_rel["port"]} if active_rel and active_rel.get("port") else set()
            )
        elif self.s.proxy == "none":
            env = parse_env_file(self.app.env_file)
            port = int(env.get("APP_HOST_PORT") or self.s.app_port)
        model = runtime_model(self.s, self.app, resolved, colour, image, tag, port)
        model_path = bundle / "compose.json"
        write_atomic(model_path, json.dumps(model, indent=2) + "\n")

        record = {
            "id": release_id,
            "ref": ref,
            "image": image,
            "colour": colour,
            "port": port,
            "time": now_iso(),
            "kind": kind,
            "status": "starting",
        }

        stopped_old = False
        # With proxy: none the live container owns the port: the previous colour, or on the first
        # deploy after plain `docker compose up` deploys, the plain `web` container.
        port_holder = old_service
        if port_holder is None and self.docker.containers(self.s.web_service):
            port_holder = self.s.web_service
        switched_from: str | None = "unset"
        try:
            if build:
                build_model = json.loads(json.dumps(model))
                build_model["services"][new_service]["build"] = resolved["services"][
                    self.s.web_service
                ].get("build", {"context": str(self.source)})
                build_path = bundle / "build.json"
                write_atomic(build_path, json.dumps(build_model, indent=2) + "\n")
                self.build(build_path, new_service, image, build_args)
                build_path.unlink()
            elif not self.docker.image_exists(image):
                self.pull(image)

            others = [
                n
                for n in model["services"]
                if n != new_service
                and n != self.s.proxy_service
                and not n.startswith(self.s.web_service + "-")
            ]
            if others:
                log("starting " + ", ".join(others))
                self.docker.compose(model_path, bundle, "up", "-d", "--wait", *others)
            if self.s.proxy == "none" and port_holder:
                log(
                    f"stopping {port_holder} (proxy: none has one port, so the app is briefly down)"
                )
                for cid in self.docker.containers(port_holder):
                    run(["docker", "stop", "-t", str(self.s.stop_timeout), cid], check=False)
                stopped_old = True
            log(f"starting {new_service} from {image}" + (f" on 127.0.0.1:{port}" if port else ""))
            self.docker.compose(model_path, bundle, "up", "-d", "--no-deps", new_service)
            self.wait_healthy(new_service, port if self.s.proxy != "compose-nginx" else None)
            if self.s.migrate_command:
                if (HERE / "backup.py").exists():
                    # The data as it was before this release migrates it: offered on rollback.
                    try:
                        record["pre_migration_dump"] = _backup_module().pre_migration_dump(
                            self.s, self.app, release_id
                        )
                    except Exception as exc:  # backup.py has its own copy of DeployError
                        raise DeployError(
                            f"pre-migration dump failed, not migrating: {exc}"
                        ) from exc
                    log(f"pre-migration dump: {record['pre_migration_dump']}")
                log(f"running migrations: {self.s.migrate_command}")
                proc = self.docker.compose(
                    model_path,
                    bundle,
                    "run",
                    "--rm",
                    "--no-deps",
                    "-T",
                    new_service,
                    *shlex.split(self.s.migrate_command),
                    check=False,
                )
                if proc.returncode != 0:
                    raise DeployError(
                        f"migrations failed (exit {proc.returncode}):\n"
                        + (proc.stdout + proc.stderr).strip()[-3000:]
                    )
                for line in proc.stdout.strip().splitlines()[-self.s.log_lines :]:
                    log(f"  migrate: {line}")
            if self.s.proxy != "none":
                switched_from = self.switch(colour, port)
                if self.s.proxy == "compose-nginx":
                    self.docker.compose(
                        model_path, bundle, "up", "-d", "--no-deps", self.s.proxy_service
                    )
            self.smoke(tag, port)
        except (DeployError, subprocess.SubprocessError) as exc:
            log(f"FAILED: {exc}")
            self.print_logs(new_service)
            if switched_from != "unset":
                log("switching nginx back to the running release")
                try:
                    self.restore_upstream(switched_from)
                except DeployError as restore_exc:
                    log(f"could not switch back: {restore_exc}")
            log(f"removing {new_service}; the running release keeps serving")
            self.docker.remove(new_service)
            if stopped_old and port_holder:
                log(f"starting {port_holder} again")
                for cid in self.docker.containers(port_holder):
                    run(["docker", "start", cid], check=False)
                with contextlib.suppress(DeployError):
                    self.wait_healthy(port_holder, port)
            record["status"] = "failed"
            record["error"] = str(exc).splitlines()[0][:300]
            state.setdefault("releases", []).append(record)
            self.app.save_state(state)
            shutil.rmtree(bundle, ignore_errors=True)
            return 1

        if old_service:
            if self.s.proxy != "none":
                log(f"draining {old_service} for {self.s.drain_seconds} s")
                time.sleep(self.s.drain_seconds)
            self.docker.remove(old_service)
            log(f"{old_service} stopped and removed")
        self.remove_legacy()
        record["status"] = "active"
        for rel in state.get("releases", []):
            if rel.get("status") == "active":
                rel["status"] = "previous"
        state.setdefault("releases", []).append(record)
        state["active"] = release_id
        self.prune(state)
        self.app.save_state(state)
        log(f"release {release_id} is live ({image})")
        return 0

    def remove_legacy(self) -> None:
        """Containers of the plain `web` service (from `docker compose up`) give way to colours."""
        legacy = self.docker.containers(self.s.web_service)
        if legacy:
            log(f"removing the plain `{self.s.web_service}` container(s) now that a release serves")
            self.docker.remove(self.s.web_service)

    def prune(self, state: dict) -> None:
        good = [r for r in state["releases"] if r.get("status") in ("active", "previous")]
        keep = good[-max(1, int(self.s.keep_releases)) :]
        keep_ids = {r["id"] for r in keep}
        keep_images = {r["image"] for r in keep}
        for rel in good:
            if rel["id"] in keep_ids:
                continue
            rel["status"] = "pruned"
            shutil.rmtree(self.app.releases / rel["id"], ignore_errors=True)
            image = rel["image"]
            if (
                image not in keep_images
                and self.docker.image_exists(image)
                and run(["docker", "image", "rm", image], check=False).returncode == 0
            ):
                log(f"removed old image {image}")
        # Failed attempts are kept for the record, but only the last few.
        failed = [r for r in state["releases"] if r.get("status") == "failed"]
        drop = {r["id"] for r in failed[:-10]}
        pruned = [r for r in state["releases"] if r.get("status") == "pruned"]
        drop |= {r["id"] for r in pruned[:-20]}
        state["releases"] = [r for r in state["releases"] if r["id"] not in drop]


def _backup_module():
    """backup.py beside this file (apps with a database): its pre-migration dump."""
    spec = importlib.util.spec_from_file_location("backup_program", HERE / "backup.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def find_release(state: dict, release_id: str | None) -> dict | None:
    for rel in state.get("releases", []):
        if rel["id"] == release_id:
            return rel
    return None


def http_get(url: str, host: str, timeout: float = 3.0) -> tuple[int, str]:
    """(status, body) or (0, reason). Loopback checks: TLS unverified, SNI/Host name the site."""
    if not url.startswith(("http://", "https://")):
        return 0, f"not an http(s) URL: {url}"
    headers = {"Host": host} if host else {}
    request = urllib.request.Request(url, headers=headers)
    handlers: list = []
    if url.startswith("https://"):
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        handlers.append(SNIHandler(context, host))
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(request, timeout=timeout) as resp:
            return resp.status, resp.read(65536).decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, ""
    except (urllib.error.URLError, OSError) as exc:
        return 0, str(getattr(exc, "reason", exc))


class SNIHandler(urllib.request.HTTPSHandler):
    """HTTPS to 127.0.0.1 that still sends the site's name as SNI, as a browser would."""

    def __init__(self, context: ssl.SSLContext, server_name: str):
        super().__init__(context=context)
        self._ctx = context
        self._name = server_name

    def https_open(self, req):
        import http.client

        ctx, name = self._ctx, self._name

        class Conn(http.client.HTTPSConnection):
            def connect(self):
                http.client.HTTPConnection.connect(self)
                self.sock = ctx.wrap_socket(self.sock, server_hostname=name or self.host)

        return self.do_open(Conn, req)


# ───────────────────────────── commands ─────────────────────────────


def default_ref(source: Path) -> str:
    env_ref = os.environ.get("GITHUB_REF_NAME", "")
    if os.environ.get("GITHUB_REF_TYPE") == "tag" and env_ref:
        return env_ref
    sha = os.environ.get("GITHUB_SHA", "")
    if sha:
        return sha[:12]
    proc = run(["git", "-C", str(source), "rev-parse", "--short=12", "HEAD"], check=False)
    if proc.returncode == 0 and proc.stdout.strip():
        return proc.stdout.strip()
    return utc("%Y%m%d%H%M%S")


def cmd_deploy(args, settings: Settings) -> int:
    source = Path(args.source).resolve()
    deployer = Deployer(settings, source)
    check_env(settings, deployer.app, source)
    ref = args.ref or default_ref(source)
    with app_lock(deployer.app, settings.lock_timeout, not args.no_wait):
        log(
            f"deploying {settings.app_name} {ref} "
            f"({settings.deploy_method}, proxy {settings.proxy})"
        )
        return deployer.release(
            ref=ref, image=args.image, build_args=args.build_arg, bundle_from=None, kind="deploy"
        )


def cmd_rollback(args, settings: Settings) -> int:
    source = Path(args.source).resolve()
    deployer = Deployer(settings, source)
    check_env(settings, deployer.app, source)
    with app_lock(deployer.app, settings.lock_timeout, not args.no_wait):
        state = deployer.app.load_state()
        active = find_release(state, state.get("active"))
        candidates = [
            r
            for r in state.get("releases", [])
            if r.get("status") == "previous" and (deployer.app.releases / r["id"]).is_dir()
        ]
        if args.to:
            candidates = [r for r in candidates if r["ref"] == args.to]
        if not candidates:
            wanted = f"release {args.to}" if args.to else "previous release"
            raise DeployError(f"there is no {wanted} to roll back to (see `deploy.py status`)")
        target = candidates[-1]
        if (
            not deployer.docker.image_exists(target["image"])
            and settings.deploy_method != "registry"
        ):
            raise DeployError(
                f"the image {target['image']} of {target['id']} is gone; deploy that ref instead"
            )
        log(
            f"rolling back from {active['ref'] if active else 'nothing'} "
            f"to {target['ref']} ({target['image']})"
        )
        dumps = [
            r["pre_migration_dump"]
            for r in state.get("releases", [])
            if r["id"] > target["id"] and r.get("pre_migration_dump")
        ]
        code = deployer.release(
            ref=target["ref"],
            image=target["image"],
            build_args=[],
            bundle_from=deployer.app.releases / target["id"],
            kind="rollback",
        )
        if code == 0 and dumps:
            log(
                "this rollback goes back past a migration; the data from before it is in "
                f"{dumps[0]}. Restore it explicitly with: "
                f"python3 deploy/backup.py restore --dump {dumps[0]}"
            )
        return code


def cmd_status(args, settings: Settings) -> int:
    app = AppDir(settings)
    docker = Docker(settings, app)
    state = app.load_state()
    active = find_release(state, state.get("active"))
    containers = {}
    if active:
        for cid in docker.containers(colour_service(settings, active["colour"])):
            info = docker.inspect(cid)
            st = info.get("State", {})
            containers[info.get("Name", cid).lstrip("/")] = (st.get("Health") or {}).get(
                "Status"
            ) or st.get("Status")
    if args.json:
        print(
            json.dumps(
                {"active": active, "containers": containers, "releases": state.get("releases", [])},
                indent=2,
            )
        )
        return 0
    if not active:
        print(f"{settings.app_name}: no release deployed yet")
    else:
        print(f"{settings.app_name}: live release {active['id']}")
        print(f"  ref {active['ref']}  image {active['image']}  since {active['time']}")
        print(
            f"  service {colour_service(settings, active['colour'])}"
            + (f" on 127.0.0.1:{active['port']}" if active.get("port") else "")
        )
        for name, health in containers.items():
            print(f"  container {name}: {health}")
    print("releases (newest last):")
    for rel in state.get("releases", [])[-15:]:
        extra = f"  ({rel['error']})" if rel.get("error") else ""
        print(
            f"  {rel['time']}  {rel['status']:<8} {rel['kind']:<8} {rel['ref']:<20} "
            f"{rel['image']}{extra}"
        )
    return 0


def cmd_check_env(args, settings: Settings) -> int:
    check_env(settings, AppDir(settings), Path(args.source).resolve())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deploy.py", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--config", default=str(HERE / "deploy.json"), help="settings file (deploy.json)"
    )
    parser.add_argument(
        "--app-dir", help="the app directory (default: apps_dir/app_name from deploy.json)"
    )
    parser.add_argument(
        "--source", default=str(SOURCE_DIR), help="the checkout to deploy (default: this repo)"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser(
        "deploy", help="build or pull, start beside the live release, switch, retire the old"
    )
    p.add_argument(
        "--ref",
        help="commit or tag being deployed (default: GITHUB_REF_NAME/GITHUB_SHA or git HEAD)",
    )
    p.add_argument(
        "--image", help="run this image instead of building (method B: the pushed image)"
    )
    p.add_argument(
        "--build-arg",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="passed to the image build (for example BASE_IMAGE=a local mirror)",
    )
    p.add_argument(
        "--no-wait", action="store_true", help="fail at once if another deploy holds the lock"
    )
    p.set_defaults(func=cmd_deploy)
    p = sub.add_parser(
        "rollback", help="switch back to the previous release, with the same zero-downtime switch"
    )
    p.add_argument("--to", help="roll back to this ref instead of the previous release")
    p.add_argument(
        "--no-wait", action="store_true", help="fail at once if another deploy holds the lock"
    )
    p.set_defaults(func=cmd_rollback)
    p = sub.add_parser("status", help="the live release, its health and the release history")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)
    p = sub.add_parser("check-env", help="check .env against .env.example and stop")
    p.set_defaults(func=cmd_check_env)
    return parser


def _on_sigterm(signum, frame):
    raise Interrupted("interrupted by SIGTERM")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        settings = Settings.load(Path(args.config), args.app_dir)
        return args.func(args, settings)
    except DeployError as exc:
        print(f"deploy.py: error: {exc}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print("deploy.py: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
