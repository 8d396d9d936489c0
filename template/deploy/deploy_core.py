"""The deploy programs' shared parts: settings, the app directory, the per-app lock, helpers.

Standard library only (Python 3.9+). deploy.py, tls.py and any other program next to them import
this module from the same directory; nothing here starts or stops a container.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import re
import shlex
import signal
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
    # Seconds after the switch during which the new release is watched (0: no watch).
    "watch_seconds": 30,
    # Failed probes through nginx in a row that count as a spike and switch back.
    "watch_failures": 3,
    # A share of 5xx answers (0-1) among the watch's probes that also switches back.
    "watch_error_rate": 0.2,
}

# Exit codes (docs/deploy.md lists them).
EXIT_OK = 0
EXIT_FAILED = 1  # the deploy failed; the release that served before still serves
EXIT_USAGE = 2  # bad input: settings, arguments, .env, state file; nothing was changed
EXIT_LOCKED = 3  # another deploy of this app holds the lock
EXIT_WATCH = 4  # the new release failed in the watch window; traffic went back to the old one
EXIT_BUG = 70  # an unexpected error (run again with --debug and report it)
# Interrupted by a signal: 128 + its number, after the cleanup ran.


class DeployError(Exception):
    """An expected failure: what went wrong, the field or file it concerns, and how to fix it."""

    exit_code = EXIT_FAILED

    def __init__(self, what: str, field: str = "", fix: str = ""):
        super().__init__(what)
        self.what, self.field, self.fix = what, field, fix

    def __str__(self) -> str:
        return (
            self.what
            + (f" ({self.field})" if self.field else "")
            + (f": {self.fix}" if self.fix else "")
        )


class UsageError(DeployError):
    """Bad settings or input, found before anything changed."""

    exit_code = EXIT_USAGE


class LockBusy(DeployError):
    exit_code = EXIT_LOCKED


class WatchFailed(DeployError):
    exit_code = EXIT_WATCH


class Interrupted(DeployError):
    """SIGINT, SIGTERM or SIGHUP arrived; the cleanup of the running step follows."""

    def __init__(self, signum: int):
        name = signal.Signals(signum).name
        super().__init__(f"interrupted by {name}", "", "run the deploy again or roll back")
        self.exit_code = 128 + signum


# ───────────────────────────── small helpers ─────────────────────────────


def utc(fmt: str) -> str:
    return time.strftime(fmt, time.gmtime())


_SECRETS: set[str] = set()


# .env settings the template itself writes that are not credentials: their values (the database's
# name is the app's name) stay readable, or the app's name would be blanked out of every path.
# Every other value, the owner's own settings included, counts as a secret.
PUBLIC_ENV_NAMES = frozenset(
    (
        "COMPOSE_FILE",
        "APP_HOST_PORT",
        "APP_BIND",
        "APP_VERSION",
        "PORT",
        "POSTGRES_USER",
        "POSTGRES_DB",
        "APP_IMAGE",
    )
)


def register_secrets(values) -> None:
    """Values that no output may show; short ones would blank out ordinary words."""
    _SECRETS.update(v for v in values if v and len(v) >= 4)


def env_secrets(env: dict) -> list[str]:
    """The values of an .env that no output may show: all but PUBLIC_ENV_NAMES."""
    return [value for name, value in env.items() if name not in PUBLIC_ENV_NAMES]


def redact(text: str) -> str:
    """Registered secrets and credentials inside URLs (`scheme://user:pass@`) become `***`."""
    text = re.sub(r"(://)[^/\s:@]+:[^/\s@]+@", r"\1***@", text)
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def log(message: str) -> None:
    now = time.time()
    stamp = time.strftime("%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}"
    # A dropped SSH session (SIGHUP) closes stdout: the cleanup must go on without it.
    with contextlib.suppress(OSError):
        print(f"[deploy {stamp}] {redact(message)}", flush=True)


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


def _typed(value, default, source: str):
    """A setting in the type of its default (whole number, number, text), or a named error."""
    if isinstance(default, bool) or not isinstance(default, (int, float)):
        if isinstance(value, (str, list)):
            return value
        raise UsageError(f"expected text, got {value!r}", source, "quote the value")
    kind = "a whole number" if isinstance(default, int) else "a number"
    try:
        number = int(str(value).strip()) if isinstance(default, int) else float(value)
    except (TypeError, ValueError):
        raise UsageError(f"{value!r} is not {kind}", source, f"set it to {kind}") from None
    if isinstance(value, bool) or number < 0 or not math.isfinite(number):
        raise UsageError(f"{value!r} is not {kind} >= 0", source, f"set it to {kind}")
    return number


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
                loaded = json.loads(config_path.read_text())
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise UsageError(
                    f"not valid JSON ({exc})", str(config_path), "fix the file or re-render it"
                ) from exc
            if not isinstance(loaded, dict):
                raise UsageError("not a JSON object", str(config_path), "re-render the file")
            values.update(loaded)
        sources = {key: f"{key} in {config_path}" for key in values}
        for key in DEFAULTS:
            env = os.environ.get(f"DEPLOY_{key.upper()}")
            if env is not None:
                values[key] = env
                sources[key] = f"DEPLOY_{key.upper()}"
        for key, default in DEFAULTS.items():
            values[key] = _typed(values[key], default, sources[key])
        if app_dir:
            values["app_dir"] = app_dir
        if not values["app_name"]:
            raise UsageError(
                "app_name is missing", str(config_path), "re-render the repo or add it"
            )
        if not values["app_dir"]:
            values["app_dir"] = str(Path(values["apps_dir"]) / values["app_name"])
        if values["proxy"] not in ("host-nginx", "compose-nginx", "none"):
            raise UsageError(
                f"unknown proxy {values['proxy']!r}",
                sources["proxy"],
                "use host-nginx, compose-nginx or none",
            )
        if not 0 < values["app_port"] < 65536:
            raise UsageError(
                f"port {values['app_port']} is out of range", sources["app_port"], "use 1-65535"
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
        try:
            state = json.loads(self.state_file.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise UsageError(
                f"the deploy journal is not valid JSON ({exc})",
                str(self.state_file),
                f"move it aside (mv {self.state_file} {self.state_file}.bad): the next deploy "
                "rebuilds it from what nginx and Docker run",
            ) from None
        if not isinstance(state, dict) or not isinstance(state.get("releases", []), list):
            raise UsageError(
                "the deploy journal has an unknown shape",
                str(self.state_file),
                f"move it aside (mv {self.state_file} {self.state_file}.bad) and deploy again",
            )
        state.setdefault("releases", [])
        state.setdefault("active", None)
        return state

    def save_state(self, state: dict) -> None:
        write_atomic(self.state_file, json.dumps(state, indent=2) + "\n")


def compose_paths(settings: Settings, source: Path) -> list[Path]:
    files = settings.compose_files
    names = files.split(":") if isinstance(files, str) else list(files)
    return [source / n for n in names if n]


def refuse_foreign_root(app: AppDir, allow_root: bool) -> None:
    """As root, files the deploy writes (journal, bundles, upstream include) would belong to root
    and break the next deploy run by the app directory's owner: refuse unless the owner is root."""
    if os.geteuid() != 0 or allow_root:
        return
    probe = app.root
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    owner = probe.stat().st_uid
    if owner != 0:
        raise UsageError(
            f"running as root would leave root-owned files in {app.root}, which uid {owner} owns",
            "user",
            f"run it as the deploy user (sudo -u '#{owner}' ...), or pass --allow-root "
            "if root really is the deploy user",
        )


@contextlib.contextmanager
def app_lock(app: AppDir, timeout: float, wait: bool):
    """One deploy (or backup, or TLS change) of an app at a time.

    The lock is flock(2) on .deploy/lock, so it dies with its holder, SIGKILL included. The holder
    writes its pid into the file; a waiter only reads it, so a waiter that gives up never erases
    the holder's line."""
    app.deploy.mkdir(parents=True, exist_ok=True)
    fd = os.open(app.lock_file, os.O_RDWR | os.O_CREAT, 0o644)
    held = False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another deploy"
            if not wait:
                raise LockBusy(
                    f"another deploy of this app is running ({holder})",
                    str(app.lock_file),
                    "try again when it has finished",
                ) from None
            log(f"waiting for the running deploy to finish ({holder})")
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise LockBusy(
                            f"the running deploy ({holder}) still holds the lock after {timeout} s",
                            str(app.lock_file),
                            "check it with `deploy.py status`, then try again",
                        ) from None
                    time.sleep(0.5)
        held = True
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} since {now_iso()}\n".encode(), 0)
        log("lock acquired")
        yield
    finally:
        if held:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            log("lock released")
        os.close(fd)
