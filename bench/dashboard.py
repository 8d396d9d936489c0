#!/usr/bin/env python3
"""The dashboard page's render cost against a plain baseline, in one process.

Builds a snapshot of N machines and N apps (20 deploys each), then times, over --rounds:
  baseline: the same facts written out with json.dumps (what `doctor --json` style output costs);
  page:     the Jinja page (escaping, history, both languages alternately).
Last line, exactly:
  machines=N apps=N baseline_ms=X page_ms=Y ratio=R

Usage: python3 bench/dashboard.py [--size 50] [--rounds 20]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from devops_studio.dashboard.page import render  # noqa: E402
from devops_studio.dashboard.sources import Fact, Snapshot  # noqa: E402


def snapshot(size: int) -> Snapshot:
    s = Snapshot()
    for n in range(size):
        data = {"name": f"m{n}", "os": "linux", "roles": ["dev"], "models": ["olmo-3:latest"], "runner": None}
        s.machines.append(
            Fact(
                f"machine:m{n}",
                "2026-12-03T00:00:00Z",
                data=data if n % 5 else None,
                error=None if n % 5 else "no answer within 3 s",
            )
        )
        history = [
            {
                "time": "2026-12-02T10:00:00Z",
                "ref": f"v{k}",
                "kind": "rollback" if k % 7 == 0 else "deploy",
                "status": "failed" if k % 5 == 0 else "previous",
                "error": None,
            }
            for k in range(20)
        ]
        s.apps.append(
            Fact(
                f"app:a{n}",
                "2026-12-03T00:00:00Z",
                data={"name": f"a{n}", "live": "v19", "health": "ok", "backup": None, "history": history},
            )
        )
    return s


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    snap = snapshot(args.size)
    render(snap)  # compile the template once, as the server does

    start = time.perf_counter()
    for _ in range(args.rounds):
        json.dumps(dataclasses.asdict(snap))
    baseline = (time.perf_counter() - start) / args.rounds * 1000
    start = time.perf_counter()
    for i in range(args.rounds):
        render(snap, lang="ja" if i % 2 else "en")
    page = (time.perf_counter() - start) / args.rounds * 1000
    ratio = page / baseline
    print(f"machines={args.size} apps={args.size} baseline_ms={baseline:.2f} page_ms={page:.2f} ratio={ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
