"""Where the app template lives: the checkout this package runs from, or the copy inside the wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def template_root() -> Path:
    """The folder holding copier.yml, template/ and extensions/.

    In a checkout (editable install, tests, CI) that is the repository root, so edits show up at
    once; an installed wheel carries a copy under devops_studio/_template.
    """
    checkout = _PACKAGE_DIR.parents[1]
    if (checkout / "copier.yml").is_file() and (checkout / "template").is_dir():
        return checkout
    return _PACKAGE_DIR / "_template"


def is_git_checkout(path: Path) -> bool:
    return (path / ".git").exists()
