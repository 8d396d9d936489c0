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
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

# The sibling modules are found even when this file is loaded by path from another program.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from deploy_core import (
    HERE,
    AppDir,
    DeployError,
    Interrupted,
    Settings,
    app_lock,
    log,
    now_iso,
    run,
    sanitize_tag,
    utc,
    write_atomic,
)
from deploy_docker import Docker, colour_service, copy_mounted_files, free_port, runtime_model
from deploy_envfile import check_env, parse_env_file, required_names
from deploy_http import http_get

SOURCE_DIR = HERE.parent
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
        return deployer.release(
            ref=target["ref"],
            image=target["image"],
            build_args=[],
            bundle_from=deployer.app.releases / target["id"],
            kind="rollback",
        )


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
