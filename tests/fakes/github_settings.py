"""Repository settings endpoints for the GitHub test server, as GitHub's REST description gives them.

``SettingsGitHub`` is ``FakeGitHub`` plus: Actions permissions (``actions/get-github-actions-permissions-
repository`` and its set), selected actions (409 while ``allowed_actions`` is not ``selected``), default
workflow permissions, the fork pull request approval policy (``actions/get|set-fork-pr-contributor-approval-
permissions-repository``; 422 on private repositories, which GitHub refuses), environments with deployment
branch/tag policies, repository rulesets, file contents and users.

Default state is a new repository's: Actions allow all actions, the workflow token may write, fork pull
requests wait only for first-time contributors, no environment, no ruleset. ``gh.settings_access[token]``
set to ``"read"`` answers 403 to writes of these endpoints and ``"none"`` to reads too, as GitHub answers a
fine-grained token without the Administration permission.
"""

from __future__ import annotations

import base64
import copy
from typing import Any

from tests.fakes.github_api import REPO, ApiError, FakeGitHub, Request, Response, validation_failed

ACTIONS_DOCS = "https://docs.github.com/rest/actions/permissions"
ENV_DOCS = "https://docs.github.com/rest/deployments/environments"
RULES_DOCS = "https://docs.github.com/rest/repos/rules"
APPROVAL_POLICIES = ("first_time_contributors_new_to_github", "first_time_contributors", "all_external_contributors")
PERMS = REPO + r"/actions/permissions"
ENV = REPO + r"/environments/(?P<env>[^/]+)"
MAX_ENV_REVIEWERS = 6  # "You can list up to six users or teams as reviewers"


class SettingsGitHub(FakeGitHub):
    ROUTES = FakeGitHub.ROUTES + [
        ("GET", REPO + r"/contents/(?P<file>.+)", "get_content"),
        ("GET", r"/users/(?P<login>[^/]+)", "get_user_by_login"),
        ("GET", PERMS, "get_actions_permissions"),
        ("PUT", PERMS, "set_actions_permissions"),
        ("GET", PERMS + r"/selected-actions", "get_selected_actions"),
        ("PUT", PERMS + r"/selected-actions", "set_selected_actions"),
        ("GET", PERMS + r"/workflow", "get_workflow_permissions"),
        ("PUT", PERMS + r"/workflow", "set_workflow_permissions"),
        ("GET", PERMS + r"/fork-pr-contributor-approval", "get_fork_approval"),
        ("PUT", PERMS + r"/fork-pr-contributor-approval", "set_fork_approval"),
        ("GET", ENV, "get_environment"),
        ("PUT", ENV, "put_environment"),
        ("GET", ENV + r"/deployment-branch-policies", "list_branch_policies"),
        ("POST", ENV + r"/deployment-branch-policies", "create_branch_policy"),
        ("DELETE", ENV + r"/deployment-branch-policies/(?P<id>\d+)", "delete_branch_policy"),
        ("GET", REPO + r"/rulesets", "list_rulesets"),
        ("POST", REPO + r"/rulesets", "create_ruleset"),
        ("GET", REPO + r"/rulesets/(?P<id>\d+)", "get_ruleset"),
        ("PUT", REPO + r"/rulesets/(?P<id>\d+)", "update_ruleset"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.settings: dict[str, dict[str, Any]] = {}  # "owner/repo" -> settings state
        self.files: dict[tuple[str, str], str] = {}  # ("owner/repo", path) -> text on the default branch
        self.users: dict[str, int] = {}
        self.settings_access: dict[str, str] = {}  # token -> "read" | "none"; absent: full admin access
        self.non_admins: set[str] = set()  # logins that are not admins of any repo

    # ---- arranging
    def state(self, full: str) -> dict[str, Any]:
        return self.settings.setdefault(
            full,
            {
                "actions": {"enabled": True, "allowed_actions": "all", "sha_pinning_required": False},
                "selected": {"github_owned_allowed": True, "verified_allowed": False, "patterns_allowed": []},
                "workflow": {"default_workflow_permissions": "write", "can_approve_pull_request_reviews": False},
                "approval": "first_time_contributors",
                "environments": {},
                "rulesets": {},
            },
        )

    def add_file(self, owner: str, repo: str, path: str, text: str) -> None:
        with self.lock:
            self.files[(f"{owner}/{repo}", path)] = text

    def add_user(self, login: str) -> int:
        with self.lock:
            self.users[login] = self.next_id()
            return self.users[login]

    # ---- helpers
    def _access(self, req: Request, write: bool) -> dict[str, Any]:
        token = req.headers.get("authorization", "").partition(" ")[2].strip()
        access = self.settings_access.get(token)
        if access == "none" or (write and access == "read"):
            raise ApiError(403, "Resource not accessible by personal access token", docs=ACTIONS_DOCS)
        return self.state(self._full(req))

    def _bool_fields(self, req: Request, names: tuple[str, ...]) -> dict[str, Any]:
        body = req.body if isinstance(req.body, dict) else {}
        for name in names:
            if name in body and not isinstance(body[name], bool):
                raise ApiError(422, f"Invalid request.\n\nFor '{name}', {body[name]!r} is not a boolean.")
        return body

    # ---- repository and files
    def get_repo(self, req: Request) -> Response:
        response = super().get_repo(req)
        admin = req.login not in self.non_admins
        response.body["permissions"] = {"admin": admin, "maintain": admin, "push": True, "triage": True, "pull": True}
        return response

    def get_content(self, req: Request) -> Response:
        full, path = self._full(req), req.params["file"]
        text = self.files.get((full, path))
        if text is None:
            raise ApiError(404, "Not Found", docs="https://docs.github.com/rest/repos/contents#get-repository-content")
        raw = text.encode()
        url = f"{self.url}/repos/{full}/contents/{path}"
        html = f"https://github.com/{full}/blob/main/{path}"
        git = f"{self.url}/repos/{full}/git/blobs/0"
        return Response(
            200,
            {
                "type": "file",
                "encoding": "base64",
                "size": len(raw),
                "name": path.rsplit("/", 1)[-1],
                "path": path,
                "content": base64.b64encode(raw).decode(),
                "sha": "0" * 40,
                "url": url,
                "git_url": git,
                "html_url": html,
                "download_url": None,
                "_links": {"git": git, "html": html, "self": url},
            },
        )

    def get_user_by_login(self, req: Request) -> Response:
        login = req.params["login"]
        if login not in self.users:
            raise ApiError(404, "Not Found", docs="https://docs.github.com/rest/users/users")
        public = {
            "name": None,
            "company": None,
            "blog": "",
            "location": None,
            "email": None,
            "hireable": None,
            "bio": None,
            "public_repos": 1,
            "public_gists": 0,
            "followers": 0,
            "following": 0,
            "created_at": "2020-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
        }
        return Response(200, {**self._simple_user(login), **public})

    def _simple_user(self, login: str) -> dict[str, Any]:
        base = f"{self.url}/users/{login}"
        return {
            "login": login,
            "id": self.users[login],
            "node_id": f"U_{self.users[login]}",
            "type": "User",
            "avatar_url": "https://avatars.githubusercontent.com/u/1",
            "gravatar_id": "",
            "url": base,
            "html_url": f"https://github.com/{login}",
            "followers_url": f"{base}/followers",
            "following_url": f"{base}/following{{/other_user}}",
            "gists_url": f"{base}/gists{{/gist_id}}",
            "starred_url": f"{base}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{base}/subscriptions",
            "organizations_url": f"{base}/orgs",
            "repos_url": f"{base}/repos",
            "events_url": f"{base}/events{{/privacy}}",
            "received_events_url": f"{base}/received_events",
            "site_admin": False,
        }

    # ---- Actions permissions
    def get_actions_permissions(self, req: Request) -> Response:
        actions = dict(self._access(req, False)["actions"])
        if actions["allowed_actions"] == "selected":
            actions["selected_actions_url"] = f"{self.url}/repos/{self._full(req)}/actions/permissions/selected-actions"
        return Response(200, actions)

    def set_actions_permissions(self, req: Request) -> Response:
        state = self._access(req, True)
        body = self._bool_fields(req, ("enabled", "sha_pinning_required"))
        if "enabled" not in body:
            raise validation_failed("Actions", "enabled", docs=ACTIONS_DOCS)
        allowed = body.get("allowed_actions", state["actions"]["allowed_actions"])
        if allowed not in ("all", "local_only", "selected"):
            raise ApiError(422, f"Invalid request.\n\n{allowed!r} is not a member of the enum allowed_actions.")
        state["actions"] = {
            "enabled": body["enabled"],
            "allowed_actions": allowed,
            "sha_pinning_required": body.get("sha_pinning_required", state["actions"]["sha_pinning_required"]),
        }
        return Response(204)

    def get_selected_actions(self, req: Request) -> Response:
        state = self._access(req, False)
        if state["actions"]["allowed_actions"] != "selected":
            raise ApiError(409, "Conflict: allowed_actions is not set to 'selected'", docs=ACTIONS_DOCS)
        return Response(200, dict(state["selected"]))

    def set_selected_actions(self, req: Request) -> Response:
        state = self._access(req, True)
        if state["actions"]["allowed_actions"] != "selected":
            raise ApiError(409, "Conflict: allowed_actions is not set to 'selected'", docs=ACTIONS_DOCS)
        body = self._bool_fields(req, ("github_owned_allowed", "verified_allowed"))
        state["selected"] = {**state["selected"], **{k: v for k, v in body.items() if k in state["selected"]}}
        return Response(204)

    def get_workflow_permissions(self, req: Request) -> Response:
        return Response(200, dict(self._access(req, False)["workflow"]))

    def set_workflow_permissions(self, req: Request) -> Response:
        state = self._access(req, True)
        body = self._bool_fields(req, ("can_approve_pull_request_reviews",))
        level = body.get("default_workflow_permissions", state["workflow"]["default_workflow_permissions"])
        if level not in ("read", "write"):
            raise ApiError(422, f"Invalid request.\n\n{level!r} is not a member of the enum.")
        state["workflow"] = {**state["workflow"], **body, "default_workflow_permissions": level}
        return Response(204)

    def _fork_approval_allowed(self, req: Request) -> None:
        if self.require_repo(req)["private"]:
            raise ApiError(422, "Fork PR approval is not allowed for private repositories.", docs=ACTIONS_DOCS)

    def get_fork_approval(self, req: Request) -> Response:
        state = self._access(req, False)
        self._fork_approval_allowed(req)
        return Response(200, {"approval_policy": state["approval"]})

    def set_fork_approval(self, req: Request) -> Response:
        state = self._access(req, True)
        self._fork_approval_allowed(req)
        policy = self.body_field(req, "approval_policy", "ForkPrContributorApproval", docs=ACTIONS_DOCS)
        if policy not in APPROVAL_POLICIES:
            raise ApiError(422, f"Invalid request.\n\n{policy!r} is not a member of the enum approval_policy.")
        state["approval"] = policy
        return Response(204)

    # ---- environments
    def _environment(self, req: Request) -> dict[str, Any]:
        env = self._access(req, False)["environments"].get(req.params["env"])
        if env is None:
            raise ApiError(404, "Not Found", docs=ENV_DOCS)
        return env

    def _environment_json(self, full: str, env: dict[str, Any]) -> dict[str, Any]:
        rules = []
        if env["reviewers"]:
            rules.append(
                {
                    "id": env["id"] + 1,
                    "node_id": f"GA_{env['id']}",
                    "type": "required_reviewers",
                    "prevent_self_review": False,
                    "reviewers": [{"type": "User", "reviewer": self._simple_user(login)} for login in env["reviewers"]],
                }
            )
        rules.append({"id": env["id"] + 2, "node_id": f"GB_{env['id']}", "type": "branch_policy"})
        return {
            "id": env["id"],
            "node_id": f"EN_{env['id']}",
            "name": env["name"],
            "url": f"{self.url}/repos/{full}/environments/{env['name']}",
            "html_url": f"https://github.com/{full}/deployments/activity_log?environments_filter={env['name']}",
            "created_at": env["created_at"],
            "updated_at": env["created_at"],
            "protection_rules": rules,
            "deployment_branch_policy": env["policy"],
        }

    def get_environment(self, req: Request) -> Response:
        return Response(200, self._environment_json(self._full(req), self._environment(req)))

    def put_environment(self, req: Request) -> Response:
        state = self._access(req, True)
        body = req.body if isinstance(req.body, dict) else {}
        reviewers = body.get("reviewers") or []
        if len(reviewers) > MAX_ENV_REVIEWERS:
            raise ApiError(
                422,
                "Validation Failed",
                errors=[
                    {
                        "resource": "Environment",
                        "field": "reviewers",
                        "code": "invalid",
                        "message": f"reviewers may list at most {MAX_ENV_REVIEWERS} users or teams",
                    }
                ],
                docs=ENV_DOCS,
            )
        by_id = {uid: login for login, uid in self.users.items()}
        unknown = [r for r in reviewers if r.get("type") != "User" or r.get("id") not in by_id]
        if unknown:
            raise ApiError(
                422,
                "Validation Failed",
                errors=[{"resource": "Environment", "field": "reviewers", "code": "invalid"}],
                docs=ENV_DOCS,
            )
        policy = body.get("deployment_branch_policy")
        if policy is not None and (policy.get("protected_branches") and policy.get("custom_branch_policies")):
            raise ApiError(
                422,
                "Validation Failed",
                errors=[{"resource": "Environment", "field": "deployment_branch_policy", "code": "invalid"}],
                docs=ENV_DOCS,
            )
        name = req.params["env"]
        env = state["environments"].get(name)
        if env is None:
            env = state["environments"][name] = {
                "id": self.next_id() * 10,
                "name": name,
                "created_at": "2026-01-01T00:00:00Z",
                "reviewers": [],
                "policy": None,
                "branch_policies": {},
            }
        env["reviewers"] = [by_id[r["id"]] for r in reviewers]
        env["policy"] = policy
        if not policy or not policy.get("custom_branch_policies"):
            env["branch_policies"] = {}
        return Response(200, self._environment_json(self._full(req), env))

    def list_branch_policies(self, req: Request) -> Response:
        env = self._environment(req)
        items = [{"id": pid, "node_id": f"DBP_{pid}", **p} for pid, p in env["branch_policies"].items()]
        return self.paginate(req, items, "branch_policies")

    def create_branch_policy(self, req: Request) -> Response:
        self._access(req, True)
        env = self._environment(req)
        if not (env["policy"] or {}).get("custom_branch_policies"):
            raise ApiError(404, "Not Found", docs=ENV_DOCS)
        name = self.body_field(req, "name", "DeploymentBranchPolicy", docs=ENV_DOCS)
        kind = (req.body or {}).get("type", "branch")
        if kind not in ("branch", "tag"):
            raise ApiError(422, f"Invalid request.\n\n{kind!r} is not a member of the enum type.")
        for pid, existing in env["branch_policies"].items():
            if existing == {"name": name, "type": kind}:
                return Response(303, None, {"Location": f"{self.url}{req.path}/{pid}"})
        pid = self.next_id()
        env["branch_policies"][pid] = {"name": name, "type": kind}
        return Response(200, {"id": pid, "node_id": f"DBP_{pid}", "name": name, "type": kind})

    def delete_branch_policy(self, req: Request) -> Response:
        self._access(req, True)
        env = self._environment(req)
        if env["branch_policies"].pop(int(req.params["id"]), None) is None:
            raise ApiError(404, "Not Found", docs=ENV_DOCS)
        return Response(204)

    # ---- rulesets
    def _ruleset_json(self, full: str, ruleset: dict[str, Any], *, summary: bool = False) -> dict[str, Any]:
        shown = {
            "id": ruleset["id"],
            "name": ruleset["name"],
            "target": ruleset["target"],
            "source_type": "Repository",
            "source": full,
            "enforcement": ruleset["enforcement"],
            "node_id": f"RRS_{ruleset['id']}",
            "_links": {
                "self": {"href": f"{self.url}/repos/{full}/rulesets/{ruleset['id']}"},
                "html": {"href": f"https://github.com/{full}/rules/{ruleset['id']}"},
            },
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
        }
        if not summary:  # the list shows no rules, conditions or bypass actors: GET the ruleset for those
            shown.update(
                {
                    "bypass_actors": copy.deepcopy(ruleset["bypass_actors"]),
                    "current_user_can_bypass": "never",
                    "conditions": copy.deepcopy(ruleset["conditions"]),
                    "rules": copy.deepcopy(ruleset["rules"]),
                }
            )
        return shown

    def _ruleset_body(self, req: Request, existing: dict[str, Any] | None) -> dict[str, Any]:
        body = req.body if isinstance(req.body, dict) else {}
        merged = {
            **(existing or {"target": "branch", "bypass_actors": [], "conditions": None, "rules": []}),
            **{
                k: v
                for k, v in body.items()
                if k in ("name", "target", "enforcement", "bypass_actors", "conditions", "rules")
            },
        }
        for name in ("name", "enforcement"):
            if not merged.get(name):
                raise validation_failed("Ruleset", name, docs=RULES_DOCS)
        if merged["enforcement"] not in ("disabled", "active", "evaluate"):
            raise ApiError(422, "Invalid request.\n\nenforcement is not a member of the enum.", docs=RULES_DOCS)
        for rule in merged["rules"]:
            if not isinstance(rule, dict) or "type" not in rule:
                raise ApiError(422, "Invalid request.\n\nrules need a type.", docs=RULES_DOCS)
        state = self.state(self._full(req))
        for other in state["rulesets"].values():
            if other["name"] == merged["name"] and other["id"] != (existing or {}).get("id"):
                raise ApiError(
                    422,
                    "Validation Failed",
                    errors=[
                        {
                            "resource": "Ruleset",
                            "field": "name",
                            "code": "already_exists",
                            "message": "Name must be unique",
                        }
                    ],
                    docs=RULES_DOCS,
                )
        return merged

    def list_rulesets(self, req: Request) -> Response:
        state = self._access(req, False)
        full = self._full(req)
        return self.paginate(req, [self._ruleset_json(full, r, summary=True) for r in state["rulesets"].values()])

    def create_ruleset(self, req: Request) -> Response:
        state = self._access(req, True)
        ruleset = self._ruleset_body(req, None)
        ruleset["id"] = self.next_id()
        state["rulesets"][ruleset["id"]] = ruleset
        return Response(201, self._ruleset_json(self._full(req), ruleset))

    def _ruleset(self, req: Request, write: bool) -> dict[str, Any]:
        ruleset = self._access(req, write)["rulesets"].get(int(req.params["id"]))
        if ruleset is None:
            raise ApiError(404, "Not Found", docs=RULES_DOCS)
        return ruleset

    def get_ruleset(self, req: Request) -> Response:
        return Response(200, self._ruleset_json(self._full(req), self._ruleset(req, False)))

    def update_ruleset(self, req: Request) -> Response:
        ruleset = self._ruleset(req, True)
        ruleset.update(self._ruleset_body(req, ruleset))
        return Response(200, self._ruleset_json(self._full(req), ruleset))
