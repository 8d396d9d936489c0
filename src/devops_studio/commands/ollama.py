"""`devops-studio ollama setup|status`: the node's Ollama models, profiles and the review policy."""

from __future__ import annotations

import argparse
import json

from devops_studio.nodes import cli_support
from devops_studio.ollama import setup as ollama_setup
from devops_studio.ollama.client import Ollama, OllamaError, elsewhere_problem, resolve_url


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("ollama", help="pull a node's models and create its Ollama profiles")
    actions = parser.add_subparsers(dest="ollama_action", metavar="ACTION", required=True)
    for name, func, text in (
        ("setup", _setup, "pull missing models, create or update profiles (idempotent)"),
        ("status", _status, "show which models and profiles are present and current"),
    ):
        sub = actions.add_parser(name, help=text)
        cli_support.add_inventory_args(sub)
        sub.add_argument(
            "--url",
            metavar="URL",
            help="Ollama to talk to (default: $OLLAMA_HOST, else the node's ollama.url)",
        )
        if name == "setup":
            sub.add_argument("--dry-run", action="store_true", help="print the plan; change nothing")
            sub.add_argument(
                "--allow-oversize",
                action="store_true",
                help="pull models even when they do not fit the node's memory",
            )
        else:
            sub.add_argument("--json", action="store_true", help="machine-readable output")
        sub.set_defaults(func=func)


def _client(args: argparse.Namespace):
    inventory = cli_support.load(args)
    node = cli_support.pick_node(inventory, args.node)
    node_url = node.ollama.url if node.ollama else None
    if not getattr(args, "dry_run", False) and not cli_support.this_machine(inventory, node):
        problem = elsewhere_problem(node.name, node_url, args.url)
        if problem:
            raise cli_support.UsageError(problem)
    return inventory, node, Ollama(resolve_url(node_url, args.url))


def _setup(args: argparse.Namespace) -> int:
    try:
        inventory, node, client = _client(args)
        console = cli_support.console()
        report = ollama_setup.setup(
            inventory,
            node,
            None if args.dry_run else client,
            console,
            dry_run=args.dry_run,
            allow_oversize=args.allow_oversize,
        )
    except (cli_support.UsageError, OllamaError) as error:
        cli_support.print_error(error)
        return 1
    report.render(console)
    return 1 if report.failed else 0


def _status(args: argparse.Namespace) -> int:
    try:
        inventory, node, client = _client(args)
        report, data = ollama_setup.status(inventory, node, client)
    except (cli_support.UsageError, OllamaError) as error:
        cli_support.print_error(error)
        return 1
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        report.render(cli_support.console())
    return 1 if report.failed else 0
