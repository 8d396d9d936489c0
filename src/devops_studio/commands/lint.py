"""`devops-studio lint PATH`: run the whole lint bar on a rendered app repo."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from devops_studio.lint import ALL_CHECKS, LintContext, run_checks


def run(args: argparse.Namespace) -> int:
    root = Path(args.path)
    if not root.is_dir():
        print(
            f"devops-studio lint: {root} is not a folder: give the path of a rendered app repo",
            file=sys.stderr,
        )
        return 2
    results = run_checks(LintContext.load(root), ALL_CHECKS)
    total = sum(len(findings) for findings in results.values())
    if args.json:
        report = {
            "path": str(root.resolve()),
            "findings": total,
            "checks": {name: [f.to_dict() for f in findings] for name, findings in results.items()},
        }
        print(json.dumps(report, indent=2))
    else:
        _print_table(root, results, total)
    return 1 if total else 0


def _print_table(root: Path, results, total: int) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"devops-studio lint {root}")
    table.add_column("tool")
    table.add_column("findings", justify="right")
    for name, findings in results.items():
        table.add_row(name, f"[red]{len(findings)}[/red]" if findings else "[green]0[/green]")
    console.print(table)
    for name, findings in results.items():
        for f in findings:
            where = f"{f.path}:{f.line}" if f.line else f.path
            console.print(f"[bold]{name}[/bold] {where}: {f.message}", markup=True, highlight=False, soft_wrap=True)
    console.print(f"{total} finding(s)" if total else "[green]No findings.[/green]")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("lint", help="run the whole lint bar on a rendered app repo")
    parser.add_argument("path", help="the rendered app repo")
    parser.add_argument("--json", action="store_true", help="print a JSON report instead of a table")
    parser.set_defaults(func=run)
