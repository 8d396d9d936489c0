"""Fault injection for deploy/deploy.py: stop the real program at a named step and signal it.

The program logs `fault point: <step>` and waits there when DEPLOY_FAULT_STEP names the step; the
case sends the signal at that moment, then runs the next deploy and a rollback, all under steady
HTTPS load through nginx. Shared by tests/deploy/test_deploy_faults.py and bench/deploy_faults.py.
"""

from __future__ import annotations

import ast
import json
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.deploy import harness

SIGNALS = (signal.SIGKILL, signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def program_steps() -> tuple[str, ...]:
    """The STEPS tuple of the template's deploy.py, read from its source (no import needed)."""
    source = (harness.ROOT / "template" / "deploy" / "deploy.py").read_text()
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "STEPS":
            return tuple(ast.literal_eval(node.value))
    raise AssertionError("deploy.py defines no STEPS")


@dataclass
class Outcome:
    step: str
    signal: str
    failed_requests: int
    inconsistent: list[str]

    def __str__(self) -> str:
        state = "consistent" if not self.inconsistent else "; ".join(self.inconsistent)
        return f"{self.step:<10} {self.signal:<8} failed={self.failed_requests} {state}"


def serving_colours(app: harness.App) -> list[str]:
    running = harness.sh(
        [
            "docker",
            "ps",
            "--filter",
            f"label=com.docker.compose.project={app.name}",
            "--format",
            '{{.Label "com.docker.compose.service"}}',
        ],
    ).stdout.split()
    return sorted(s for s in running if s.startswith("web-"))


def check_consistency(app: harness.App, nginx: harness.Nginx, label: str, settled: bool) -> list[str]:
    """`status` names the release nginx serves, and exactly one colour serves (20 answers in a row
    from one version). Once a deploy or rollback has run (`settled`), exactly one colour runs too;
    right after a SIGKILL the colour that does not serve may still run until the next run."""
    problems = []
    proc = app.run_deploy(nginx, "status", "--json")
    if proc.returncode != 0:
        return [f"{label}: status failed: {proc.stderr.strip()[-300:]}"]
    active = json.loads(proc.stdout).get("active") or {}
    served = {app.version() for _ in range(20)}
    if len(served) != 1:
        problems.append(f"{label}: nginx answers from {sorted(map(str, served))}")
    elif active.get("ref") not in served:
        problems.append(f"{label}: status names {active.get('ref')} but nginx serves {served}")
    colours = serving_colours(app)
    if settled and len(colours) != 1:
        problems.append(f"{label}: colours running {colours}")
    return problems


def signal_at_step(app: harness.App, nginx: harness.Nginx, args: list[str], step: str, sig) -> int:
    env = dict(app.deploy_env(nginx), DEPLOY_FAULT_STEP=step, DEPLOY_FAULT_PAUSE="120")
    proc = subprocess.Popen(app.deploy_cmd(*args), env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = []
    reached = False
    for line in proc.stdout:
        output.append(line)
        if f"fault point: {step} " in line:
            reached = True
            proc.send_signal(sig)
            break
    rest, _ = proc.communicate(timeout=300)
    output.append(rest or "")
    if not reached:
        raise AssertionError(f"the deploy never reached step {step}:\n{''.join(output)[-3000:]}")
    return proc.returncode


def run_case(app: harness.App, nginx: harness.Nginx, step: str, sig, serial: str) -> Outcome:
    """Kill a deploy at `step`, then deploy again and roll back, counting failed requests."""
    problems: list[str] = []
    with harness.Load(app.https_port, app.domain, rate=50, max_seconds=900, settle=1) as load:
        harness.bump_version(app, f"{serial}-killed")
        signal_at_step(app, nginx, ["deploy", "--ref", f"{serial}k"], step, sig)
        problems += check_consistency(app, nginx, "after the kill", settled=False)
        harness.bump_version(app, f"{serial}-next")
        proc = app.run_deploy(nginx, "deploy", "--ref", f"{serial}n")
        if proc.returncode != 0:
            problems.append(f"next deploy failed: {(proc.stdout + proc.stderr)[-800:]}")
        problems += check_consistency(app, nginx, "after the next deploy", settled=True)
        proc = app.run_deploy(nginx, "rollback")
        if proc.returncode != 0:
            problems.append(f"rollback failed: {(proc.stdout + proc.stderr)[-800:]}")
        problems += check_consistency(app, nginx, "after the rollback", settled=True)
    return Outcome(step, signal.Signals(sig).name, load.failed, problems)


def fresh_app(base: Path, nginx: harness.Nginx, name: str, acme: bool = True) -> harness.App:
    """An app with two releases deployed (so a rollback has somewhere to go)."""
    app = harness.make_app(base, name=name, stack="python", nginx=nginx)
    if acme:
        nginx.issue(app)
    else:
        harness.install_self_signed_site(nginx, app, None)
    for ref in ("f1", "f2"):
        harness.bump_version(app, ref)
        proc = app.run_deploy(nginx, "deploy", "--ref", ref)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return app
