"""`devops-studio runner register|remove|status`: the node's GitHub Actions self-hosted runner."""

from __future__ import annotations

import argparse
import json

from devops_studio.nodes import cli_support
from devops_studio.redact import redact_data
from devops_studio.runner import manager


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("runner", help="register, remove or check this node's self-hosted runner")
    actions = parser.add_subparsers(dest="runner_action", metavar="ACTION", required=True)

    reg = actions.add_parser("register", help="install, configure and start the runner (idempotent)")
    cli_support.add_inventory_args(reg)
    reg.add_argument(
        "--replace",
        action="store_true",
        help="take over the runner name when GitHub already has a runner of that name",
    )
    reg.add_argument(
        "--jit",
        action="store_true",
        help="run one single-use just-in-time runner in the foreground instead of a service",
    )
    reg.add_argument(
        "--wait",
        type=float,
        default=60,
        metavar="SECONDS",
        help="how long to wait for GitHub to list the runner online (default 60)",
    )
    reg.add_argument("--dry-run", action="store_true", help="print the plan; change nothing")
    reg.set_defaults(func=_register)

    rem = actions.add_parser("remove", help="unregister the runner and remove its service")
    cli_support.add_inventory_args(rem)
    rem.add_argument("--purge", action="store_true", help="also delete the runner folder")
    rem.set_defaults(func=_remove)

    sta = actions.add_parser("status", help="local config, service and GitHub's view of the runner")
    cli_support.add_inventory_args(sta)
    sta.add_argument("--json", action="store_true", help="machine-readable output")
    sta.set_defaults(func=_status)


def _context(args: argparse.Namespace, need_api: bool = True, here: bool = False) -> manager.RunnerContext:
    inventory = cli_support.load(args)
    node = cli_support.pick_node(inventory, args.node)
    if here and node.os != "windows" and not cli_support.this_machine(inventory, node):
        raise cli_support.UsageError(
            f"{node.name} is another machine of the inventory (this one's host name says so); run the command "
            f"on {node.name} itself"
        )
    client = cli_support.github_client(inventory) if need_api else None
    return manager.RunnerContext(inventory, node, client, cli_support.console())


def _register(args: argparse.Namespace) -> int:
    ctx = _context(args, need_api=not args.dry_run, here=not args.dry_run)
    report = manager.register(ctx, replace=args.replace, jit=args.jit, wait=args.wait, dry_run=args.dry_run)
    report.render(ctx.console)
    if not report.failed and all(o.status == "done" for o in report.outcomes):
        ctx.console.print("Nothing to change: the runner is registered, labelled, running and online.")
    return 1 if report.failed else 0


def _remove(args: argparse.Namespace) -> int:
    ctx = _context(args, here=True)
    report = manager.remove(ctx, purge=args.purge)
    report.render(ctx.console)
    return 1 if report.failed else 0


def _status(args: argparse.Namespace) -> int:
    ctx = _context(args)
    report, data = manager.status(ctx)
    if args.json:
        print(json.dumps(redact_data(data), indent=2, default=str))
    else:
        report.render(ctx.console)
    return 1 if report.failed else 0
