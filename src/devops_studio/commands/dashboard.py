"""`devops-studio dashboard [--listen HOST:PORT] [--export DIR]`: the whole lab on one read-only page."""

from __future__ import annotations

import argparse
import ipaddress
import sys
from pathlib import Path

from devops_studio.inventory import Inventory, find_inventory, load_inventory
from devops_studio.nodes.cli_support import UsageError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("dashboard", help="serve (or --export) a read-only page of the whole lab")
    parser.add_argument(
        "--inventory", "-i", metavar="PATH", help="studio.yml (default: $DEVOPS_STUDIO_INVENTORY or ./studio.yml)"
    )
    parser.add_argument(
        "--apps-dir",
        action="append",
        default=[],
        metavar="DIR",
        type=Path,
        help="folder of deployed apps to show (default: the production node's apps_dir, if here)",
    )
    parser.add_argument(
        "--listen",
        default="127.0.0.1:8765",
        metavar="HOST:PORT",
        help="address to serve on (default 127.0.0.1:8765); any other host needs --token-file",
    )
    parser.add_argument("--token-file", type=Path, metavar="PATH", help="file holding the access token (0600)")
    parser.add_argument("--export", type=Path, metavar="DIR", help="write the page as static files and exit")
    parser.add_argument("--lang", choices=("en", "ja"), help="language (default: the browser's)")
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds each source may take (default 3)")
    parser.add_argument("--refresh", type=int, default=30, help="seconds between refreshes (default 30)")
    parser.add_argument("--fleet", action="store_true", help="also show each repo's template version (`fleet status`)")
    parser.set_defaults(func=run)


def _listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"--listen {value!r}: write HOST:PORT, for example 127.0.0.1:8765")
    return host.strip("[]"), int(port)


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _token(path: Path | None, host: str) -> str | None:
    if path is None:
        if not _is_loopback(host):
            raise UsageError(f"--listen {host}: serving beyond this machine needs --token-file PATH (a 0600 file)")
        return None
    if path.stat().st_mode & 0o077:
        raise UsageError(f"--token-file {path}: readable by others; chmod 600 {path}")
    token = path.read_text().strip()
    if len(token) < 16:
        raise UsageError(f"--token-file {path}: the token must be at least 16 characters, e.g. `openssl rand -hex 24`")
    return token


def run(args: argparse.Namespace) -> int:
    from devops_studio.dashboard.sources import gather

    inventory: Inventory | None = None
    path = find_inventory(args.inventory)
    if path.is_file():
        inventory = load_inventory(path)
    elif args.inventory:
        raise UsageError(f"--inventory {args.inventory}: no such file; pass the path of studio.yml")
    apps_dirs = list(args.apps_dir)
    if not apps_dirs and inventory:
        apps_dirs = [Path(n.apps_dir) for n in inventory.nodes.values() if n.apps_dir and Path(n.apps_dir).is_dir()]
    repos = _fleet_source(inventory) if args.fleet and inventory else None

    def take():
        return gather(inventory, apps_dirs, timeout=args.timeout, repos=repos)

    if args.export:
        from devops_studio.dashboard.export import export

        dest = export(take(), args.export, lang=args.lang or "en")
        print(f"Wrote {dest}/index.html")
        return 0
    host, port = _listen(args.listen)
    token = _token(args.token_file, host)
    import uvicorn

    from devops_studio.dashboard.server import build_app

    app = build_app(take, token=token, lang=args.lang, refresh=args.refresh)
    print(f"Dashboard on http://{args.listen}/ (read-only; Ctrl-C stops it)", file=sys.stderr)
    uvicorn.run(app, host=host, port=port, log_level="warning", server_header=False)
    return 0


def _fleet_source(inventory: Inventory):
    def repos():
        from devops_studio.fleet.discovery import discover
        from devops_studio.fleet.status import fleet_status
        from devops_studio.github_api import GitHubClient, api_url, env_token

        github = GitHubClient(env_token(), api_url(), timeout=10) if env_token() else None
        return fleet_status(discover(inventory=inventory.path), github=github)

    return repos
