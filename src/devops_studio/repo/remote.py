"""Reading an app repo's settings from GitHub (GET only) and applying a plan (the only writes)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ruamel.yaml import YAML, YAMLError

from devops_studio.github_api import GitHubError
from devops_studio.repo.desired import ENVIRONMENT, Desired, RepoFacts

ADMIN_FIX = (
    "Fix: use a token of a repository admin: a classic token with the `repo` scope, or a fine-grained "
    "token with 'Administration: read and write' and 'Contents: read' on {repo}"
)


class Client(Protocol):
    def request(self, method: str, path: str, body: Any = None) -> Any: ...
    def paginate(self, path: str, key: str | None = None) -> list[Any]: ...


class SetupError(Exception):
    """A repo could not be read or set up; the message names what and how to fix it."""


@dataclass
class Change:
    setting: str
    field: str
    current: Any
    desired: Any
    critical: bool = False
    apply: Callable[[], None] | None = field(default=None, repr=False, compare=False)

    def as_json(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if k != "apply"}


def explain(error: GitHubError, repo: str) -> SetupError:
    if error.status == 403:
        return SetupError(f"{error}. {ADMIN_FIX.format(repo=repo)}")
    if error.status == 404:
        return SetupError(f"{error}. Fix: check that {repo} exists and that the token can see it")
    return SetupError(str(error))


def _get(client: Client, path: str, *, missing: int | tuple[int, ...] = ()) -> Any:
    """GET path; None when GitHub answers a status in `missing` (a setting that does not exist yet)."""
    try:
        return client.request("GET", path)
    except GitHubError as error:
        if error.status in ((missing,) if isinstance(missing, int) else missing):
            return None
        raise


def read_answers(client: Client, repo: str, ref: str) -> dict[str, Any] | None:
    payload = _get(client, f"/repos/{repo}/contents/.copier-answers.yml?ref={ref}", missing=404)
    if payload is None:
        return None
    try:
        answers = YAML(typ="safe").load(base64.b64decode(payload.get("content", "")).decode())
    except (ValueError, YAMLError) as error:
        raise SetupError(f"{repo}: .copier-answers.yml cannot be read ({error}); fix it in the repo") from None
    return answers if isinstance(answers, dict) else {}


def read_facts(client: Client, repo: str, **options: Any) -> RepoFacts:
    try:
        return _read_facts(client, repo, **options)
    except GitHubError as error:
        raise explain(error, repo) from None


def _read_facts(
    client: Client,
    repo: str,
    *,
    inventory_runner: bool,
    deploy_trigger: str | None = None,
    reviewers: tuple[str, ...] | None = None,
) -> RepoFacts:
    info = client.request("GET", f"/repos/{repo}")
    if info.get("permissions", {}).get("admin") is False:
        raise SetupError(f"{repo}: the token's user is not an admin of the repo. {ADMIN_FIX.format(repo=repo)}")
    answers = read_answers(client, repo, info.get("default_branch", "main"))
    trigger = deploy_trigger or (answers or {}).get("deploy_trigger")
    if trigger is None:
        raise SetupError(
            f"{repo}: no .copier-answers.yml on {info.get('default_branch', 'main')} names deploy_trigger; "
            "push the rendered repo first or pass --deploy-trigger main|tag"
        )
    runners = client.request("GET", f"/repos/{repo}/actions/runners?per_page=1")
    answered = answers or {}
    self_hosted = (
        inventory_runner
        or bool(runners.get("total_count"))
        or answered.get("ci_runner") == "self-hosted"
        or bool(answered.get("llm_review"))
        or answered.get("deploy_via", "runner") == "runner"
    )
    return RepoFacts(repo, bool(info.get("private")), str(trigger), bool(answered.get("e2e")), self_hosted, reviewers)


def _fields(
    setting: str,
    current: dict[str, Any] | None,
    desired: dict[str, Any],
    apply: Callable[[], None],
    critical: Callable[[str], bool] = lambda _: False,
) -> list[Change]:
    changes = [
        Change(setting, name, (current or {}).get(name), value, critical(name))
        for name, value in desired.items()
        if (current or {}).get(name) != value
    ]
    if changes:
        changes[0].apply = apply
    return changes


def _write(client: Client, method: str, path: str, body: Any) -> Callable[[], None]:
    return lambda: client.request(method, path, body)


def _put(client: Client, path: str, body: Any) -> Callable[[], None]:
    return _write(client, "PUT", path, body)


def _normal_rules(rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {rule["type"]: rule.get("parameters") for rule in rules}


def _ruleset_changes(client: Client, repo: str, desired: Desired) -> list[Change]:
    existing = {
        r["name"]: r
        for r in client.paginate(f"/repos/{repo}/rulesets?includes_parents=false")
        if r.get("source_type", "Repository") == "Repository"
    }
    changes: list[Change] = []
    for body in desired.rulesets.values():
        name = body["name"]
        summary = existing.get(name)
        current = client.request("GET", f"/repos/{repo}/rulesets/{summary['id']}") if summary else None
        if current is None:
            apply = _write(client, "POST", f"/repos/{repo}/rulesets", body)
        else:
            apply = _write(client, "PUT", f"/repos/{repo}/rulesets/{current['id']}", body)
        setting = f"ruleset {name!r}"
        if current is None:
            changes.append(Change(setting, "ruleset", None, "create", apply=apply))
            continue
        now = {
            "target": current.get("target"),
            "enforcement": current.get("enforcement"),
            "bypass_actors": current.get("bypass_actors", []),
            "conditions": current.get("conditions"),
        }
        changes += _fields(setting, now, {k: body[k] for k in now}, apply)
        have, want = _normal_rules(current.get("rules", [])), _normal_rules(body["rules"])
        rule_changes = [
            Change(setting, f"rule {kind}", have.get(kind, "absent"), want.get(kind, "absent"))
            for kind in sorted(set(have) | set(want))
            if have.get(kind, "absent") != want.get(kind, "absent")
        ]
        if rule_changes and not any(c.setting == setting and c.apply for c in changes):
            rule_changes[0].apply = apply
        changes += rule_changes
    return changes


def _environment_changes(client: Client, repo: str, desired: Desired) -> list[Change]:
    base = f"/repos/{repo}/environments/{ENVIRONMENT}"
    env = _get(client, base, missing=404)
    setting = f"environment {ENVIRONMENT!r}"
    current_reviewers: list[dict[str, Any]] = []
    for rule in (env or {}).get("protection_rules", []):
        if rule.get("type") == "required_reviewers":
            current_reviewers = [r for r in rule.get("reviewers", []) if r.get("reviewer")]
    have_logins = sorted(r["reviewer"].get("login") or r["reviewer"].get("slug") for r in current_reviewers)

    def put_environment() -> None:
        if desired.reviewers is None:  # leave reviewers as they are: the PUT replaces the list
            reviewers = [{"type": r["type"], "id": r["reviewer"]["id"]} for r in current_reviewers]
        else:
            reviewers = [
                {"type": "User", "id": client.request("GET", f"/users/{login}")["id"]} for login in desired.reviewers
            ]
        client.request("PUT", base, {"deployment_branch_policy": desired.environment_policy, "reviewers": reviewers})

    changes: list[Change] = []
    if env is None:
        changes.append(Change(setting, "environment", None, "create", apply=put_environment))
    else:
        changes += _fields(setting, env.get("deployment_branch_policy"), desired.environment_policy, put_environment)
    if desired.reviewers is not None and have_logins != sorted(desired.reviewers):
        changes.append(
            Change(
                setting, "reviewers", have_logins, sorted(desired.reviewers), apply=None if changes else put_environment
            )
        )
    policies = (
        client.paginate(f"{base}/deployment-branch-policies", "branch_policies")
        if env and (env.get("deployment_branch_policy") or {}).get("custom_branch_policies")
        else []
    )
    have = {(p["name"], p.get("type", "branch")): p["id"] for p in policies}
    missing = sorted(desired.branch_policies - set(have))
    extra = sorted(set(have) - desired.branch_policies)
    if missing or extra:

        def fix_policies() -> None:
            for name, kind in missing:
                client.request("POST", f"{base}/deployment-branch-policies", {"name": name, "type": kind})
            for key in extra:
                client.request("DELETE", f"{base}/deployment-branch-policies/{have[key]}")

        changes.append(
            Change(
                setting,
                "deployment branch policies",
                [f"{k}:{n}" for n, k in sorted(have)],
                [f"{k}:{n}" for n, k in sorted(desired.branch_policies)],
                apply=fix_policies,
            )
        )
    return changes


def plan(client: Client, facts: RepoFacts, desired: Desired) -> list[Change]:
    """Every difference between GitHub's settings and `desired`; reads only (GET)."""
    repo = facts.full_name
    actions_path = f"/repos/{repo}/actions/permissions"
    try:
        changes = _environment_changes(client, repo, desired)
        changes += _ruleset_changes(client, repo, desired)
        actions = client.request("GET", actions_path)
        changes += _fields("actions permissions", actions, desired.actions, _put(client, actions_path, desired.actions))
        # GitHub answers 409 for selected-actions while allowed_actions is not "selected".
        selected = _get(client, f"{actions_path}/selected-actions", missing=409)
        if selected is not None:
            selected = {**selected, "patterns_allowed": selected.get("patterns_allowed", [])}
        changes += _fields(
            "selected actions",
            selected,
            desired.selected_actions,
            _put(client, f"{actions_path}/selected-actions", desired.selected_actions),
        )
        workflow = client.request("GET", f"{actions_path}/workflow")
        changes += _fields(
            "workflow token", workflow, desired.workflow, _put(client, f"{actions_path}/workflow", desired.workflow)
        )
        if desired.fork_approval is not None:
            approval = client.request("GET", f"{actions_path}/fork-pr-contributor-approval")
            changes += _fields(
                "fork pull request approval",
                approval,
                desired.fork_approval,
                _put(client, f"{actions_path}/fork-pr-contributor-approval", desired.fork_approval),
                critical=lambda _: facts.self_hosted,
            )
    except GitHubError as error:
        raise explain(error, repo) from None
    return changes


def apply(changes: list[Change], repo: str) -> None:
    """Run each setting's write once, in plan order (the selected-actions PUT needs allowed_actions first)."""
    try:
        for change in changes:
            if change.apply is not None:
                change.apply()
    except GitHubError as error:
        raise explain(error, repo) from None
