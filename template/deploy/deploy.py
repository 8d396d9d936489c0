#!/usr/bin/env python3
"""Zero-downtime deploys of this app on the production box, with Docker Compose and nginx.

    python3 deploy/deploy.py deploy   [--ref REF] [--image IMAGE] [--build-arg K=V ...]
    python3 deploy/deploy.py rollback [--to REF]
    python3 deploy/deploy.py status   [--json]
    python3 deploy/deploy.py check-env
    python3 deploy/deploy.py copy-release

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
  6. For watch_seconds the new release is watched through nginx; a spike switches back.
  7. The old release drains and stops. The release is recorded; images of old releases are pruned.
Each step is named (STEPS), logged and journalled in .deploy/state.json; every run starts by
reconciling that journal with what nginx points at and what runs, so a kill at any step (SIGKILL
included) is followed by a deploy or rollback that keeps serving. SIGINT, SIGTERM and SIGHUP run the
same cleanup. Any failure before the old release goes removes the new one; the old one serves.
Data volumes belong to the compose project, not to a colour: one database across releases.
With `proxy: none` the app owns its port, so a deploy is a health-gated recreate with a short gap.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path

# The sibling modules are found even when this file is loaded by path from another program.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from deploy_core import (
    COLOURS,
    EXIT_BUG,
    HERE,
    AppDir,
    DeployError,
    Interrupted,
    Settings,
    UsageError,
    WatchFailed,
    app_lock,
    env_secrets,
    log,
    now_iso,
    redact,
    refuse_foreign_root,
    register_secrets,
    run,
    sanitize_tag,
    utc,
    write_atomic,
)
from deploy_docker import (
    Docker,
    colour_service,
    copy_mounted_files,
    env_port,
    free_port,
    runtime_model,
)
from deploy_envfile import check_env, parse_env_file, required_names
from deploy_files import copy_release
from deploy_http import http_get

SOURCE_DIR = HERE.parent
# The named steps of a deploy or rollback, in order (logged as `step: <name>`; DEPLOY_FAULT_STEP).
STEPS = (
    "reconcile",
    "prepare",
    "build",
    "start",
    "health",
    "dump",  # a pg_dump before migrations (apps with a database and a migrate_command)
    "migrate",
    "switch",  # before the upstream include is rewritten
    "reload",  # the include names the new colour; nginx has not reloaded yet
    "smoke",
    "watch",
    "drain",
    "retire",
    "record",
)
__all__ = ["AppDir", "DeployError", "Settings", "app_lock", "parse_env_file", "required_names"]


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
            with contextlib.suppress(OSError):
                print(
                    f"---- last log lines of {service} ----\n{redact(text) or '(no output)'}\n----",
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

    # ── the journal and the reconcile ──

    def step(self, state: dict, name: str, **facts) -> None:
        """Enter a named step: journal it atomically, log it, and stop at a fault point if asked.

        DEPLOY_FAULT_STEP=<step> makes the program wait at that step (up to DEPLOY_FAULT_PAUSE
        seconds) after logging `fault point: <step>`, so a test can signal it exactly there."""
        run_info = state.setdefault("run", {})
        run_info.update(facts, step=name, pid=os.getpid(), time=now_iso())
        self.app.save_state(state)
        log(f"step: {name}")
        if os.environ.get("DEPLOY_FAULT_STEP") == name:
            log(f"fault point: {name} (pid {os.getpid()})")
            deadline = time.monotonic() + float(os.environ.get("DEPLOY_FAULT_PAUSE", "60"))
            while time.monotonic() < deadline:
                time.sleep(0.1)

    def served_colour(self) -> str | None:
        """The colour the upstream include file points nginx at (None: no file or no match)."""
        if self.s.proxy == "none" or not self.app.upstream_file.exists():
            return None
        text = self.app.upstream_file.read_text()
        if self.s.proxy == "compose-nginx":
            for colour in COLOURS:
                if f" {colour_service(self.s, colour)}:" in text:
                    return colour
            return None
        match = re.search(r"^server 127\.0\.0\.1:(\d+);", text, re.M)
        if not match:
            return None
        for colour in COLOURS:
            if self.colour_port(colour) == int(match.group(1)):
                return colour
        return None

    def probed_colour(self) -> str | None:
        """The colour whose release answers through nginx right now (its /healthz names the
        version), which may differ from the include file after a kill before nginx reloaded."""
        if self.s.proxy == "none":
            return None
        url, host = self.smoke_url(None)
        status, body = http_get(url, host)
        try:
            version = json.loads(body).get("version") if status == 200 else None
        except (ValueError, AttributeError):
            version = None
        if not version:
            return None
        for colour in COLOURS:
            for cid in self.docker.containers(colour_service(self.s, colour), all_states=False):
                labels = self.docker.inspect(cid).get("Config", {}).get("Labels") or {}
                if labels.get("studio.deploy.ref") == version:
                    return colour
        return None

    def colour_port(self, colour: str) -> int | None:
        for cid in self.docker.containers(colour_service(self.s, colour)):
            bindings = self.docker.inspect(cid).get("HostConfig", {}).get("PortBindings") or {}
            for binds in bindings.values():
                for bind in binds or []:
                    if bind.get("HostPort", "").isdigit():
                        return int(bind["HostPort"])
        return None

    def running(self, colour: str) -> bool:
        return bool(self.docker.containers(colour_service(self.s, colour), all_states=False))

    def container_release(self, colour: str) -> str | None:
        for cid in self.docker.containers(colour_service(self.s, colour)):
            labels = self.docker.inspect(cid).get("Config", {}).get("Labels") or {}
            if labels.get("studio.deploy.release"):
                return labels["studio.deploy.release"]
        return None

    def reconcile(self, state: dict, interrupted: dict | None) -> dict | None:
        """Make the journal agree with what runs; returns the live release (None: nothing live).

        nginx's upstream file and the running containers are the truth: the live colour is the one
        the file points at, if it runs; if it does not but the other colour does, nginx is pointed
        there. A run that died half-way left a `run` entry: nginx is reloaded so that what it
        serves is what the file says, and the colour that does not serve is removed.
        `interrupted` is that entry, read before this run journalled a step of its own."""
        state.pop("run", None)
        if interrupted:
            log(
                f"the previous run (pid {interrupted.get('pid')}) stopped at step "
                f"{interrupted.get('step')!r}: reconciling with nginx and Docker"
            )
        live = self.served_colour()
        if self.s.proxy == "none":
            runs = [c for c in COLOURS if self.running(c)]
            live = runs[0] if len(runs) == 1 else live
            if len(runs) > 1:
                active = find_release(state, state.get("active"))
                live = active["colour"] if active else runs[0]
        elif live is None or not self.running(live):
            others = [c for c in COLOURS if c != live and self.running(c)]
            if others:
                live = others[0]
                log(f"nginx pointed at a colour that does not run: pointing it at {live}")
                write_atomic(
                    self.app.upstream_file, self.upstream_text(live, self.colour_port(live))
                )
                interrupted = interrupted or {"step": "reconcile"}
            elif live is not None and not self.running(live):
                live = None
        reloaded = False
        if interrupted and live and self.s.proxy != "none":
            self.nginx("nginx_test_command")
            self.nginx("nginx_reload_command")
            reloaded = True
        live_rel = None
        if live:
            release_id = self.container_release(live)
            live_rel = find_release(state, release_id) if release_id else None
            if live_rel is None:  # containers from before release labels: the journal's word
                live_rel = find_release(state, state.get("active"))
                if live_rel and live_rel.get("colour") != live:
                    live_rel = None
        if live_rel:
            if state.get("active") != live_rel["id"]:
                log(f"the live release is {live_rel['id']} ({live}): the journal is corrected")
            for rel in state["releases"]:
                if rel.get("status") == "active" and rel is not live_rel:
                    rel["status"] = "previous"
            live_rel["status"] = "active"
            state["active"] = live_rel["id"]
        for rel in state["releases"]:
            if rel.get("status") == "starting":
                rel["status"] = "failed"
                rel.setdefault("error", "interrupted")
        for colour in COLOURS:
            if colour != live and self.docker.containers(colour_service(self.s, colour)):
                if reloaded and self.running(colour):
                    # nginx's old workers may still finish requests to it.
                    time.sleep(float(self.s.drain_seconds))
                    reloaded = False
                log(f"removing {colour_service(self.s, colour)}: it does not serve")
                self.docker.remove(colour_service(self.s, colour))
        self.prune_bundles(state)
        self.app.save_state(state)
        return live_rel

    def prune_bundles(self, state: dict) -> None:
        """Release bundles no kept release names (left by a killed run) are removed."""
        keep = {r["id"] for r in state["releases"] if r.get("status") in ("active", "previous")}
        if not self.app.releases.is_dir():
            return
        for bundle in self.app.releases.iterdir():
            if bundle.name not in keep:
                log(f"removing the orphaned release bundle {bundle.name}")
                shutil.rmtree(bundle, ignore_errors=True)

    # ── the watch window ──

    def watch(self, new_service: str, port: int | None) -> None:
        """After the switch: probe the new release through nginx for `watch_seconds`; a run of
        failed probes or too high a share of 5xx answers, or a container that stops or turns
        unhealthy, is a spike (the caller switches back to the still-warm old release)."""
        seconds = float(self.s.watch_seconds)
        if seconds <= 0:
            return
        url, host = self.smoke_url(port)
        log(f"watching {new_service} through {url} for {seconds:g} s")
        started = time.monotonic()
        in_row = probes = errors = 0
        while time.monotonic() - started < seconds:
            status, _ = http_get(url, host, timeout=2)
            probes += 1
            bad = status == 0 or status >= 500
            errors += bad
            in_row = in_row + 1 if bad else 0
            ids = self.docker.containers(new_service)
            st = self.docker.inspect(ids[0]).get("State", {}) if ids else {}
            if not st.get("Running") or (st.get("Health") or {}).get("Status") == "unhealthy":
                reason = f"{new_service} stopped or turned unhealthy"
            elif in_row >= int(self.s.watch_failures):
                reason = f"{in_row} failed probes in a row (last: status {status})"
            elif probes >= 10 and errors / probes > float(self.s.watch_error_rate):
                reason = f"{errors} of {probes} probes failed"
            else:
                time.sleep(0.5)
                continue
            elapsed = time.monotonic() - started
            raise WatchFailed(
                f"the new release failed {elapsed:.1f} s after the switch: {reason}",
                "watch_seconds",
                "traffic went back to the previous release; fix the release and deploy again",
            )
        log(f"watch passed: {probes} probes, {errors} failed")

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
        # The journal's `run` entry before this run writes its own: a run that died left it.
        interrupted = state.get("run")
        self.step(state, "reconcile", kind=kind, ref=ref)
        active_rel = self.reconcile(state, interrupted)
        old_colour = active_rel["colour"] if active_rel else None
        colour = "green" if old_colour == "blue" else "blue"
        new_service = colour_service(self.s, colour)
        old_service = colour_service(self.s, old_colour) if old_colour else None
        tag = sanitize_tag(ref)
        release_id = f"{utc('%Y%m%dT%H%M%SZ')}-{tag}"
        bundle = self.app.releases / release_id
        record = {
            "id": release_id,
            "ref": ref,
            "image": image or "",
            "colour": colour,
            "port": None,
            "time": now_iso(),
            "kind": kind,
            "status": "starting",
        }
        state["releases"].append(record)
        self.step(state, "prepare", release=release_id, colour=colour, old_colour=old_colour)

        # Where the run is decides what a failure or a signal undoes (see `undo`).
        phase = {"switched_from": "unset", "stopped_old": False, "retiring": False}
        port_holder = old_service
        if port_holder is None and self.docker.containers(self.s.web_service):
            port_holder = self.s.web_service
        port = None
        try:
            if bundle_from is None:
                resolved = self.docker.resolve(self.source)
            else:
                resolved = json.loads((bundle_from / "resolved.json").read_text())
            build = image is None and bundle_from is None and self.s.deploy_method != "registry"
            if image is None:
                if self.s.deploy_method == "registry":
                    if not self.s.registry_url:
                        raise UsageError(
                            "no image to deploy", "registry_url", "pass --image or set it"
                        )
                    image = f"{self.s.registry_url}:{tag}"
                else:
                    image = f"{self.s.app_name}:{tag}"
            record["image"] = image
            bundle.mkdir(parents=True, exist_ok=True)
            copy_mounted_files(
                resolved,
                self.source if bundle_from is None else bundle_from,
                bundle,
                self.app.deploy / "shared",
                self.s.web_service,
            )
            write_atomic(bundle / "resolved.json", json.dumps(resolved, indent=2) + "\n")
            if self.s.proxy == "host-nginx":
                avoid = {active_rel["port"]} if active_rel and active_rel.get("port") else set()
                port = free_port(self.s, avoid)
            elif self.s.proxy == "none":
                port = env_port(self.s, parse_env_file(self.app.env_file))
            record["port"] = port
            model = runtime_model(self.s, self.app, resolved, colour, image, tag, port)
            model["services"][new_service]["labels"]["studio.deploy.release"] = release_id
            model_path = bundle / "compose.json"
            write_atomic(model_path, json.dumps(model, indent=2) + "\n")

            self.step(state, "build")
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

            self.step(state, "start")
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
                phase["stopped_old"] = True
                for cid in self.docker.containers(port_holder):
                    run(["docker", "stop", "-t", str(self.s.stop_timeout), cid], check=False)
            log(f"starting {new_service} from {image}" + (f" on 127.0.0.1:{port}" if port else ""))
            self.docker.compose(model_path, bundle, "up", "-d", "--no-deps", new_service)
            self.step(state, "health")
            self.wait_healthy(new_service, port if self.s.proxy != "compose-nginx" else None)
            self.step(state, "dump")
            if self.s.migrate_command and (HERE / "backup.py").exists():
                # The data as it was before this release migrates it: kept with the release record
                # and offered by a rollback past this release.
                record["pre_migration_dump"] = self.pre_migration_dump(release_id)
                self.app.save_state(state)
            self.step(state, "migrate")
            self.migrate(model_path, bundle, new_service)
            if self.s.proxy != "none":
                self.step(state, "switch")
                phase["switched_from"] = (
                    self.app.upstream_file.read_text() if self.app.upstream_file.exists() else None
                )
                write_atomic(self.app.upstream_file, self.upstream_text(colour, port))
                self.step(state, "reload")
                self.reload_switched(colour, port, phase["switched_from"])
                if self.s.proxy == "compose-nginx":
                    self.docker.compose(
                        model_path, bundle, "up", "-d", "--no-deps", self.s.proxy_service
                    )
            self.step(state, "smoke")
            self.smoke(tag, port)
            self.step(state, "watch")
            self.watch(new_service, port)
            if old_service and self.s.proxy != "none":
                self.step(state, "drain")
                log(f"draining {old_service} for {self.s.drain_seconds} s")
                time.sleep(float(self.s.drain_seconds))
            # From here on the old release goes away: a failure or a signal finishes the run.
            phase["retiring"] = True
            self.step(state, "retire")
            if old_service:
                self.docker.remove(old_service)
                log(f"{old_service} stopped and removed")
            self.remove_legacy()
        except (DeployError, subprocess.SubprocessError, OSError, ValueError, KeyError) as exc:
            with deferred_signals() as pending:
                if phase["retiring"]:
                    log(f"{exc} while retiring the old release: finishing the run")
                    if old_service:
                        self.docker.remove(old_service)
                else:
                    self.undo(exc, new_service, port_holder, port, phase)
                    record["status"] = "failed"
                    record["error"] = str(exc).splitlines()[0][:300]
                    state.pop("run", None)
                    self.app.save_state(state)
                    shutil.rmtree(bundle, ignore_errors=True)
            if not phase["retiring"]:
                if pending:
                    raise Interrupted(pending[0]) from exc
                if isinstance(exc, DeployError):
                    raise
                raise DeployError(f"{type(exc).__name__}: {exc}", new_service) from exc
        self.step(state, "record")
        with deferred_signals():
            for rel in state["releases"]:
                if rel.get("status") == "active":
                    rel["status"] = "previous"
            record["status"] = "active"
            state["active"] = release_id
            state.pop("run", None)
            self.prune(state)
            self.prune_bundles(state)
            self.app.save_state(state)
        log(f"release {release_id} is live ({image})")
        return 0

    def pre_migration_dump(self, release_id: str) -> str:
        """A pg_dump by backup.py (apps with a database), before migrations change the data."""
        try:
            dump = importlib.import_module("backup").pre_migration_dump(
                self.s, self.app, release_id
            )
        except DeployError as exc:
            raise DeployError(
                f"pre-migration dump failed, not migrating: {exc}",
                "backup",
                "fix the dump (see `deploy.py backup` output); the running release keeps serving",
            ) from exc
        log(f"pre-migration dump: {dump}")
        return str(dump)

    def migrate(self, model_path: Path, bundle: Path, service: str) -> None:
        """One-off migrations of the new release, before any traffic reaches it."""
        if not self.s.migrate_command:
            return
        log(f"running migrations: {self.s.migrate_command}")
        proc = self.docker.compose(
            model_path,
            bundle,
            "run",
            "--rm",
            "--no-deps",
            "-T",
            service,
            *shlex.split(self.s.migrate_command),
            check=False,
        )
        if proc.returncode != 0:
            raise DeployError(
                f"migrations failed (exit {proc.returncode}):\n"
                + (proc.stdout + proc.stderr).strip()[-3000:],
                "migrate_command",
                "fix the migration; the running release keeps serving",
            )
        for line in proc.stdout.strip().splitlines()[-self.s.log_lines :]:
            log(f"  migrate: {line}")

    def reload_switched(self, colour: str, port: int | None, previous: str | None) -> None:
        try:
            self.nginx("nginx_test_command")
        except DeployError as exc:
            self.restore_upstream(previous, reload=False)
            raise DeployError(
                f"nginx rejected the new upstream, nothing switched: {exc}", "nginx_test_command"
            ) from exc
        self.nginx("nginx_reload_command")
        log(
            f"nginx now sends traffic to {colour_service(self.s, colour)}"
            + (f" (127.0.0.1:{port})" if port else "")
        )

    def undo(self, exc: BaseException, new_service: str, port_holder, port, phase: dict) -> None:
        """A failure or a signal before the old release went away: it serves again."""
        log(f"FAILED: {exc}")
        self.print_logs(new_service)
        if phase["switched_from"] != "unset":
            log("switching nginx back to the running release")
            try:
                self.restore_upstream(phase["switched_from"])
                # nginx's old workers finish their requests to the new release before it goes.
                time.sleep(float(self.s.drain_seconds))
            except DeployError as restore_exc:
                log(f"could not switch back: {restore_exc}")
        log(f"removing {new_service}; the running release keeps serving")
        self.docker.remove(new_service)
        if phase["stopped_old"] and port_holder:
            log(f"starting {port_holder} again")
            for cid in self.docker.containers(port_holder):
                run(["docker", "start", cid], check=False)
            with contextlib.suppress(DeployError):
                self.wait_healthy(port_holder, port)

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


def find_release(state: dict, release_id: str | None) -> dict | None:
    for rel in state.get("releases", []):
        if rel["id"] == release_id:
            return rel
    return None


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
    refuse_foreign_root(deployer.app, args.allow_root)
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
    refuse_foreign_root(deployer.app, args.allow_root)
    check_env(settings, deployer.app, source)
    with app_lock(deployer.app, settings.lock_timeout, not args.no_wait):
        state = deployer.app.load_state()
        active = deployer.reconcile(state, state.get("run"))
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
    """What serves, read from nginx's upstream file and Docker, not from the journal alone."""
    deployer = Deployer(settings, SOURCE_DIR)
    app, docker = deployer.app, deployer.docker
    state = app.load_state()
    colour = deployer.probed_colour() or deployer.served_colour()
    if settings.proxy == "none" or colour is None:
        runs = [c for c in COLOURS if deployer.running(c)]
        colour = colour if colour in runs else (runs[0] if len(runs) == 1 else None)
    active = None
    if colour:
        active = find_release(state, deployer.container_release(colour))
        journal = find_release(state, state.get("active"))
        if active is None and journal and journal.get("colour") == colour:
            active = journal
        if active and state.get("active") != active["id"]:
            print(
                f"note: the journal names {state.get('active')}; nginx serves {active['id']} "
                "(the next deploy or rollback corrects the journal)",
                file=sys.stderr,
            )
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


def cmd_copy_release(args, settings: Settings) -> int:
    app = AppDir(settings)
    refuse_foreign_root(app, args.allow_root)
    with app_lock(app, settings.lock_timeout, True):
        copy_release(app, Path(args.source).resolve())
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
    parser.add_argument("--debug", action="store_true", help="show the trace of an error")
    parser.add_argument(
        "--allow-root",
        action="store_true",
        help="run as root although another user owns the app directory",
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
    p = sub.add_parser(
        "copy-release", help="place exactly the release's tracked files in the app directory"
    )
    p.set_defaults(func=cmd_copy_release)
    p = sub.add_parser("check-env", help="check .env against .env.example and stop")
    p.set_defaults(func=cmd_check_env)
    return parser


def _on_signal(signum, frame):
    raise Interrupted(signum)


HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextlib.contextmanager
def deferred_signals():
    """Run a cleanup to its end: signals that arrive meanwhile are noted, not raised."""
    pending: list[int] = []
    previous = {s: signal.signal(s, lambda n, f: pending.append(n)) for s in HANDLED_SIGNALS}
    try:
        yield pending
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def main(argv: list[str] | None = None) -> int:
    """One handler for every expected failure: `error: <what> (<field>): <how to fix>`."""
    args = build_parser().parse_args(argv)
    for s in HANDLED_SIGNALS:
        signal.signal(s, _on_signal)
    try:
        settings = Settings.load(Path(args.config), args.app_dir)
        env_file = AppDir(settings).env_file
        if env_file.is_file():
            register_secrets(env_secrets(parse_env_file(env_file)))
        return args.func(args, settings)
    except DeployError as exc:
        if args.debug:
            traceback.print_exc()
        with contextlib.suppress(OSError):
            print(f"error: {redact(str(exc))}", file=sys.stderr, flush=True)
        return exc.exit_code
    except Exception as exc:
        if args.debug:
            raise
        print(
            f"error: unexpected {type(exc).__name__}: {redact(str(exc))} (deploy.py): "
            "run it again with --debug and report the trace",
            file=sys.stderr,
            flush=True,
        )
        return EXIT_BUG


if __name__ == "__main__":
    sys.exit(main())
