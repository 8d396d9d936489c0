"""`devops-studio review run|once|status|install`: the pull-request reviewer on the review machine."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

from devops_studio import github_api
from devops_studio.inventory import InventoryError, find_inventory, load_inventory
from devops_studio.review import poller, service
from devops_studio.review.github import GitHubError, ReviewGitHub
from devops_studio.review.model import ReviewModel
from devops_studio.review.settings import SettingsError, from_inventory
from devops_studio.review.state import ReviewState, StateError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("review", help="review pull requests with the local model (polls GitHub)")
    actions = parser.add_subparsers(dest="review_action", metavar="ACTION", required=True)
    for name, text in (
        ("run", "poll GitHub until stopped (what the service runs)"),
        ("once", "one pass over every repository, then exit"),
        ("status", "print the per-pull-request state"),
        ("install", "write the systemd unit (Linux) or launchd daemon (macOS) of the reviewer"),
    ):
        sub = actions.add_parser(name, help=text)
        sub.add_argument(
            "--inventory", metavar="PATH", help="studio.yml (default: $DEVOPS_STUDIO_INVENTORY or ./studio.yml)"
        )
        sub.add_argument("--state-file", metavar="PATH", help="the reviewer's state file")
        if name in ("run", "once"):
            sub.add_argument(
                "--ollama-url", metavar="URL", help="Ollama to use (default: $OLLAMA_HOST, else the review node's)"
            )
        if name == "install":
            sub.add_argument("--os", choices=("linux", "macos"), help="default: the review node's os")
            sub.add_argument("--user", default="devops-review", help="the unprivileged user the service runs as")
            sub.add_argument(
                "--token-file", required=True, metavar="PATH", help="file holding the GitHub token (mode 0600)"
            )
            sub.add_argument("--dry-run", action="store_true", help="print the unit; write nothing")
        sub.set_defaults(func=_main)


def _token() -> str:
    credential = os.environ.get("DEVOPS_STUDIO_REVIEW_TOKEN_CREDENTIAL")
    directory = os.environ.get("CREDENTIALS_DIRECTORY")
    path = (Path(directory) / credential) if credential and directory else None
    path = path or (
        Path(os.environ["DEVOPS_STUDIO_REVIEW_TOKEN_FILE"])
        if os.environ.get("DEVOPS_STUDIO_REVIEW_TOKEN_FILE")
        else None
    )
    if path is not None:
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as error:
            raise SettingsError(f"cannot read the GitHub token from {path}: {error.strerror}") from None
    return github_api.resolve_token()


def _main(args: argparse.Namespace) -> int:
    try:
        inventory = load_inventory(find_inventory(args.inventory))
        settings = from_inventory(inventory, args.state_file, getattr(args, "ollama_url", None))
        if args.review_action == "install":
            return _install(args, inventory, settings)
        state = ReviewState(settings.state_file)
        if args.review_action == "status":
            print(json.dumps(state.data["pulls"], indent=2, sort_keys=True))
            return 0
        github = ReviewGitHub(_token(), github_api.api_url(settings.api_url))
        model = ReviewModel(settings.ollama_url, settings.model, settings.request_timeout)
        github.login()
        log = lambda line: print(line, flush=True)  # noqa: E731
        if args.review_action == "once":
            return 1 if poller.once(github, model, settings, state, log) else 0
        return poller.run(github, model, settings, state, log)
    except (InventoryError, SettingsError, StateError, GitHubError, service.ServiceError) as error:
        print(f"devops-studio review: {error}", file=sys.stderr)
        return 1


def _install(args: argparse.Namespace, inventory, settings) -> int:
    program = shutil.which("devops-studio") or str(Path(sys.argv[0]).resolve())
    spec = service.ServiceSpec(
        program=program,
        inventory=str(Path(inventory.path).resolve()),
        state_file=str(settings.state_file),
        token_file=str(Path(args.token_file).expanduser()),
        user=args.user,
    )
    os_name = args.os or inventory.node(inventory.review.node).os
    if os_name == "macos":
        content, target = service.launchd_plist(spec), Path(f"/Library/LaunchDaemons/{service.LAUNCHD_LABEL}.plist")
        then = f"sudo launchctl bootstrap system {target}"
    else:
        content = service.systemd_unit(spec).encode()
        target = Path(f"/etc/systemd/system/{service.SERVICE}.service")
        then = f"sudo systemctl daemon-reload && sudo systemctl enable --now {service.SERVICE}"
    if args.dry_run:
        print(f"# would write {target}")
        print(content.decode())
        return 0
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_bytes(content)
    os.chmod(tmp, 0o644)
    os.replace(tmp, target)
    print(f"wrote {target}; then: {then}")
    return 0
