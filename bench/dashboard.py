"""Benchmark: time to the first page of the dashboard against the time of its slowest source.

Builds a lab of N machines and M apps (the test lab of tests/dashboard, with extra nodes and apps),
gives every source a canned answer after a short delay and one source a long one (the slowest
machine), then, in one process:

(a) wait-all (the baseline): collect every source, then render the page;
(b) dashboard: start the sources and render the page from what is known at once, as the server does;
(c) render: the page with every fact answered, rendered R times.

The page must not wait for the slowest source: first_paint_s stays far below slowest_s. The last line is:

    machines=N apps=M slowest_s=S wait_all_s=W first_paint_s=F render_ms=R
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devops_studio.dashboard.lab import Lab, build_sources  # noqa: E402
from devops_studio.dashboard.render import render_index  # noqa: E402
from devops_studio.dashboard.sources import Collector, Source  # noqa: E402
from devops_studio.dashboard.views import build_page  # noqa: E402
from devops_studio.inventory import load_inventory  # noqa: E402
from tests.dashboard.lab_support import closed_port, make_lab  # noqa: E402

CANNED = {
    "reach": {"up": True, "address": "127.0.0.1:22"},
    "doctor": {"node": "x", "healthy": True, "checks": [{"name": "ollama reachable", "status": "ok", "detail": "ok"}]},
    "ollama": {"url": "http://127.0.0.1:11434", "models": ["olmo-3:latest", "gpt-oss:20b"]},
    "disk": [{"path": "/", "total_gb": 500.0, "free_gb": 120.0, "used_percent": 76}],
    "deploy": {"source": "journal", "active": {"id": "r9", "ref": "v1.9.0", "time": "t", "kind": "deploy",
                                               "status": "active"}, "containers": {"web-blue": "healthy"},
               "releases": [{"id": f"r{i}", "ref": f"v1.{i}.0", "time": f"2025-01-0{i}T10:00:00Z",
                             "kind": "deploy", "status": "failed" if i == 3 else "previous"} for i in range(1, 10)]},
    "cert": {"domain": "app.example.com", "days_left": 61},
}


def canned_sources(lab: Lab, delay: float, slowest: float) -> list[Source]:
    sources = []
    for index, source in enumerate(build_sources(lab)):
        kind = source.key.split(":", 1)[0]
        wait = slowest if index == 0 else delay

        def read(kind=kind, wait=wait):
            time.sleep(wait)
            return CANNED.get(kind)

        sources.append(Source(source.key, read, timeout=slowest + 1))
    return sources


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--machines", type=int, default=4)
    parser.add_argument("--apps", type=int, default=30)
    parser.add_argument("--slowest", type=float, default=2.0, help="seconds the slowest source takes")
    parser.add_argument("--delay", type=float, default=0.05, help="seconds every other source takes")
    parser.add_argument("--renders", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-dashboard.") as scratch:
        apps = tuple(f"app-{i:02d}" for i in range(args.apps))
        inventory = make_lab(Path(scratch), "http://127.0.0.1:9", "http://127.0.0.1:9", closed_port(),
                             machines=max(0, args.machines - 3), apps=apps)
        lab = Lab(load_inventory(inventory))

        started = time.perf_counter()
        collector = Collector(canned_sources(lab, args.delay, args.slowest))
        render_index(build_page(lab, collector.collect()))
        wait_all = time.perf_counter() - started

        collector = Collector(canned_sources(lab, args.delay, args.slowest))
        started = time.perf_counter()
        supervisors = collector.refresh()
        render_index(build_page(lab, collector.snapshot()))
        first_paint = time.perf_counter() - started
        for supervisor in supervisors:
            supervisor.join()

        full = collector.snapshot()
        started = time.perf_counter()
        for _ in range(args.renders):
            html = render_index(build_page(lab, full))
        render_ms = (time.perf_counter() - started) * 1000 / args.renders
        assert all(f"app-{i:02d}" in html for i in range(args.apps))
    print(f"machines={len(lab.inventory.nodes)} apps={args.apps} slowest_s={args.slowest:.2f} "
          f"wait_all_s={wait_all:.3f} first_paint_s={first_paint:.3f} render_ms={render_ms:.1f}")
    return 0 if first_paint < args.slowest / 4 else 1


if __name__ == "__main__":
    sys.exit(main())
