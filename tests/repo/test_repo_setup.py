"""`devops-studio repo setup` against the GitHub test server's repository settings endpoints."""

from __future__ import annotations

import json

import pytest

from devops_studio.cli import main
from tests.repo.conftest import TOKEN, new_repo


def run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main(["repo", "setup", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_dry_run_prints_the_plan_for_a_new_repo_and_sends_only_gets(gh, capsys):
    repo = new_repo(gh)
    code, out, _ = run(capsys, repo, "--dry-run")
    assert code == 0
    assert "octo/app:" in out and "to change" in out
    for expected in (
        'fork pull request approval · approval_policy: "first_time_contributors" -> '
        '"all_external_contributors"  CRITICAL',
        'actions permissions · allowed_actions: "all" -> "selected"',
        "actions permissions · sha_pinning_required: false -> true",
        'workflow token · default_workflow_permissions: "write" -> "read"',
        "environment 'production' · environment: (not set) -> \"create\"",
        "ruleset 'git-flow: main' · ruleset: (not set) -> \"create\"",
        "ruleset 'git-flow: develop' · ruleset: (not set) -> \"create\"",
    ):
        assert expected in out
    assert {r["method"] for r in gh.requests} == {"GET"}
    assert gh.state(repo)["actions"]["allowed_actions"] == "all"
    assert gh.state(repo)["environments"] == {} and gh.state(repo)["rulesets"] == {}


def test_apply_then_a_second_run_has_nothing_to_change(gh, capsys):
    repo = new_repo(gh, e2e=True)
    code, out, err = run(capsys, repo)
    assert code == 0, err
    assert "changed" in out
    state = gh.state(repo)
    assert state["approval"] == "all_external_contributors"
    assert state["actions"] == {"enabled": True, "allowed_actions": "selected", "sha_pinning_required": True}
    assert state["selected"] == {"github_owned_allowed": True, "verified_allowed": False, "patterns_allowed": []}
    assert state["workflow"] == {"default_workflow_permissions": "read", "can_approve_pull_request_reviews": False}
    env = state["environments"]["production"]
    assert env["policy"] == {"protected_branches": False, "custom_branch_policies": True}
    assert list(env["branch_policies"].values()) == [{"name": "main", "type": "branch"}]
    rulesets = {r["name"]: r for r in state["rulesets"].values()}
    main_rules = {r["type"]: r.get("parameters") for r in rulesets["git-flow: main"]["rules"]}
    assert {"deletion", "non_fast_forward", "pull_request", "required_status_checks"} <= set(main_rules)
    checks = {c["context"] for c in main_rules["required_status_checks"]["required_status_checks"]}
    assert checks == {"Lint and unit tests", "End-to-end tests (Playwright)", "git-flow source branch"}
    # Pinned to the GitHub Actions app: a commit status posted by anyone else does not satisfy them.
    assert {c["integration_id"] for c in main_rules["required_status_checks"]["required_status_checks"]} == {15368}
    develop_rules = {r["type"]: r.get("parameters") for r in rulesets["git-flow: develop"]["rules"]}
    assert "git-flow source branch" not in str(develop_rules)
    assert rulesets["git-flow: main"]["conditions"] == {"ref_name": {"include": ["refs/heads/main"], "exclude": []}}

    writes = len([r for r in gh.requests if r["method"] != "GET"])
    code, out, _ = run(capsys, repo)
    assert code == 0
    assert out.strip() == "octo/app: nothing to change"
    assert len([r for r in gh.requests if r["method"] != "GET"]) == writes  # idempotent: no write at all


def test_drift_after_setup_is_found_and_repaired(gh, capsys):
    repo = new_repo(gh, trigger="tag")
    assert run(capsys, repo)[0] == 0
    state = gh.state(repo)
    env = state["environments"]["production"]
    assert list(env["branch_policies"].values()) == [{"name": "v*", "type": "tag"}]
    # Someone loosens things by hand: fork approval back to the default, an extra deploy branch.
    state["approval"] = "first_time_contributors"
    env["branch_policies"][99] = {"name": "feature/*", "type": "branch"}
    ruleset = next(iter(state["rulesets"].values()))
    ruleset["rules"] = [r for r in ruleset["rules"] if r["type"] != "non_fast_forward"]
    code, out, _ = run(capsys, repo, "--dry-run", "--json")
    report = json.loads(out)["repos"][0]
    fields = {(c["setting"], c["field"]) for c in report["changes"]}
    assert ("fork pull request approval", "approval_policy") in fields
    assert ("environment 'production'", "deployment branch policies") in fields
    assert (f"ruleset {ruleset['name']!r}", "rule non_fast_forward") in fields
    assert any(c["critical"] for c in report["changes"])
    assert run(capsys, repo)[0] == 0
    assert run(capsys, repo)[1].strip() == "octo/app: nothing to change"
    assert list(env["branch_policies"].values()) == [{"name": "v*", "type": "tag"}]


def test_private_repo_skips_fork_approval_which_github_refuses_there(gh, capsys):
    repo = new_repo(gh, private=True)
    code, out, err = run(capsys, repo)
    assert code == 0, err
    assert "fork pull request approval" not in out
    assert not any(r["path"].endswith("fork-pr-contributor-approval") for r in gh.requests)


def test_required_reviewers_are_set_by_login(gh, capsys):
    repo = new_repo(gh)
    gh.add_user("alice")
    code, out, err = run(capsys, repo, "--reviewer", "alice")
    assert code == 0, err
    assert gh.state(repo)["environments"]["production"]["reviewers"] == ["alice"]
    assert run(capsys, repo, "--reviewer", "alice")[1].strip() == "octo/app: nothing to change"
    # Without --reviewer, the reviewers set by hand stay.
    assert run(capsys, repo)[1].strip() == "octo/app: nothing to change"
    assert gh.state(repo)["environments"]["production"]["reviewers"] == ["alice"]


def test_token_without_administration_permission_gets_403_named_with_the_fix(gh, capsys):
    repo = new_repo(gh)
    gh.settings_access[TOKEN] = "read"
    code, out, err = run(capsys, repo)
    assert code == 1
    assert "403" in err and "Resource not accessible by personal access token" in err
    assert "Administration: read and write" in err and "`repo` scope" in err
    gh.settings_access[TOKEN] = "none"
    code, _, err = run(capsys, repo, "--dry-run")
    assert code == 1 and "403" in err and "Administration" in err


def test_user_who_is_not_admin_is_told_before_any_request_for_settings(gh, capsys):
    repo = new_repo(gh)
    gh.non_admins.add("owner")
    code, _, err = run(capsys, repo, "--dry-run")
    assert code == 1
    assert "not an admin of the repo" in err
    assert [r["path"] for r in gh.requests] == [f"/repos/{repo}"]


def test_unknown_repo_answers_404_with_the_fix(gh, capsys):
    code, _, err = run(capsys, "octo/missing", "--dry-run")
    assert code == 1
    assert "404" in err and "octo/missing" in err and "exists" in err


def test_validation_failure_422_is_reported_with_githubs_field(gh, capsys):
    repo = new_repo(gh)
    logins = [f"user{i}" for i in range(7)]
    for login in logins:
        gh.add_user(login)
    code, _, err = run(capsys, repo, *[arg for login in logins for arg in ("--reviewer", login)])
    assert code == 1
    assert "422" in err and "Validation Failed" in err and "reviewers" in err


def test_missing_answers_needs_the_deploy_trigger(gh, capsys):
    gh.add_repo("octo", "bare", private=False)
    code, _, err = run(capsys, "octo/bare", "--dry-run")
    assert code == 1 and "--deploy-trigger" in err and ".copier-answers.yml" in err
    code, out, _ = run(capsys, "octo/bare", "--dry-run", "--deploy-trigger", "tag")
    assert code == 0 and "to change" in out


@pytest.mark.parametrize("target", ["octo/app\n", "octo", "../x/y", "octo/app;rm", "octo/..", "octo/."])
def test_bad_repo_name_is_refused_before_any_request(gh, capsys, target):
    code, _, err = run(capsys, target, "--dry-run")
    assert code == 2 and "OWNER/REPO" in err
    assert gh.requests == []
