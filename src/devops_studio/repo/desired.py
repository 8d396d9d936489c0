"""What an app repo's GitHub settings must be, derived from facts about the repo (no network here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# GitHub Actions' own app: required checks pinned to it cannot be satisfied by another app's status.
GITHUB_ACTIONS_APP_ID = 15368
CI_CHECK = "Lint and unit tests"
E2E_CHECK = "End-to-end tests (Playwright)"
GIT_FLOW_CHECK = "git-flow source branch"
ENVIRONMENT = "production"
DEPLOY_TRIGGERS = ("main", "tag")


@dataclass(frozen=True)
class RepoFacts:
    full_name: str
    private: bool
    deploy_trigger: str  # main | tag
    e2e: bool
    self_hosted: bool  # a self-hosted runner serves the repo (inventory, GitHub's runner list or answers)
    reviewers: tuple[str, ...] | None = None  # logins; None leaves the environment's reviewers alone


@dataclass(frozen=True)
class Desired:
    actions: dict[str, Any]
    selected_actions: dict[str, Any]
    workflow: dict[str, Any]
    fork_approval: dict[str, Any] | None  # None: not applicable (GitHub refuses it on private repos)
    environment_policy: dict[str, Any]
    branch_policies: frozenset[tuple[str, str]]
    reviewers: tuple[str, ...] | None
    rulesets: dict[str, dict[str, Any]] = field(default_factory=dict)


def _ruleset(branch: str, checks: list[str]) -> dict[str, Any]:
    return {
        "name": f"git-flow: {branch}",
        "target": "branch",
        "enforcement": "active",
        "bypass_actors": [],
        "conditions": {"ref_name": {"include": [f"refs/heads/{branch}"], "exclude": []}},
        "rules": [
            {"type": "deletion"},
            {"type": "non_fast_forward"},
            {
                "type": "pull_request",
                "parameters": {
                    # A solo owner cannot approve their own pull request: the gate is the pull request
                    # and its checks, not a count of approvals.
                    "required_approving_review_count": 0,
                    "dismiss_stale_reviews_on_push": True,
                    "require_code_owner_review": False,
                    "require_last_push_approval": False,
                    "required_review_thread_resolution": False,
                },
            },
            {
                "type": "required_status_checks",
                "parameters": {
                    "strict_required_status_checks_policy": False,
                    "required_status_checks": [
                        {"context": check, "integration_id": GITHUB_ACTIONS_APP_ID} for check in checks
                    ],
                },
            },
        ],
    }


def desired_settings(facts: RepoFacts) -> Desired:
    if facts.deploy_trigger not in DEPLOY_TRIGGERS:
        raise ValueError(f"deploy_trigger must be one of {', '.join(DEPLOY_TRIGGERS)}, not {facts.deploy_trigger!r}")
    checks = [CI_CHECK] + ([E2E_CHECK] if facts.e2e else [])
    policy = ("main", "branch") if facts.deploy_trigger == "main" else ("v*", "tag")
    return Desired(
        actions={"enabled": True, "allowed_actions": "selected", "sha_pinning_required": True},
        selected_actions={"github_owned_allowed": True, "verified_allowed": False, "patterns_allowed": []},
        workflow={"default_workflow_permissions": "read", "can_approve_pull_request_reviews": False},
        # Public repos get it whether or not a runner is known: it costs nothing, and a runner added
        # later is then covered from its first job.
        fork_approval=None if facts.private else {"approval_policy": "all_external_contributors"},
        environment_policy={"protected_branches": False, "custom_branch_policies": True},
        branch_policies=frozenset({policy}),
        reviewers=facts.reviewers,
        rulesets={
            "main": _ruleset("main", [*checks, GIT_FLOW_CHECK]),
            "develop": _ruleset("develop", checks),
        },
    )
