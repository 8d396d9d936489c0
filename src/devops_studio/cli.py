"""Entry point of the `devops-studio` command.

Every sub-command lives in its own module, which exposes `register(subparsers)`; that function adds
its parser and sets `func` to a callable taking the parsed arguments and returning an exit code.
Adding a command means adding its module name to COMMAND_MODULES, nothing else.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from devops_studio import __version__

COMMAND_MODULES = [
    "devops_studio.commands.new",
    "devops_studio.commands.lint",
    "devops_studio.commands.runner",
    "devops_studio.commands.ollama",
    "devops_studio.commands.node",
    "devops_studio.commands.doctor",
    "devops_studio.commands.fleet",
    "devops_studio.commands.review",
    "devops_studio.commands.repo",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="devops-studio",
        description="Render, lint, deploy and keep up to date the app repos of a home lab.",
    )
    parser.add_argument("--version", action="version", version=f"devops-studio {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
