"""`devops-studio node setup NAME [--dry-run]`: every step a node's roles need, idempotently."""

from __future__ import annotations

import argparse

from devops_studio.inventory import InventoryError
from devops_studio.monitoring import config as monitoring_config
from devops_studio.nodes import cli_support
from devops_studio.nodes.setup import setup_node


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("node", help="set up a machine of the inventory")
    actions = parser.add_subparsers(dest="node_action", metavar="ACTION", required=True)
    setup = actions.add_parser("setup", help="run the steps of the node's roles (idempotent)")
    cli_support.add_inventory_args(setup, positional_node=True)
    setup.add_argument("--dry-run", action="store_true", help="print the plan; change nothing")
    setup.add_argument("--ollama-url", metavar="URL", help="Ollama to use (default: $OLLAMA_HOST or the node's)")
    setup.set_defaults(func=_setup)


def _setup(args: argparse.Namespace) -> int:
    loaded = cli_support.load_node(args)
    if loaded is None:
        return 1
    inventory, node = loaded
    try:
        studio = monitoring_config.load_if_present(inventory.path, inventory)
    except InventoryError as error:
        cli_support.print_error(cli_support.inventory_usage_error(error))
        return 1
    console = cli_support.console()
    report = setup_node(
        inventory,
        node,
        console,
        dry_run=args.dry_run,
        github=lambda: cli_support.github_client(inventory),
        ollama_url=args.ollama_url,
        local=cli_support.this_machine(inventory, node),
        stack_node=studio.monitoring.node if studio else None,
    )
    report.render(console)
    return 1 if report.failed else 0
