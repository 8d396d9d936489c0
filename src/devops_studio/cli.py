"""Entry point of the `devops-studio` command.

Every sub-command lives in its own module, which exposes `register(subparsers)`; that function adds
its parser and sets `func` to a callable taking the parsed arguments and returning an exit code.
Adding a command means adding its module name to COMMAND_MODULES, nothing else.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback

from devops_studio import __version__
from devops_studio.redact import redact

# Exit codes (docs/nodes.md, "Errors and exit codes"):
EXIT_OK = 0
EXIT_FAILED = 1  # a step failed; the report above says which and how to fix it
EXIT_USAGE = 2  # the command line or the inventory is wrong; nothing was changed
EXIT_SERVICE = 3  # GitHub or Ollama refused or could not be reached
EXIT_BUG = 4  # an unexpected error: a bug in devops-studio (re-run with --debug and report it)
EXIT_INTERRUPTED = 130

COMMAND_MODULES = [
    "devops_studio.commands.new",
    "devops_studio.commands.lint",
    "devops_studio.commands.runner",
    "devops_studio.commands.ollama",
    "devops_studio.commands.node",
    "devops_studio.commands.inventory",
    "devops_studio.commands.doctor",
    "devops_studio.commands.fleet",
    "devops_studio.commands.review",
    "devops_studio.commands.repo",
    "devops_studio.commands.dashboard",
    "devops_studio.commands.monitoring",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="devops-studio",
        description="Render, lint, deploy and keep up to date the app repos of a home lab.",
    )
    parser.add_argument("--version", action="version", version=f"devops-studio {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the full trace of an error")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def _expected_errors() -> dict[type[BaseException], int]:
    """The failures a user can fix, each with its exit code; anything else is a bug."""
    from devops_studio.github_api import GitHubError
    from devops_studio.inventory import InventoryError
    from devops_studio.nodes.cli_support import UsageError
    from devops_studio.ollama.client import OllamaError
    from devops_studio.runner.manager import RunnerError
    from devops_studio.runner.package import PackageError

    return {
        InventoryError: EXIT_USAGE,
        UsageError: EXIT_USAGE,
        GitHubError: EXIT_SERVICE,
        OllamaError: EXIT_SERVICE,
        RunnerError: EXIT_FAILED,
        PackageError: EXIT_FAILED,
    }


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:  # the one top-level handler: no traceback reaches a user unasked
        if args.debug:
            print(redact(traceback.format_exc()), file=sys.stderr, end="")
        code = next((c for kind, c in _expected_errors().items() if isinstance(error, kind)), EXIT_BUG)
        if code == EXIT_BUG:
            message = f"unexpected {type(error).__name__}: {error}; re-run with --debug and report it"
        else:
            message = str(error)
        for line in message.splitlines() or [""]:
            print(redact(f"error: {line}"), file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main())
