"""Every answer combination we offer renders into a repo that passes the whole lint bar.

The matrix covers every value of every choice question at least once, and every pair of the
questions that interact: stack x database x proxy (all 12), deploy_trigger x deploy_method (all 4),
and both CI runners, deploy routes, review settings and versions.
"""

from __future__ import annotations

import itertools

import pytest

from .helpers import all_findings, answers

STACKS, DATABASES, PROXIES = ("python", "node"), ("none", "postgres"), ("host-nginx", "compose-nginx", "none")
TRIGGER_METHOD = list(itertools.product(("main", "tag"), ("build-on-host", "registry")))


def _matrix() -> list[dict[str, object]]:
    combos = []
    for i, (stack, database, proxy) in enumerate(itertools.product(STACKS, DATABASES, PROXIES)):
        trigger, method = TRIGGER_METHOD[i % 4]
        combo = {
            "stack": stack,
            "database": database,
            "proxy": proxy,
            "deploy_trigger": trigger,
            "deploy_method": method,
            "ci_runner": ("github-hosted", "self-hosted")[i % 2],
            "deploy_via": ("runner", "runner", "ssh")[i % 3],
            "e2e": i % 3 == 1,
            "llm_review": i % 5 != 4,
        }
        if stack == "python":
            combo["python_version"] = ("3.11", "3.12", "3.13", "3.14")[i % 4]
        else:
            combo["node_version"] = ("22", "24")[i % 2]
        if combo["llm_review"]:
            combo["review_language"] = ("ja", "en")[i % 2]
            combo["review_blocking"] = i % 4 == 0
        combos.append(combo)
    # Beyond the pairs: custom labels, ports and names that must flow through every file.
    combos += [
        {"stack": "python", "app_port": 9000, "deploy_runner_labels": ["self-hosted", "linux", "x64", "chronos"]},
        {"stack": "python", "e2e": True, "test_runner": "self-hosted", "ci_runner": "self-hosted"},
        {"stack": "node", "e2e": True, "test_runner": "self-hosted", "deploy_method": "registry"},
        {
            "stack": "node",
            "app_port": 3000,
            "domain": "shop.home.example.org",
            "ci_runner": "self-hosted",
            "ci_runner_labels": ["self-hosted", "linux", "build"],
        },
        {
            "stack": "python",
            "database": "postgres",
            "deploy_method": "registry",
            "deploy_via": "ssh",
            "registry_url": "registry.home.lan:5000/team/sample-app",
            "e2e": True,
        },
        {
            "stack": "node",
            "database": "postgres",
            "proxy": "compose-nginx",
            "deploy_trigger": "tag",
            "llm_review": True,
            "review_model": "olmo-3",
            "dev_model": "devstral-small-2",
        },
    ]
    return combos


MATRIX = _matrix()


def _id(combo: dict[str, object]) -> str:
    return "-".join(str(v) if not isinstance(v, list) else "+".join(v) for v in combo.values())


def test_matrix_covers_every_choice_and_interacting_pair():
    assert len(MATRIX) >= 16
    keys = {key for combo in MATRIX for key in combo}
    seen = {key: {str(c[key]) for c in MATRIX if key in c} for key in keys}
    assert seen["stack"] == set(STACKS) and seen["database"] == set(DATABASES) and seen["proxy"] == set(PROXIES)
    assert {(c["stack"], c["database"], c["proxy"]) for c in MATRIX[:12]} == set(
        itertools.product(STACKS, DATABASES, PROXIES)
    )
    assert {(c["deploy_trigger"], c["deploy_method"]) for c in MATRIX[:12]} == set(TRIGGER_METHOD)
    for key, values in {
        "ci_runner": {"github-hosted", "self-hosted"},
        "deploy_via": {"runner", "ssh"},
        "e2e": {"True", "False"},
        "llm_review": {"True", "False"},
        "python_version": {"3.11", "3.12", "3.13", "3.14"},
        "node_version": {"22", "24"},
        "review_language": {"ja", "en"},
    }.items():
        assert seen[key] == values, key


@pytest.mark.parametrize("combo", MATRIX, ids=_id)
def test_rendered_repo_passes_the_lint_bar(copie, combo):
    result = copie.copy(extra_answers=answers(**combo))
    assert result.exit_code == 0, result.exception
    repo = result.project_dir
    stack = combo["stack"]
    assert (repo / f".github/workflows/ci-{stack}.yml").is_file()
    assert (repo / ".github/workflows/deploy-docker.yml").is_file()
    assert (repo / "compose.db.yaml").is_file() == (combo.get("database") == "postgres")
    assert (repo / "compose.proxy.yaml").is_file() == (combo.get("proxy") == "compose-nginx")
    assert (repo / "deploy/nginx/sample-app.conf").is_file() == (combo.get("proxy", "host-nginx") != "none")
    assert all_findings(repo) == []
