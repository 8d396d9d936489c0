"""`devops-studio new DEST`: render a new app repo from the template."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from devops_studio.answers import parse_pair
from devops_studio.render import RenderError, UntrustedTemplateError, render_new


def _ask_trust(refused: UntrustedTemplateError) -> bool:
    """On a terminal, ask whether to run the template's code; elsewhere never assume yes."""
    if not sys.stdin.isatty():
        return False
    print(f"The template {refused.template} uses {', '.join(refused.features)}: code that runs on this "
          "machine with your permissions.", file=sys.stderr)
    answer = input("Trust it and go on? [y/N] ").strip().lower()
    return answer in ("y", "yes")


def run(args: argparse.Namespace) -> int:
    dest = Path(args.dest)
    try:
        data = dict(parse_pair(pair) for pair in args.data)
        try:
            render_new(dest, data=data, defaults=args.defaults, vcs_ref=args.vcs_ref, template=args.template,
                       trust=args.trust)
        except UntrustedTemplateError as refused:
            if not _ask_trust(refused):
                raise
            render_new(dest, data=data, defaults=args.defaults, vcs_ref=args.vcs_ref, template=args.template,
                       trust=True)
    except RenderError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"Rendered {dest.resolve()}")
    if shutil.which("git") and not (dest / ".git").exists():
        print(f"Next: cd {dest} && git init -b main && git add -A && git commit -m 'Initial commit'")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("new", help="render a new app repo from the template")
    parser.add_argument("dest", help="folder to create (must not exist or be empty)")
    parser.add_argument(
        "--data",
        "-d",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="answer a question (repeatable), e.g. --data stack=node",
    )
    parser.add_argument("--defaults", action="store_true", help="take the default for every question not given")
    parser.add_argument(
        "--template",
        default=None,
        help="template to render: a git URL such as gh:OWNER/devops-studio, so `copier update` can follow it "
        "(default: the template shipped with this devops-studio)",
    )
    parser.add_argument("--trust", action="store_true",
                        help="run the --template's tasks, migrations and Jinja extensions without asking")
    parser.add_argument("--vcs-ref", default=None, help="template version (git tag or commit) to render")
    parser.set_defaults(func=run)
