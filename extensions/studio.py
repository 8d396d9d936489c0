"""Jinja extension loaded by copier.yml: the template's shared helpers.

Copier loads this file through copier-template-extensions, so it works with plain `copier copy`
as well as with `devops-studio new`. It only adds pure helpers; it never touches the network.
"""

from __future__ import annotations

import importlib.util
import re
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
    "actions/upload-artifact": ("ea165f8d65b6e75b540449e92b4886f43607fa02", "v4.6.2"),
}


def uses(action: str) -> str:
    """`uses:` value for a pinned action, with its release as a trailing comment."""
    sha, version = PINNED_ACTIONS[action]
    return f"{action}@{sha} # {version}"


def random_secret(length: int = 32) -> str:
    """A fresh random credential (letters and digits, safe in URLs and .env files)."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


LABEL_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
# Labels GitHub gives every self-hosted runner itself: they tell no runner apart from another.
DEFAULT_RUNNER_LABELS = frozenset({"self-hosted", "linux", "macos", "windows", "x64", "arm64", "arm"})


def fullmatch(value: object, pattern: str) -> bool:
    """True when the whole string matches. `regex_search('^...$')` also accepts a trailing newline,
    because Python's `$` matches before one; validators use this test instead."""
    return isinstance(value, str) and re.fullmatch(pattern, value) is not None


def is_label_list(value: object) -> bool:
    """A non-empty YAML list of runner labels, each a string (an integer or a nested list is refused)."""
    return isinstance(value, list) and bool(value) and all(fullmatch(label, LABEL_PATTERN) for label in value)


def deploy_runner_clash(labels: list[str], deploy_labels: list[str]) -> str:
    """Why a job with `labels` could be picked up by the deploy runner, or "" when it cannot.

    GitHub gives a job to any runner that has every label the job asks for, so a job lands on the
    deploy runner when its labels are a subset of the deploy runner's, or when it asks for a label
    that only the deploy runner carries.
    """
    wanted = {label.lower() for label in labels}
    deploy = {label.lower() for label in deploy_labels}
    if wanted <= deploy:
        return f"every label of {yaml_flow_list(labels)} is also on the deploy runner {yaml_flow_list(deploy_labels)}"
    own = sorted((wanted & deploy) - DEFAULT_RUNNER_LABELS)
    if own:
        return f"it asks for {', '.join(own)}, the deploy runner's own label"
    return ""


# What nginx reads as one plain argument: no quotes, spaces, `;`, `$` (a variable), braces or `#`.
NGINX_WORD = r"[A-Za-z0-9._/:@-]+"


def nginx_word(value: object) -> str:
    """A value written into nginx as one argument. nginx has no way to escape `$` inside a string,
    so anything beyond a plain word is refused rather than quoted."""
    if not fullmatch(value, NGINX_WORD):
        raise ValueError(f"not a plain nginx argument: {value!r}")
    return str(value)


def yaml_flow_list(items: list[str]) -> str:
    """Render a list of labels as a YAML flow sequence: [self-hosted, linux, x64].

    Each label must be a plain label, so nothing YAML would read differently is ever pasted."""
    for item in items:
        if not fullmatch(item, LABEL_PATTERN):
            raise ValueError(f"not a runner label: {item!r}")
    return "[" + ", ".join(items) + "]"


class StudioExtension(Extension):
    def __init__(self, environment):
        super().__init__(environment)
        environment.globals["uses"] = uses
        environment.globals["random_secret"] = random_secret
        environment.filters["flow_list"] = yaml_flow_list
        environment.filters["nginx_word"] = nginx_word
        environment.tests["fullmatch"] = fullmatch
        environment.tests["label_list"] = is_label_list
        environment.globals["deploy_runner_clash"] = deploy_runner_clash
        environment.globals["review_policy_violation"] = _model_policy.review_policy_violation
