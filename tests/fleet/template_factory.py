"""A small Copier template with tagged versions, built in a throwaway git repo.

It uses the project's conventions (`_subdirectory: template`, `.jinja` suffix, `[[ ]]` delimiters)
and covers every path the fleet update has to survive:

- v1.0.0: a text file, a config file, a binary file, a file that v2 drops, the answers file.
- v2.0.0: the text and binary files change, `legacy.txt` is dropped, a new question `log_level`
  with a default appears, and CHANGELOG.md describes the release.
- v3.0.0: a `_tasks` command that fails.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Template Maintainer",
    "GIT_AUTHOR_EMAIL": "maintainer@example.invalid",
    "GIT_COMMITTER_NAME": "Template Maintainer",
    "GIT_COMMITTER_EMAIL": "maintainer@example.invalid",
}

COPIER_HEAD = """\
_subdirectory: template
_templates_suffix: .jinja
_envops:
  block_start_string: "[%"
  block_end_string: "%]"
  variable_start_string: "[["
  variable_end_string: "]]"
  comment_start_string: "[#"
  comment_end_string: "#]"

app_name:
  type: str
  help: Name of the app
  default: demo

stack:
  type: str
  choices: [python, node]
  default: python

app_port:
  type: int
  default: 8000

github_owner:
  type: str
  default: acme
"""

V2_QUESTION = """
log_level:
  type: str
  help: Log level of the app
  choices: [debug, info, warning]
  default: info
"""

FAILING_TASK = """
_tasks:
  - command: "echo 'running the migration'; echo 'migration step failed' >&2; exit 3"
"""

ANSWERS_TEMPLATE = "# Changes here will be overwritten by Copier\n[[ _copier_answers|to_nice_yaml ]]"

README_V1 = """\
# [[ app_name ]]

An app built on the [[ stack ]] stack.

## Running

Start it on port [[ app_port ]].

## Support

Ask the platform team.
"""

README_V2 = README_V1.replace(
    "Start it on port [[ app_port ]].", "Start it on port [[ app_port ]] with `make run`."
)

CONFIG_V1 = """\
[server]
name = [[ app_name ]]
port = [[ app_port ]]
workers = 2
timeout = 30
"""

CONFIG_V2 = CONFIG_V1 + "\n[logging]\nlevel = [[ log_level ]]\n"

LOGO_V1 = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) + b"\x00v1"
LOGO_V2 = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(255, -1, -1)) + b"\x00v2"
ICON = b"\x00\x01\x00\x01ICON" + bytes(64) + b"\xff\xfe"

CHANGELOG_V1 = "# Changelog\n\n## v1.0.0\n\n- First release.\n"
CHANGELOG_V2 = (
    "# Changelog\n\n## v2.0.0\n\n- README documents `make run`.\n- New question `log_level`.\n"
    "- `legacy.txt` is gone.\n\n## v1.0.0\n\n- First release.\n"
)
CHANGELOG_V3 = "# Changelog\n\n## v3.0.0\n\n- Adds a migration task.\n\n" + CHANGELOG_V2.split("\n\n", 1)[1]


def git(cwd: Path, *args: str) -> str:
    import os

    env = {**os.environ, **GIT_ENV}
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    ).stdout


def _write(root: Path, files: dict[str, str | bytes | None]) -> None:
    for rel, content in files.items():
        path = root / rel
        if content is None:
            path.unlink(missing_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def _release(root: Path, tag: str, files: dict[str, str | bytes | None]) -> None:
    _write(root, files)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", f"Release {tag}")
    git(root, "tag", "-a", tag, "-m", f"Release {tag}")


def build_template(root: Path, *, versions: int = 3) -> Path:
    """Create the template repo at `root` with tags v1.0.0 .. v<versions>.0.0 and return it."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    answers = "template/[[ _copier_conf.answers_file ]].jinja"
    _release(
        root,
        "v1.0.0",
        {
            "copier.yml": COPIER_HEAD,
            "CHANGELOG.md": CHANGELOG_V1,
            answers: ANSWERS_TEMPLATE,
            "template/README.md.jinja": README_V1,
            "template/config.ini.jinja": CONFIG_V1,
            "template/assets/logo.png": LOGO_V1,
            "template/assets/icon.ico": ICON,
            "template/legacy.txt": "This file is kept for old tooling.\nDelete it when unused.\n",
        },
    )
    if versions >= 2:
        _release(
            root,
            "v2.0.0",
            {
                "copier.yml": COPIER_HEAD + V2_QUESTION,
                "CHANGELOG.md": CHANGELOG_V2,
                "template/README.md.jinja": README_V2,
                "template/config.ini.jinja": CONFIG_V2,
                "template/assets/logo.png": LOGO_V2,
                "template/legacy.txt": None,
            },
        )
    if versions >= 3:
        _release(
            root,
            "v3.0.0",
            {
                "copier.yml": COPIER_HEAD + V2_QUESTION + FAILING_TASK,
                "CHANGELOG.md": CHANGELOG_V3,
            },
        )
    return root


PROJECT_V2_README_SECTION = """
## Template version 2

This repo follows the devops-studio template; `devops-studio fleet status` shows its version.
"""
PROJECT_V2_EDITORCONFIG = "root = true\n\n[*]\nend_of_line = lf\ninsert_final_newline = true\n"


def build_project_template(dest: Path) -> Path:
    """This project's real template in a git repo of its own: v1.0.0 as it is, v2.0.0 a small change.

    v2.0.0 appends a section to the rendered README.md and adds an .editorconfig.
    """
    dest.mkdir(parents=True)
    shutil.copy2(PROJECT_ROOT / "copier.yml", dest / "copier.yml")
    for folder in ("template", "extensions"):
        shutil.copytree(PROJECT_ROOT / folder, dest / folder, ignore=shutil.ignore_patterns("__pycache__"))
    git(dest, "init", "-q", "-b", "main")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "Template v1.0.0")
    git(dest, "tag", "-a", "v1.0.0", "-m", "v1.0.0")
    readme = dest / "template" / "README.md.jinja"
    readme.write_text(readme.read_text() + PROJECT_V2_README_SECTION)
    (dest / "template" / ".editorconfig").write_text(PROJECT_V2_EDITORCONFIG)
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "Template v2.0.0: README section on versions, .editorconfig")
    git(dest, "tag", "-a", "v2.0.0", "-m", "v2.0.0")
    return dest
