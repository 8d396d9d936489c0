"""`devops-studio fleet`: template status and updates across all app repos."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from devops_studio.fleet.discovery import DEFAULT_INVENTORY, DiscoveryError, discover
from devops_studio.fleet.gitcmd import GitError
from devops_studio.fleet.report import console_for, print_json, status_table, update_table
from devops_studio.fleet.status import fleet_status
from devops_studio.fleet.trust import TrustPolicy
from devops_studio.fleet.update import UpdateOptions, run_update
from devops_studio.github_api import GitHubClient, api_url, env_token
from devops_studio.inventory import InventoryError
from devops_studio.redact import redact


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
        parser.add_argument("--trust-template", action="append", default=[], metavar="PATTERN",
                            help="also trust this template URL or path (* and ** match), besides "
                            "fleet.trusted_templates of studio.yml")

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
        trust = trust_policy(args)
    except (DiscoveryError, InventoryError) as exc:
        console.print(f"[red]error:[/] {redact(str(exc))}")
        return 2
    # GitHub is asked only when configured: without a token or an API URL there is nothing to ask
    # (private repos) and a machine without internet would wait for the timeout on every repo.
    configured = env_token() or os.environ.get("GITHUB_API_URL")
    github = GitHubClient(env_token(), api_url(), timeout=10) if configured else None
    rows = fleet_status(repos, template=args.template, github=github, trust=trust, runner_repos=runner_repos(args))
    if args.json:
        print_json({"repos": rows})
    else:
        console.print(status_table(rows))
    failed = any(row["error"] or (row.get("settings") or {}).get("status") == "fail" for row in rows)
    return 1 if failed else 0


def runner_repos(args: argparse.Namespace) -> set[str]:
    """The repos a self-hosted runner of the inventory serves (all of them for an org runner)."""
    from devops_studio.inventory import load_inventory

    inventory = args.inventory or (DEFAULT_INVENTORY if DEFAULT_INVENTORY.is_file() else None)
    if inventory is None or not Path(inventory).is_file():
        return set()
    loaded = load_inventory(Path(inventory))
    served: set[str] = set()
    for node in loaded.nodes.values():
        if node.runner is not None:
            served |= set(loaded.repos) if node.runner.scope == "org" else {node.runner.repo}
    return {name for name in served if name}


def trust_policy(args: argparse.Namespace) -> TrustPolicy:
    """Trusted templates: studio.yml's fleet.trusted_templates (--inventory, else ./studio.yml),
    $DEVOPS_STUDIO_TRUSTED_TEMPLATES (os.pathsep-separated) and --trust-template."""
    from devops_studio.inventory import load_inventory

    patterns = list(args.trust_template)
    extra = os.environ.get("DEVOPS_STUDIO_TRUSTED_TEMPLATES", "")
    patterns += [p for p in extra.split(os.pathsep) if p]
    inventory = args.inventory or (DEFAULT_INVENTORY if DEFAULT_INVENTORY.is_file() else None)
    if inventory is None or not Path(inventory).is_file():
        return TrustPolicy.build(patterns, Path.cwd())
    loaded = load_inventory(inventory)
    base = Path(inventory).resolve().parent
    return TrustPolicy(TrustPolicy.build(loaded.trusted_templates, base).patterns
                       + TrustPolicy.build(patterns, Path.cwd()).patterns)


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
        options.trust = trust_policy(args)
        run = run_update(repos, options, console)
    except (DiscoveryError, ValueError, GitError, InventoryError) as exc:
        console.print(f"[red]error:[/] {redact(str(exc))}")
        return 2
    if args.json:
        print_json(run.to_dict())
    console.print(update_table(run.results, args.dry_run))
    return 1 if run.failed else 0
