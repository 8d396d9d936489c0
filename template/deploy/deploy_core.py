"""The deploy programs' shared parts: settings, the app directory, the per-app lock, helpers.

Standard library only (Python 3.9+). deploy.py, tls.py and any other program next to them import
this module from the same directory; nothing here starts or stops a container.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shlex
import subprocess
import time
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
