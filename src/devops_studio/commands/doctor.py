"""`devops-studio doctor [NAME] [--json]`: the health of a node; non-zero exit on a failing check."""

from __future__ import annotations

import argparse
import json

from devops_studio import doctor
from devops_studio.github_api import TokenError
from devops_studio.nodes import cli_support
from devops_studio.runner.manager import host_os


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("doctor", help="check the health of a node")
    cli_support.add_inventory_args(parser, positional_node=True)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--ollama-url", metavar="URL", help="Ollama to check (default: $OLLAMA_HOST or the node's)")
    parser.set_defaults(func=_doctor)


def _doctor(args: argparse.Namespace) -> int:
    loaded = cli_support.load_node(args)
    if loaded is None:
        return 1
    inventory, node = loaded

    def github():
        try:
            return cli_support.github_client(inventory)
        except TokenError:
            return None

    checks = doctor.diagnose(
        inventory,
        node,
        github=github,
        ollama_url=args.ollama_url,
        local=node.os == host_os() and cli_support.this_machine(inventory, node),
    )
    if args.json:
        print(json.dumps(doctor.as_json(node, checks), indent=2))
    else:
        doctor.render(node, checks, cli_support.console())
    return 0 if doctor.as_json(node, checks)["healthy"] else 1
