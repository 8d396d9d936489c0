"""`devops-studio inventory schema|check`: the JSON Schema of studio.yml, and a check of one file."""

from __future__ import annotations

import argparse
import json

from devops_studio.inventory import json_schema
from devops_studio.nodes import cli_support


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("inventory", help="the inventory (studio.yml): its schema and a check")
    commands = parser.add_subparsers(dest="inventory_command", metavar="COMMAND", required=True)
    schema = commands.add_parser(
        "schema", help="print the JSON Schema of studio.yml (for editors: yaml-language-server, VS Code)"
    )
    schema.set_defaults(func=_schema)
    check = commands.add_parser("check", help="check the inventory and report every problem with its line")
    cli_support.add_inventory_args(check)
    check.set_defaults(func=_check)


def _schema(args: argparse.Namespace) -> int:
    print(json.dumps(json_schema(), indent=2, ensure_ascii=False))
    return 0


def _check(args: argparse.Namespace) -> int:
    inventory = cli_support.load(args)
    print(f"{inventory.path}: {len(inventory.nodes)} nodes, {len(inventory.models)} models, no problems")
    return 0
