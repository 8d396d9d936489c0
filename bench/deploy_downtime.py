#!/usr/bin/env python3
"""Failed requests during a deploy: plain `docker compose up -d --build` against deploy/deploy.py.

Against the real local Docker Engine and a real nginx on loopback, with a steady HTTPS load of about
100 requests per second through nginx (127.0.0.1 only, bounded in time), it measures:
  (a) plain:  a rendered Python app redeployed with `docker compose up -d --build --wait`;
  (b) ours:   the same app redeployed with deploy/deploy.py (blue/green behind nginx);
  (c) broken: deploy/deploy.py with a release whose health check fails;
  (d) after:  a release that passes every check and answers 500 some seconds after the switch:
      the watch window must switch back; failures after the switch-back are counted apart.
and prints the failed-request counts and the wall-time ratio of (b) to (a). Last line, exactly:
  plain_failed=N ours_failed=N broken_failed=N time_ratio=R after_failed_beyond_detection=N
  after_detection_s=S

Needs root and the test infrastructure (tests/infra/*.sh, run here first; idempotent).
Usage: python3 bench/deploy_downtime.py [--rate 100]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.deploy import harness  # noqa: E402


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


def switched_back_at(output: str) -> float:
    """Wall-clock time of the deploy's `switching nginx back` line (its stamps are UTC H:M:S.ms)."""
    for line in output.splitlines():
        match = re.match(r"\[deploy (\d\d):(\d\d):(\d\d)\.(\d{3})\] switching nginx back", line)
        if match:
            h, m, s, ms = (int(g) for g in match.groups())
            day = time.time() // 86400 * 86400
            return day + h * 3600 + m * 60 + s + ms / 1000
    raise AssertionError(f"the deploy never switched back:\n{output}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=int, default=100, help="requests per second through nginx")
    parser.add_argument("--break-after", type=float, default=15, help="seconds until (d) breaks")
    parser.add_argument("--watch", type=float, default=30, help="watch window of (d), seconds")
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
            harness.install_self_signed_site(nginx, plain, int(harness._env_file(plain.repo / ".env")["APP_HOST_PORT"]))
            first = plain_deploy(plain, "p1")
            assert first.returncode == 0, first.stdout + first.stderr
            harness.bump_version(plain, "p2")
            plain_load, plain_time, proc = under_load(plain, args.rate, lambda: plain_deploy(plain, "p2"))
            assert proc.returncode == 0, proc.stdout + proc.stderr
            print(f"plain:  {plain_time:6.1f} s  ok={plain_load.ok} failed={plain_load.failed}", flush=True)

            # (b) ours: first deploy, then a measured deploy of a changed release.
            harness.install_self_signed_site(nginx, ours, None)
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
            # (d) after: the release breaks once traffic is on it; the watch switches back.
            harness.bump_version(ours, "o4")
            ours.repo.joinpath("app", "main.py").write_text(
                ours.repo.joinpath("app", "main.py")
                .read_text()
                .replace(
                    'status_code, body = 503, {"status": "broken on purpose"}',
                    "status_code, body = health(settings)",
                )
            )
            ours.break_health_after(args.break_after)
            ours.env["DEPLOY_WATCH_SECONDS"] = str(args.watch)
            after_load, after_time, proc = under_load(
                ours, args.rate, lambda: ours.run_deploy(nginx, "deploy", "--ref", "o4-late")
            )
            assert proc.returncode == 4, f"the watch did not switch back:\n{proc.stdout}{proc.stderr}"
            assert "nginx now sends traffic to" in proc.stdout, "the release broke before the switch"
            assert ours.version() == "o2"
            back_at = switched_back_at(proc.stdout)
            first_failure = min(after_load.failure_times, default=back_at)
            detection = back_at - first_failure
            beyond = sum(1 for t in after_load.failure_times if t > back_at + 1.0)
            print(
                f"after:  {after_time:6.1f} s  ok={after_load.ok} failed={after_load.failed} "
                f"beyond_detection={beyond} detection={detection:.1f} s",
                flush=True,
            )
        finally:
            plain.destroy()
            ours.destroy()
            nginx.stop()

    ratio = ours_time / plain_time
    print(
        f"plain_failed={plain_load.failed} ours_failed={ours_load.failed} "
        f"broken_failed={broken_load.failed} time_ratio={ratio:.2f} "
        f"after_failed_beyond_detection={beyond} after_detection_s={detection:.1f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
