"""`devops-studio monitoring render|up`: the monitoring stack of the production box (docs/monitoring.md)."""

from __future__ import annotations

import argparse
import shlex
import subprocess
from pathlib import Path

from devops_studio.inventory import find_inventory

DEFAULT_OUT = "monitoring"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("monitoring", help="render and start the monitoring stack (Prometheus, Grafana)")
    commands = parser.add_subparsers(dest="monitoring_command", metavar="COMMAND", required=True)

    render = commands.add_parser("render", help="write the stack's configuration, generated from studio.yml")
    render.add_argument("--inventory", "-i", metavar="PATH", help="the studio.yml to read (default: ./studio.yml)")
    render.add_argument("--out", type=Path, default=Path(DEFAULT_OUT), metavar="DIR", help="where the stack goes")
    render.add_argument(
        "--workflow",
        type=Path,
        metavar="PATH",
        help="where the outside-in workflow goes (default: .github/workflows/outside-in.yml beside studio.yml)",
    )
    render.set_defaults(func=_render)

    up = commands.add_parser("up", help="bring the stack up on this machine (docker compose up -d --wait)")
    up.add_argument("--out", type=Path, default=Path(DEFAULT_OUT), metavar="DIR", help="the rendered stack")
    up.add_argument("--print", action="store_true", dest="print_only", help="print the command, do not run it")
    up.set_defaults(func=_up)


def _render(args: argparse.Namespace) -> int:
    from devops_studio.monitoring import config, render, workflow

    inventory_path = find_inventory(args.inventory)
    studio = config.load(inventory_path)
    written = render.render(studio, args.out)
    target = args.workflow or inventory_path.resolve().parent / workflow.PATH
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(workflow.workflow_text(studio), encoding="utf-8")
    print(f"wrote {len(written)} files to {args.out}/ and the outside-in workflow to {target}")
    print(f"next: copy {args.out}/ to {studio.monitoring.node} and run `devops-studio monitoring up --out DIR` there")
    return 0


def _up(args: argparse.Namespace) -> int:
    from devops_studio.monitoring.compose import up_command
    from devops_studio.nodes.cli_support import UsageError

    if not (args.out / "compose.yaml").is_file():
        raise UsageError(f"{args.out}/compose.yaml not found; run `devops-studio monitoring render --out {args.out}`")
    argv = up_command(str(args.out))
    print(shlex.join(argv))
    if args.print_only:
        return 0
    return subprocess.run(argv, check=False).returncode
