"""What the node-related commands share: --inventory/--node options, loading, the GitHub client."""

from __future__ import annotations

import argparse
import socket
import sys

from rich.console import Console

from devops_studio.github_api import GitHub, api_url, resolve_token
from devops_studio.inventory import Inventory, InventoryError, Node, find_inventory, load_inventory
from devops_studio.redact import redact


class UsageError(Exception):
    """Bad input from the command line or the inventory; the message says how to fix it."""


def add_inventory_args(
    parser: argparse.ArgumentParser, *, node_required: bool = False, positional_node: bool = False
) -> None:
    parser.add_argument(
        "--inventory",
        "-i",
        metavar="PATH",
        help="the studio.yml to read (default: $DEVOPS_STUDIO_INVENTORY or ./studio.yml)",
    )
    if positional_node:
        parser.add_argument(
            "node",
            nargs=None if node_required else "?",
            metavar="NAME",
            help="node of the inventory (default: this machine's host name)",
        )
    else:
        parser.add_argument(
            "--node", "-n", metavar="NAME", help="node of the inventory (default: this machine's host name)"
        )


def inventory_usage_error(error: InventoryError) -> UsageError:
    """The inventory's problems, one per line, as the error a command prints."""
    count = len(error.problems)
    return UsageError(
        f"{count} problem{'s' if count > 1 else ''} in the inventory; fix and run again:\n"
        + "\n".join(f"  {p}" for p in error.problems)
    )


def load(args: argparse.Namespace) -> Inventory:
    try:
        return load_inventory(find_inventory(getattr(args, "inventory", None)))
    except InventoryError as error:
        raise inventory_usage_error(error) from None


def pick_node(inventory: Inventory, name: str | None) -> Node:
    if name is None:
        host = socket.gethostname().split(".")[0].lower()
        for node in inventory.nodes.values():
            if host == node.name or (node.host and host == node.host.split(".")[0].lower()):
                return node
        raise UsageError(
            f"this machine ({host}) is not a node of {inventory.path}; pass --node NAME "
            f"(one of: {', '.join(inventory.nodes)})"
        )
    try:
        return inventory.node(name)
    except KeyError as error:
        raise UsageError(error.args[0]) from None


def load_node(args: argparse.Namespace) -> tuple[Inventory, Node] | None:
    """The inventory and the node `args.node` names; None after printing why when either is wrong."""
    try:
        inventory = load(args)
        return inventory, pick_node(inventory, args.node)
    except UsageError as error:
        print_error(error)
        return None


def this_machine(inventory: Inventory, node: Node) -> bool:
    """Is the node this machine? By host name; a machine the inventory does not know is taken at its word."""
    host = socket.gethostname().split(".")[0].lower()
    known = [n for n in inventory.nodes.values() if host in (n.name, (n.host or "").split(".")[0].lower())]
    return not known or node in known


def github_client(inventory: Inventory) -> GitHub:
    return GitHub(resolve_token(), api_url(inventory.api_url))


def console() -> Console:
    return Console(highlight=False)


def error_console() -> Console:
    return Console(stderr=True, highlight=False)


def print_error(error: BaseException) -> None:
    """Errors go to stderr unwrapped, so a fix hint stays copy-pasteable."""
    print(redact(f"error: {error}"), file=sys.stderr)
