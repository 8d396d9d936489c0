"""`devops-studio dashboard`: the whole lab on one read-only page (docs/dashboard.md)."""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from pathlib import Path

from devops_studio.nodes import cli_support
from devops_studio.nodes.cli_support import UsageError

DEFAULT_LISTEN = "127.0.0.1:8765"
MIN_TOKEN_LENGTH = 16


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("dashboard", help="the whole lab on one read-only web page")
    cli_support.add_inventory_args(parser)
    parser.add_argument("--listen", default=DEFAULT_LISTEN, metavar="HOST:PORT",
                        help=f"address to serve on (default {DEFAULT_LISTEN}); any other than the loopback "
                        "needs --token-file")
    parser.add_argument("--token-file", type=Path, metavar="PATH",
                        help="file holding the token visitors must present (at least 16 characters)")
    parser.add_argument("--export", type=Path, metavar="DIR", help="write the page as static files to DIR and exit")
    parser.add_argument("--repos", nargs="+", metavar="PATH_OR_URL",
                        help="app repos for the repo rows (clones or URLs)")
    parser.add_argument("--folder", type=Path, help="a folder whose sub-folders are app clones")
    parser.add_argument("--apps-dir", type=Path, metavar="DIR",
                        help="where the apps are deployed on this machine (default: the production node's apps_dir)")
    parser.add_argument("--alerts-url", metavar="URL", help="Alertmanager to read firing alerts from")
    parser.add_argument("--lang", choices=("en", "ja"), help="language of the page (default: the browser's)")
    parser.add_argument("--interval", type=float, default=30, metavar="SECONDS",
                        help="how often every source is asked again (default 30)")
    parser.add_argument("--github-interval", type=float, default=300, metavar="SECONDS",
                        help="how often GitHub is asked again, at most (default 300: 30 repos stay far "
                             "below GitHub's 5,000 requests an hour)")
    parser.add_argument("--timeout", type=float, default=5, metavar="SECONDS",
                        help="how long one source may take, the base of every source's timeout (default 5)")
    parser.set_defaults(func=_dashboard)


def parse_listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"--listen {text!r}: use HOST:PORT, for example 127.0.0.1:8765 or 0.0.0.0:8765")
    return host, int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def read_token(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise UsageError(f"--token-file {path}: cannot read it ({error.strerror})") from None
    if len(token) < MIN_TOKEN_LENGTH or any(c.isspace() for c in token):
        raise UsageError(f"--token-file {path}: the token must be one word of at least {MIN_TOKEN_LENGTH} "
                         "characters; make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'")
    return token


def build_lab(args: argparse.Namespace):
    from devops_studio.dashboard.lab import Lab
    from devops_studio.fleet.discovery import DiscoveryError, discover
    from devops_studio.github_api import GitHubClient, api_url, env_token

    inventory = cli_support.load(args)
    try:
        repos = discover(args.repos, args.folder, inventory.path if inventory.repos and inventory.owner else None)
    except DiscoveryError as error:
        raise UsageError(str(error)) from None
    # GitHub is asked only when configured, as `fleet status` does: without a token or an API URL a
    # machine without internet would wait for the timeout on every repo.
    token = env_token()
    github = GitHubClient(token, api_url(inventory.api_url), timeout=args.timeout, max_total_wait=args.timeout) \
        if token or os.environ.get("GITHUB_API_URL") else None
    here = cli_support.pick_node(inventory, args.node).name if args.node else None
    lab = Lab(inventory, repos, github, args.apps_dir, args.alerts_url, here=here, timeout=args.timeout,
              github_interval=max(args.github_interval, 0))
    return lab, [token] if token else []


def _dashboard(args: argparse.Namespace) -> int:
    from devops_studio.dashboard.lab import build_sources
    from devops_studio.dashboard.sources import Collector

    host, port = parse_listen(args.listen)
    token = read_token(args.token_file)
    if args.export is None and token is None and not is_loopback(host):
        raise UsageError(f"--listen {args.listen} serves the lab's state to the network; give it a token with "
                         "--token-file PATH, or serve on 127.0.0.1 behind the host nginx with authentication")
    lab, secrets = build_lab(args)
    collector = Collector(build_sources(lab), secrets=secrets + ([token] if token else []))
    if args.export is not None:
        from devops_studio.dashboard.export import export

        written = export(args.export, lab, collector.collect(), lang=args.lang or "en", secrets=collector.secrets)
        print(f"dashboard written to {written}")
        return 0
    import uvicorn

    from devops_studio.dashboard.app import create_app

    app = create_app(lab, collector, token=token, lang=args.lang, interval=args.interval,
                     refresh=max(1, round(args.interval)))
    shown = f"[{host}]" if ":" in host else host
    print(f"dashboard on http://{shown}:{port}/ (read-only; Ctrl-C stops it)", file=sys.stderr)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, server_header=False)
    return 0
