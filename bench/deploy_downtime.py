#!/usr/bin/env python3
"""Failed requests during a deploy: plain `docker compose up -d --build` against deploy/deploy.py.

Against the real local Docker Engine and a real nginx on loopback, with a steady HTTPS load of about
100 requests per second through nginx (127.0.0.1 only, bounded in time), it measures:
  (a) plain:  a rendered Python app redeployed with `docker compose up -d --build --wait`;
  (b) ours:   the same app redeployed with deploy/deploy.py (blue/green behind nginx);
  (c) broken: deploy/deploy.py with a release whose health check fails.
and prints the failed-request counts and the wall-time ratio of (b) to (a). Last line, exactly:
  plain_failed=N ours_failed=N broken_failed=N time_ratio=R

Needs root and the test infrastructure (tests/infra/*.sh, run here first; idempotent).
Usage: python3 bench/deploy_downtime.py [--rate 100]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import certificates  # noqa: E402
from tests.deploy import harness  # noqa: E402


def self_signed(nginx: harness.Nginx, domain: str) -> None:
    certificates.self_signed(nginx.letsencrypt / "live" / domain, domain)


def install_site(nginx: harness.Nginx, app: harness.App, upstream_port: int | None) -> None:
    self_signed(nginx, app.domain)
    upstream = app.repo / ".deploy" / "upstream.conf"
    upstream.parent.mkdir(exist_ok=True)
    if upstream_port:
        upstream.write_text(f"server 127.0.0.1:{upstream_port};\n")
    elif not upstream.exists():
        upstream.write_text("server 127.0.0.1:9;\n")
    (nginx.sites / f"{app.name}.conf").write_text(nginx.site_text(app))
    nginx.reload()


def plain_deploy(app: harness.App, version: str) -> subprocess.CompletedProcess:
    """What the foundation's workflow did: rebuild and recreate the container in place."""
    env = dict(app.deploy_env_plain(), APP_VERSION=version)
    compose = ["docker", "compose", "--project-directory", str(app.repo), "-p", app.name]
    build = harness.sh(
        [*compose, "build", "--build-arg", f"BASE_IMAGE={harness.STANDIN[app.stack]}"],
        env=env,
        cwd=app.repo,
        check=False,
    )
    if build.returncode != 0:
        return build
    return harness.sh([*compose, "up", "-d", "--wait", "--wait-timeout", "180"], env=env, cwd=app.repo, check=False)


def under_load(app: harness.App, rate: int, action) -> tuple[harness.Load, float, subprocess.CompletedProcess]:
    with harness.Load(app.https_port, app.domain, rate=rate, max_seconds=600, settle=2) as load:
        started = time.monotonic()
        proc = action()
        elapsed = time.monotonic() - started
    return load, elapsed, proc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=int, default=100, help="requests per second through nginx")
    args = parser.parse_args()
    harness.ensure_infra()

    with tempfile.TemporaryDirectory(prefix="deploy-bench-") as tmp:
        base = Path(tmp)
        base.chmod(0o755)
        nginx = harness.Nginx(base / "nginx", http_port=harness.free_port())
        nginx.start()
        plain = harness.make_app(base, name="bench-plain", stack="python", nginx=nginx)
        ours = harness.make_app(base, name="bench-ours", stack="python", nginx=nginx)
        try:
            # (a) plain: first start, then a measured redeploy of a changed release.
            install_site(nginx, plain, int(harness._env_file(plain.repo / ".env")["APP_HOST_PORT"]))
            first = plain_deploy(plain, "p1")
            assert first.returncode == 0, first.stdout + first.stderr
            harness.bump_version(plain, "p2")
            plain_load, plain_time, proc = under_load(plain, args.rate, lambda: plain_deploy(plain, "p2"))
            assert proc.returncode == 0, proc.stdout + proc.stderr
            print(f"plain:  {plain_time:6.1f} s  ok={plain_load.ok} failed={plain_load.failed}", flush=True)

            # (b) ours: first deploy, then a measured deploy of a changed release.
            install_site(nginx, ours, None)
            first = ours.run_deploy(nginx, "deploy", "--ref", "o1")
            assert first.returncode == 0, first.stdout + first.stderr
            harness.bump_version(ours, "o2")
            ours_load, ours_time, proc = under_load(
                ours, args.rate, lambda: ours.run_deploy(nginx, "deploy", "--ref", "o2")
            )
            assert proc.returncode == 0, proc.stdout + proc.stderr
            assert ours.version() == "o2"
            print(f"ours:   {ours_time:6.1f} s  ok={ours_load.ok} failed={ours_load.failed}", flush=True)

            # (c) broken: the health check of the new release fails; the old one keeps serving.
            ours.break_health()
            broken_load, broken_time, proc = under_load(
                ours, args.rate, lambda: ours.run_deploy(nginx, "deploy", "--ref", "o3-broken")
            )
            assert proc.returncode != 0, "the broken release was deployed"
            assert ours.version() == "o2"
            print(
                f"broken: {broken_time:6.1f} s  ok={broken_load.ok} failed={broken_load.failed} "
                f"(deploy exit {proc.returncode})",
                flush=True,
            )
        finally:
            plain.destroy()
            ours.destroy()
            nginx.stop()

    ratio = ours_time / plain_time
    print(
        f"plain_failed={plain_load.failed} ours_failed={ours_load.failed} "
        f"broken_failed={broken_load.failed} time_ratio={ratio:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
