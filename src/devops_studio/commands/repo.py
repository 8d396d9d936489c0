"""`devops-studio repo setup [OWNER/REPO | --all] [--dry-run] [--json]`: apply and audit GitHub settings."""

from __future__ import annotations

import argparse
import json
import re

from devops_studio.github_api import DEFAULT_API_URL, GitHub, GitHubError, TokenError, api_url, resolve_token
from devops_studio.inventory import Inventory
from devops_studio.nodes import cli_support
from devops_studio.repo.desired import DEPLOY_TRIGGERS, desired_settings
from devops_studio.repo.remote import SetupError, apply, plan, read_facts
from devops_studio.repo.report import as_json, plan_lines

FULL_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}")
LOGIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})")


def register(subparsers: argparse._SubParsersAction) -> None:
    repo = subparsers.add_parser("repo", help="GitHub settings of the app repos")
    actions = repo.add_subparsers(dest="repo_command", metavar="ACTION", required=True)
    setup = actions.add_parser("setup", help="apply (or with --dry-run, show) the settings the design relies on")
    setup.add_argument("target", nargs="?", metavar="OWNER/REPO", help="one repo (default: --all)")
    setup.add_argument("--all", action="store_true", help="every repo of github.repos in the inventory")
    setup.add_argument("--inventory", "-i", metavar="PATH", help="the studio.yml to read")
    setup.add_argument("--dry-run", action="store_true", help="show the differences; change nothing (GET only)")
    setup.add_argument("--json", action="store_true", help="machine-readable output")
    setup.add_argument(
        "--deploy-trigger", choices=DEPLOY_TRIGGERS, help="what deploys (default: the repo's .copier-answers.yml)"
    )
    setup.add_argument(
        "--reviewer",
        action="append",
        metavar="LOGIN",
        help="a required reviewer of the production environment (repeatable)",
    )
    setup.set_defaults(func=_setup)


def _served_by_inventory_runner(inventory: Inventory | None, full_name: str) -> bool:
    if inventory is None:
        return False
    owner, name = full_name.split("/", 1)
    for node in inventory.nodes.values():
        runner = node.runner
        if runner and owner == inventory.owner and (runner.scope == "org" or runner.repo == name):
            return True
    return False


def _targets(args: argparse.Namespace) -> tuple[list[str], Inventory | None]:
    if args.target and args.all:
        raise cli_support.UsageError("name one OWNER/REPO or pass --all, not both")
    if args.target:
        if not FULL_NAME.fullmatch(args.target) or args.target.split("/")[1] in (".", ".."):
            raise cli_support.UsageError(f"OWNER/REPO: {args.target!r} is not a repository name such as octo/app")
        try:
            inventory = cli_support.load(args)
        except (cli_support.UsageError, FileNotFoundError, OSError):
            inventory = None  # one named repo needs no inventory
        return [args.target], inventory
    if not args.all:
        raise cli_support.UsageError("name a repo (OWNER/REPO) or pass --all for every repo of the inventory")
    inventory = cli_support.load(args)
    if not inventory.owner or not inventory.repos:
        raise cli_support.UsageError(f"{inventory.path}: github.owner and github.repos name the repos for --all")
    return [f"{inventory.owner}/{name}" for name in inventory.repos], inventory


def _setup(args: argparse.Namespace) -> int:
    try:
        for login in args.reviewer or []:
            if not LOGIN.fullmatch(login):
                raise cli_support.UsageError(f"--reviewer: {login!r} is not a GitHub login")
        repos, inventory = _targets(args)
        client = cli_support.github_client(inventory) if inventory else _client_without_inventory()
    except (cli_support.UsageError, TokenError) as error:
        cli_support.print_error(error)
        return 2
    reports, failed = [], False
    for repo in repos:
        changes, error = [], None
        try:
            facts = read_facts(
                client,
                repo,
                inventory_runner=_served_by_inventory_runner(inventory, repo),
                deploy_trigger=args.deploy_trigger,
                reviewers=tuple(args.reviewer) if args.reviewer else None,
            )
            changes = plan(client, facts, desired_settings(facts))
            if not args.dry_run:
                apply(changes, repo)
        except (SetupError, GitHubError) as exc:
            error, failed = str(exc), True
        applied = not args.dry_run and error is None
        reports.append(as_json(repo, changes, applied=applied, error=error))
        if not args.json:
            if error:
                cli_support.print_error(error)
            else:
                print("\n".join(plan_lines(repo, changes, applied=applied)))
    if args.json:
        print(json.dumps({"dry_run": args.dry_run, "repos": reports}, indent=2))
    return 1 if failed else 0


def _client_without_inventory() -> GitHub:
    return GitHub(resolve_token(), api_url(DEFAULT_API_URL))
