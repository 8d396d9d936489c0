""".env.example names every variable the app and its compose files read."""

from __future__ import annotations

import re

import pytest

from .helpers import answers

COMPOSE_VAR = re.compile(r"\$\{([A-Z][A-Z0-9_]*)")
APP_VAR = re.compile(
    r"""os\.environ(?:\.get)?[\[(]["']([A-Z][A-Z0-9_]*)"""  # Python
    r"|env\.([A-Z][A-Z0-9_]*)|process\.env\.([A-Z][A-Z0-9_]*)"  # Node
)


@pytest.mark.parametrize(
    "combo",
    [
        {"stack": "python", "database": "postgres", "proxy": "none", "deploy_method": "registry"},
        {"stack": "node", "database": "postgres", "proxy": "compose-nginx"},
    ],
    ids=["python", "node"],
)
def test_every_variable_read_is_explained(copie, combo):
    repo = copie.copy(extra_answers=answers(**combo)).project_dir
    read: set[str] = set()
    for compose in repo.glob("compose*.yaml"):
        read |= set(COMPOSE_VAR.findall(compose.read_text()))
    for source in [*repo.glob("app/*.py"), *repo.glob("src/*.ts")]:
        read |= {name for groups in APP_VAR.findall(source.read_text()) for name in groups if name}
    assert {"APP_VERSION", "DATABASE_URL", "POSTGRES_PASSWORD"} <= read
    example = (repo / ".env.example").read_text()
    missing = sorted(name for name in read if not re.search(rf"\b{name}\b", example))
    assert missing == []
    assert "COMPOSE_FILE=compose.yaml:compose.db.yaml" in example


def test_env_is_ignored_and_example_is_not(copie):
    repo = copie.copy(extra_answers=answers()).project_dir
    ignored = (repo / ".gitignore").read_text().splitlines()
    assert ".env" in ignored and "!.env.example" in ignored
