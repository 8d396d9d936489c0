"""`devops-studio fleet`: template status and updates across all app repos."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from devops_studio.fleet.discovery import DiscoveryError, discover
from devops_studio.fleet.gitcmd import GitError
from devops_studio.fleet.github import GitHub, token_from_env
from devops_studio.fleet.report import console_for, print_json, status_table, update_table
from devops_studio.fleet.status import fleet_status
from devops_studio.fleet.update import UpdateOptions, run_update


def register(subparsers: argparse._SubParsersAction) -> None:
    fleet = subparsers.add_parser("fleet", help="template status and updates across app repos")
    actions = fleet.add_subparsers(dest="fleet_command", metavar="ACTION", required=True)

    def repo_options(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--repos", nargs="+", metavar="PATH_OR_URL", help="app repos: clones or git URLs")
        parser.add_argument("--folder", type=Path, help="a folder whose sub-folders are app clones")
        parser.add_argument("--inventory", type=Path, help="inventory file (default: ./studio.yml if present)")
        parser.add_argument(
            "--template", metavar="SRC", help="fetch the template from here instead of each repo's _src_path"
        )
        parser.add_argument("--json", action="store_true", help="print a JSON report on stdout")

    status = actions.add_parser("status", help="template version of every repo and its update pull request")
    repo_options(status)
    status.set_defaults(func=status_command)

    update = actions.add_parser("update", help="update every repo to a template version, one PR each")
    repo_options(update)
    update.add_argument("--to", metavar="REF", help="template version (tag) to update to; default: newest")
    update.add_argument("--jobs", type=int, default=2, metavar="N", help="parallel updates (default 2)")
    update.add_argument("--dry-run", action="store_true", help="show what would change; write nothing")
    update.add_argument("--push", action="store_true", help="push each update branch to the repo's remote")
    update.add_argument("--pr", action="store_true", help="open or update a pull request per repo (needs --push)")
    update.set_defaults(func=update_command)


def status_command(args: argparse.Namespace) -> int:
    console = console_for(args.json)
    try:
        repos = discover(args.repos, args.folder, args.inventory)
    except DiscoveryError as exc:
        console.print(f"[red]error:[/] {exc}")
        return 2
    # GitHub is asked only when configured: without a token or an API URL there is nothing to ask
    # (private repos) and a machine without internet would wait for the timeout on every repo.
    configured = token_from_env() or os.environ.get("GITHUB_API_URL")
    rows = fleet_status(repos, template=args.template, github=GitHub(timeout=10) if configured else None)
    if args.json:
        print_json({"repos": rows})
    else:
        console.print(status_table(rows))
    return 1 if any(row["error"] for row in rows) else 0


def update_command(args: argparse.Namespace) -> int:
    console = console_for(args.json)
    options = UpdateOptions(
        to=args.to, jobs=args.jobs, dry_run=args.dry_run, push=args.push, pr=args.pr, template=args.template
    )
    if args.dry_run and (args.push or args.pr):
        console.print("[red]error:[/] --dry-run writes nothing; drop --push/--pr")
        return 2
    try:
        repos = discover(args.repos, args.folder, args.inventory)
        run = run_update(repos, options, console)
    except (DiscoveryError, ValueError, GitError) as exc:
        console.print(f"[red]error:[/] {exc}")
        return 2
    if args.json:
        print_json(run.to_dict())
    console.print(update_table(run.results, args.dry_run))
    return 1 if run.failed else 0
