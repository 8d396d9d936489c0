"""Jinja extension loaded by copier.yml: the template's shared helpers.

Copier loads this file through copier-template-extensions, so it works with plain `copier copy`
as well as with `devops-studio new`. It only adds pure helpers; it never touches the network.
"""

from __future__ import annotations

import importlib.util
import secrets
import string
from pathlib import Path

from jinja2.ext import Extension


def _load_model_policy():
    """extensions/model_policy.py, loaded by path: Copier loads this file outside any package."""
    spec = importlib.util.spec_from_file_location("studio_model_policy", Path(__file__).with_name("model_policy.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_model_policy = _load_model_policy()

# Every third-party action a rendered workflow uses, pinned to the full commit SHA of a release.
# One table, so a pin is bumped in one place (and Dependabot keeps rendered repos current).
PINNED_ACTIONS: dict[str, tuple[str, str]] = {
    "actions/checkout": ("11bd71901bbe5b1630ceea73d27597364c9af683", "v4.2.2"),
    "actions/setup-python": ("a26af69be951a213d495a4c3e4e4022e16d87065", "v5.6.0"),
    "actions/setup-node": ("49933ea5288caeca8642d1e84afbd3f7d6820020", "v4.4.0"),
}


def uses(action: str) -> str:
    """`uses:` value for a pinned action, with its release as a trailing comment."""
    sha, version = PINNED_ACTIONS[action]
    return f"{action}@{sha} # {version}"


def random_secret(length: int = 32) -> str:
    """A fresh random credential (letters and digits, safe in URLs and .env files)."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def yaml_flow_list(items: list[str]) -> str:
    """Render a list of labels as a YAML flow sequence: [self-hosted, linux, x64]."""
    return "[" + ", ".join(items) + "]"


class StudioExtension(Extension):
    def __init__(self, environment):
        super().__init__(environment)
        environment.globals["uses"] = uses
        environment.globals["random_secret"] = random_secret
        environment.filters["flow_list"] = yaml_flow_list
        environment.globals["review_policy_violation"] = _model_policy.review_policy_violation
