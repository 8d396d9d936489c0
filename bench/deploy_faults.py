#!/usr/bin/env python3
"""The deploy fault matrix: every named step of deploy/deploy.py x SIGKILL, SIGINT, SIGTERM, SIGHUP.

For each case, on the real Docker Engine and a real nginx on loopback, under steady HTTPS load
through nginx (127.0.0.1 only): a deploy is stopped at the step and signalled, then the next deploy
and a rollback run. A case counts its failed requests and is inconsistent when `status` does not
name the release nginx serves or when not exactly one colour runs (tests/deploy/faults.py).
Last line, exactly:
  failed_requests=N inconsistent_states=M cases=K

Needs root and the test infrastructure (tests/infra/*.sh, run here first; idempotent).
Usage: python3 bench/deploy_faults.py [--steps reconcile,switch] [--signals KILL,HUP]
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.deploy import faults, harness  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", help="comma-separated steps (default: every named step)")
    parser.add_argument("--signals", help="comma-separated signals such as KILL,INT (default: all four)")
    args = parser.parse_args()
    steps = args.steps.split(",") if args.steps else list(faults.program_steps())
    unknown = set(steps) - set(faults.program_steps())
    if unknown:
        parser.error(f"unknown steps {sorted(unknown)}; deploy.py names {faults.program_steps()}")
    sigs = [signal.Signals["SIG" + s] for s in args.signals.split(",")] if args.signals else list(faults.SIGNALS)
    harness.ensure_infra()
    failed = inconsistent = cases = 0
    with tempfile.TemporaryDirectory(prefix="deploy-faults-") as tmp:
        base = Path(tmp)
        base.chmod(0o755)
        nginx = harness.Nginx(base / "nginx", http_port=harness.free_port())
        nginx.start()
        app = faults.fresh_app(base, nginx, "bench-faults", acme=False)
        try:
            for step in steps:
                for sig in sigs:
                    outcome = faults.run_case(app, nginx, step, sig, serial=f"{cases}")
                    cases += 1
                    failed += outcome.failed_requests
                    inconsistent += bool(outcome.inconsistent)
                    print(outcome, flush=True)
        finally:
            app.destroy()
            nginx.stop()
    print(f"failed_requests={failed} inconsistent_states={inconsistent} cases={cases}")
    return 0 if failed == 0 and inconsistent == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
