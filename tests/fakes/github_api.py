"""A GitHub REST API test server that follows the published contracts.

Only what the project talks to is implemented, but what is implemented answers like api.github.com:
the same paths, status codes, JSON bodies and error shapes (``{"message": ..., "documentation_url": ...}``,
422 ``Validation Failed`` with an ``errors`` list, pagination with ``total_count`` and a ``Link`` header).

Usage in pytest::

    gh = FakeGitHub()
    gh.add_token("ghp_test")                 # a valid personal access token
    gh.add_repo("octo", "app")
    gh.start()                               # binds 127.0.0.1:<free port>, serves in a thread
    ... point the code under test at gh.url (e.g. GITHUB_API_URL) ...
    gh.stop()

or ``with FakeGitHub() as gh: ...``. All state lives in plain attributes (``gh.repos``, ``gh.runners``,
``gh.pulls``, ``gh.comments``, ``gh.requests`` ...) so tests can arrange and inspect it directly; take
``gh.lock`` when mutating state while the server runs. A handler that raises answers 500 and leaves its
traceback in ``gh.errors``.

Authentication: ``Authorization: Bearer <t>`` or ``Authorization: token <t>``. A missing header answers
401 "Requires authentication"; an unknown or expired token answers 401 "Bad credentials". Expire a
token with ``gh.expire_token(t)``. A repository or organization that is not registered answers 404.

Endpoints (``{scope}`` is ``repos/{owner}/{repo}`` or ``orgs/{org}``):

- ``GET /user``, ``GET /repos/{o}/{r}``
- ``POST /{scope}/actions/runners/registration-token`` and ``.../remove-token`` (201, one hour)
- ``GET /{scope}/actions/runners`` (``name``, ``per_page``, ``page``), ``GET|DELETE .../runners/{id}``
- ``GET|PUT|POST|DELETE .../runners/{id}/labels``, ``DELETE .../runners/{id}/labels/{name}``
- ``POST /{scope}/actions/runners/generate-jitconfig`` (201, 409 on a name clash, 422 on bad input)
- ``GET /{scope}/actions/runners/downloads``: assets registered with ``add_runner_download``; their
  ``download_url`` points back at this server, which serves the registered file.
- ``GET|POST /repos/{o}/{r}/pulls`` (``state``, ``head=owner:branch``, ``base``), ``GET|PATCH .../pulls/{n}``
  (``Accept: application/vnd.github.diff`` returns the pull request's diff; 406 past 300 files
  or 20,000 lines as GitHub does), ``GET .../pulls/{n}/files``, ``GET|POST .../pulls/{n}/reviews``
  (review comments must sit on lines of the diff when a diff is set, else 422), ``GET .../pulls/{n}/comments``
- ``GET|POST /repos/{o}/{r}/issues/{n}/comments``, ``GET|PATCH|DELETE /repos/{o}/{r}/issues/comments/{id}``;
  a comment's ``author_association`` is ``OWNER`` for the repository's owner, ``COLLABORATOR`` for a
  login added with ``add_collaborator``, else ``NONE`` (GitHub's "How the author is associated with
  the repository"; the fake does not model org membership or earlier contributions)

The diff of a pull request: with ``attach_git(owner, repo, git_dir)`` the fake computes it itself, as
GitHub does, from that repository (bare or not): ``head.sha`` and ``base.sha`` follow the branches at
every read, and the diff is the three-dot compare ``base...head`` (from their merge base), with
rename detection and no user or system git configuration. Branches of forks live in the same
repository (GitHub keeps them as ``refs/pull/{n}/head``). Without a repository, the diff is what a
test scripted with ``set_pull_diff``. ``pull_diffs`` keeps the last diff served for each pull request.

A real runner registers itself with a registration token through internal endpoints GitHub does not
publish. Runner stand-ins built by tests use these test-only endpoints instead (no Authorization header;
the registration or remove token travels in the JSON body, as the real runner sends it in its body):

- ``POST /_fake/runner/register`` ``{"token", "url", "name", "labels", "os", "architecture", "replace",
  "ephemeral"}`` -> 201 ``{"id", "name"}``; 404 for an unknown/expired token, 409 when the name is
  taken and ``replace`` is false.
- ``POST /_fake/runner/remove`` ``{"token", "id"}`` -> 204
- ``POST /_fake/runner/status`` ``{"id", "status": "online"|"offline", "busy": bool}`` -> 200

Extension point: routes live in the class attribute ``ROUTES``, a list of ``(METHOD, regex, handler
name)``. A subclass adds endpoints by extending it (``REPO`` and ``RUNNERS`` are the path prefixes with
named groups ``owner``/``repo`` and ``scope``)::

    class MyGitHub(FakeGitHub):
        ROUTES = FakeGitHub.ROUTES + [("GET", REPO + r"/branches", "list_branches")]

        def list_branches(self, req: Request) -> Response:
            self.require_repo(req)          # 404 like GitHub when the repo is unknown
            return Response(200, [{"name": "main"}])

A handler takes a ``Request`` (method, path, params from the regex, query, headers, json body, login of
the authenticated user) and returns a ``Response`` (status, JSON-able body or ``bytes``/``str``, headers).
Raise ``ApiError(status, message, errors=...)`` to answer an error in GitHub's shape. Handlers run under
``self.lock``. Routes whose handler name starts with ``public_`` skip authentication.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import json
import os
import re
import secrets
import subprocess
import threading
import traceback
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

try:  # this module is imported both from tests/fakes on sys.path and as tests.fakes.github_api
    from github_contract import ContractChecker
    from github_failures import DRAFT_REFUSED, FailureInjector, body_too_long
    from github_objects import complete, response_schema
except ModuleNotFoundError:
    from tests.fakes.github_contract import ContractChecker
    from tests.fakes.github_failures import DRAFT_REFUSED, FailureInjector, body_too_long
    from tests.fakes.github_objects import complete, response_schema

DOCS = "https://docs.github.com/rest"
RUNNER_DOCS = "https://docs.github.com/rest/actions/self-hosted-runners"
PULLS_DOCS = "https://docs.github.com/rest/pulls/pulls"
DIFF_MAX_FILES = 300
DIFF_MAX_LINES = 20_000

OS_LABELS = {"linux": "Linux", "osx": "macOS", "macos": "macOS", "win": "Windows", "windows": "Windows"}
ARCH_LABELS = {"x64": "X64", "arm64": "ARM64", "arm": "ARM"}


class ApiError(Exception):
    def __init__(self, status: int, message: str, *, errors: list | None = None, docs: str = DOCS):
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"message": message, "documentation_url": docs}
        if errors is not None:
            self.body["errors"] = errors
        self.body["status"] = str(status)


def validation_failed(resource: str, field_name: str, code: str = "missing_field", docs: str = DOCS) -> ApiError:
    return ApiError(
        422,
        "Validation Failed",
        errors=[{"resource": resource, "field": field_name, "code": code}],
        docs=docs,
    )


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, str]
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    login: str | None = None

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default


@dataclass
class Response:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def parse_diff(diff: str) -> dict[str, dict[str, Any]]:
    """Map each file of a unified git diff to its patch and the lines a review comment may sit on."""
    files: dict[str, dict[str, Any]] = {}
    current: dict[str, Any] | None = None
    right = left = 0
    for line in diff.splitlines():
        if line.startswith("diff --git "):
            name = line.split(" b/", 1)[-1]
            current = {
                "filename": name,
                "patch": [],
                "additions": 0,
                "deletions": 0,
                "RIGHT": set(),
                "LEFT": set(),
                "status": "modified",
            }
            files[name] = current
            continue
        if current is None:
            continue
        if line.startswith("new file mode"):
            current["status"] = "added"
        elif line.startswith("deleted file mode"):
            current["status"] = "removed"
        elif line.startswith("rename from ") and not current["patch"]:
            current["status"] = "renamed"
            current["previous_filename"] = line[len("rename from ") :]
        elif line.startswith("@@"):
            match = re.match(r"@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@", line)
            if match:
                left, right = int(match.group(1)), int(match.group(2))
            current["patch"].append(line)
        elif current["patch"] and line[:1] in ("+", "-", " ", "\\", ""):
            current["patch"].append(line)
            if line.startswith("\\"):
                continue
            if line.startswith("+"):
                current["RIGHT"].add(right)
                current["additions"] += 1
                right += 1
            elif line.startswith("-"):
                current["LEFT"].add(left)
                current["deletions"] += 1
                left += 1
            else:
                current["RIGHT"].add(right)
                current["LEFT"].add(left)
                right += 1
                left += 1
    return files


RUNNERS = r"/(?P<scope>repos/[^/]+/[^/]+|orgs/[^/]+)/actions/runners"
REPO = r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)"


class FakeGitHub:
    ROUTES: list[tuple[str, str, str]] = [
        ("GET", r"/user", "get_user"),
        ("GET", REPO, "get_repo"),
        # self-hosted runners, repository and organization scope
        ("POST", RUNNERS + r"/registration-token", "create_registration_token"),
        ("POST", RUNNERS + r"/remove-token", "create_remove_token"),
        ("POST", RUNNERS + r"/generate-jitconfig", "generate_jitconfig"),
        ("GET", RUNNERS + r"/downloads", "list_runner_downloads"),
        ("GET", r"/orgs/(?P<org>[^/]+)/actions/runner-groups", "list_runner_groups"),
        ("GET", RUNNERS, "list_runners"),
        ("GET", RUNNERS + r"/(?P<id>\d+)", "get_runner"),
        ("DELETE", RUNNERS + r"/(?P<id>\d+)", "delete_runner"),
        ("GET", RUNNERS + r"/(?P<id>\d+)/labels", "get_labels"),
        ("PUT", RUNNERS + r"/(?P<id>\d+)/labels", "set_labels"),
        ("POST", RUNNERS + r"/(?P<id>\d+)/labels", "add_labels"),
        ("DELETE", RUNNERS + r"/(?P<id>\d+)/labels", "remove_all_labels"),
        ("DELETE", RUNNERS + r"/(?P<id>\d+)/labels/(?P<name>[^/]+)", "remove_label"),
        # pull requests, reviews and issue comments
        ("GET", REPO + r"/pulls", "list_pulls"),
        ("POST", REPO + r"/pulls", "create_pull"),
        ("GET", REPO + r"/pulls/(?P<number>\d+)", "get_pull"),
        ("PATCH", REPO + r"/pulls/(?P<number>\d+)", "update_pull"),
        ("GET", REPO + r"/pulls/(?P<number>\d+)/files", "list_pull_files"),
        ("GET", REPO + r"/pulls/(?P<number>\d+)/reviews", "list_reviews"),
        ("POST", REPO + r"/pulls/(?P<number>\d+)/reviews", "create_review"),
        ("GET", REPO + r"/pulls/(?P<number>\d+)/comments", "list_review_comments"),
        ("POST", REPO + r"/issues/(?P<number>\d+)/labels", "add_issue_labels"),
        ("GET", REPO + r"/issues/(?P<number>\d+)/comments", "list_issue_comments"),
        ("POST", REPO + r"/issues/(?P<number>\d+)/comments", "create_issue_comment"),
        ("GET", REPO + r"/issues/comments/(?P<id>\d+)", "get_issue_comment"),
        ("PATCH", REPO + r"/issues/comments/(?P<id>\d+)", "update_issue_comment"),
        ("DELETE", REPO + r"/issues/comments/(?P<id>\d+)", "delete_issue_comment"),
        # test-only: what a runner does with its registration token, and the files behind download_url
        ("POST", r"/_fake/runner/register", "public_runner_register"),
        ("POST", r"/_fake/runner/remove", "public_runner_remove"),
        ("POST", r"/_fake/runner/status", "public_runner_status"),
        ("GET", r"/_downloads/(?P<filename>[^/]+)", "public_download"),
    ]

    def __init__(self, *, check_contract: bool = True, strict_answers: bool = True) -> None:
        # Every request and every answer is checked against GitHub's vendored description; stop()
        # raises on a violation. Answers get the fields the fake does not model from the schema
        # (github_objects.py), so what is checked strictly is what the fake does model. Turn the
        # check off only for a test about a request GitHub itself would refuse.
        self.check_contract = check_contract
        self.strict_answers = strict_answers
        self.contract: ContractChecker | None = None
        self.lock = threading.RLock()
        self.tokens: dict[str, dict[str, Any]] = {}  # PAT -> {"login", "expires_at"}
        self.repos: dict[str, dict[str, Any]] = {}  # "owner/repo" -> repo JSON
        self.orgs: set[str] = set()
        # scope ("repos/o/r" or "orgs/o") -> {runner id -> runner JSON}
        self.runners: dict[str, dict[int, dict[str, Any]]] = {}
        # registration / remove tokens -> {"kind", "scope", "expires_at"}
        self.runner_tokens: dict[str, dict[str, Any]] = {}
        self.downloads: list[dict[str, Any]] = []
        self.runner_groups: dict[str, list[dict[str, Any]]] = {}  # org -> runner groups (Default is id 1)
        self.download_files: dict[str, Path] = {}
        self.pulls: dict[str, dict[int, dict[str, Any]]] = {}  # "owner/repo" -> number -> PR JSON
        self.pull_diffs: dict[tuple[str, int], str] = {}
        self.git_dirs: dict[str, Path] = {}  # "owner/repo" -> the repository its pull requests diff
        self.reviews: dict[tuple[str, int], list[dict[str, Any]]] = {}
        self.review_comments: dict[tuple[str, int], list[dict[str, Any]]] = {}
        self.comments: dict[int, dict[str, Any]] = {}  # issue comment id -> comment JSON (+ "_repo")
        self.requests: list[dict[str, Any]] = []  # method, path, query, body; never the Authorization header
        self.errors: list[str] = []  # tracebacks of handlers that raised (answered 500)
        self.failures = FailureInjector()  # rate limits and 5xx on demand (see github_failures.py)
        self._ids = 1000
        self._issue_numbers: dict[str, int] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""
        self._compiled = [(method, re.compile(pattern + r"/?"), name) for method, pattern, name in self.ROUTES]

    # ---- lifecycle
    def start(self) -> str:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def _serve(self) -> None:
                fake._handle(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.contract = ContractChecker(self.url, self.strict_answers) if self.check_contract else None
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-github", daemon=True
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self.contract is not None and self.contract.violations:
            found, self.contract.violations = self.contract.violations, []
            raise AssertionError("GitHub's REST description does not allow:\n" + "\n".join(found))

    def __enter__(self) -> FakeGitHub:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # ---- arranging state
    def next_id(self) -> int:
        with self.lock:
            self._ids += 1
            return self._ids

    def add_token(self, token: str, login: str = "octocat", expires_at: dt.datetime | None = None) -> None:
        with self.lock:
            self.tokens[token] = {"login": login, "expires_at": expires_at}

    def expire_token(self, token: str) -> None:
        with self.lock:
            if token in self.tokens:
                self.tokens[token]["expires_at"] = _now() - dt.timedelta(seconds=1)
            if token in self.runner_tokens:
                self.runner_tokens[token]["expires_at"] = _now() - dt.timedelta(seconds=1)

    def add_repo(
        self,
        owner: str,
        name: str,
        *,
        private: bool = True,
        default_branch: str = "main",
        branches: list[str] | None = None,
        plan: str = "pro",
    ) -> dict[str, Any]:
        """`plan="free"` with `private=True`: GitHub refuses draft pull requests there (422)."""
        full = f"{owner}/{name}"
        repo = {
            "id": self.next_id(),
            "name": name,
            "full_name": full,
            "private": private,
            "owner": {"login": owner, "type": "User"},
            "default_branch": default_branch,
            "html_url": f"https://github.com/{full}",
            "url": f"{self.url}/repos/{full}",
            "branches": set(branches or []),
            "_plan": plan,
        }
        with self.lock:
            self.repos[full] = repo
            self.runners.setdefault(f"repos/{full}", {})
            self.pulls.setdefault(full, {})
        return repo

    def add_collaborator(self, owner: str, name: str, login: str) -> None:
        with self.lock:
            self.repos[f"{owner}/{name}"].setdefault("_collaborators", set()).add(login)

    def association(self, full: str, login: str) -> str:
        """author_association of `login` on repository `full`."""
        repo = self.repos.get(full) or {}
        if login == (repo.get("owner") or {}).get("login"):
            return "OWNER"
        return "COLLABORATOR" if login in repo.get("_collaborators", set()) else "NONE"

    def add_org(self, org: str) -> None:
        with self.lock:
            self.orgs.add(org)
            self.runners.setdefault(f"orgs/{org}", {})
            self.runner_groups.setdefault(org, [{"id": 1, "name": "Default", "visibility": "all", "default": True}])

    def add_runner_group(self, org: str, name: str) -> dict[str, Any]:
        """A runner group of an organization (``GET /orgs/{org}/actions/runner-groups`` lists it)."""
        group = {"id": self.next_id(), "name": name, "visibility": "selected", "default": False}
        with self.lock:
            self.runner_groups.setdefault(org, []).append(group)
        return group

    def add_runner(
        self,
        scope: str,
        name: str,
        *,
        labels: list[str] = (),
        os: str = "linux",
        architecture: str = "x64",
        status: str = "offline",
        busy: bool = False,
        ephemeral: bool = False,
    ) -> dict[str, Any]:
        """Put a runner on GitHub's side directly (``scope`` is ``repos/o/r`` or ``orgs/o``)."""
        runner_id = self.next_id()
        runner = {
            "id": runner_id,
            "name": name,
            "os": OS_LABELS.get(os, os),
            "status": status,
            "busy": busy,
            "ephemeral": ephemeral,
            "runner_group_id": 1,
            "labels": self._make_labels(os, architecture, list(labels)),
        }
        with self.lock:
            self.runners.setdefault(scope, {})[runner_id] = runner
        return runner

    def find_runner(self, scope: str, name: str) -> dict[str, Any] | None:
        with self.lock:
            return next((r for r in self.runners.get(scope, {}).values() if r["name"] == name), None)

    def add_runner_download(
        self,
        os: str,
        architecture: str,
        path: Path,
        *,
        version: str = "2.330.0",
        sha256_checksum: str | None = None,
        omit_checksum: bool = False,
        temp_download_token: str | None = None,
    ) -> dict[str, Any]:
        """Publish a runner package; ``sha256_checksum`` overrides the real one (simulates tampering).

        GitHub's description lists ``temp_download_token`` and ``sha256_checksum`` as optional fields of
        each download: ``omit_checksum`` leaves the checksum out, ``temp_download_token`` adds a token
        the download must then present as a bearer token.
        """
        path = Path(path)
        ext = "zip" if os == "win" else "tar.gz"
        filename = f"actions-runner-{os}-{architecture}-{version}.{ext}"
        digest = sha256_checksum or hashlib.sha256(path.read_bytes()).hexdigest()
        asset = {
            "os": os,
            "architecture": architecture,
            "filename": filename,
            "download_url": f"{self.url}/_downloads/{quote(filename)}",
            "sha256_checksum": digest,
        }
        if omit_checksum:
            del asset["sha256_checksum"]
        if temp_download_token:
            asset["temp_download_token"] = temp_download_token
        with self.lock:
            self.downloads = [d for d in self.downloads if d["filename"] != filename] + [asset]
            self.download_files[filename] = path
        return asset

    def add_pull(
        self,
        owner: str,
        repo: str,
        *,
        head: str,
        base: str = "main",
        title: str = "A change",
        body: str | None = None,
        draft: bool = False,
        state: str = "open",
    ) -> dict[str, Any]:
        with self.lock:
            pr = self._new_pull(f"{owner}/{repo}", head, base, title, body, draft)
            pr["state"] = state
            return pr

    def set_pull_diff(self, owner: str, repo: str, number: int, diff: str) -> None:
        """Script the diff of a pull request on a repository with no `attach_git`."""
        with self.lock:
            if f"{owner}/{repo}" in self.git_dirs:
                raise ValueError(f"{owner}/{repo} has a git repository: its diffs come from there")
            self.pull_diffs[(f"{owner}/{repo}", number)] = diff

    def attach_git(self, owner: str, repo: str, git_dir: Path | str) -> None:
        """Diff the pull requests of owner/repo from this git repository, as GitHub does."""
        with self.lock:
            self.git_dirs[f"{owner}/{repo}"] = Path(git_dir)

    def _git(self, full: str, *args: str) -> str:
        env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "LC_ALL": "C"}
        done = subprocess.run(
            ["git", "-C", str(self.git_dirs[full]), *args], capture_output=True, text=True, env=env, check=False
        )
        if done.returncode != 0:
            raise ApiError(422, "Validation Failed", errors=[{"resource": "PullRequest", "code": "invalid",
                                                             "message": done.stderr.strip()[:200]}])  # fmt: skip
        return done.stdout

    def _ref_sha(self, full: str, ref: str) -> str | None:
        try:
            return self._git(full, "rev-parse", "--verify", "--quiet", f"refs/heads/{ref}^{{commit}}").strip()
        except ApiError:
            return None

    def _follow_refs(self, full: str, pr: dict[str, Any]) -> None:
        """A push moves the pull request along, as on GitHub: head.sha and base.sha are the branches'."""
        if full in self.git_dirs:
            for side in ("base", "head"):
                sha = self._ref_sha(full, pr[side]["ref"])
                if sha:
                    pr[side]["sha"] = sha

    def _pull_diff(self, full: str, pr: dict[str, Any]) -> str | None:
        """The diff GitHub shows for the pull request (None: neither a repository nor a script)."""
        if full not in self.git_dirs:
            return self.pull_diffs.get((full, pr["number"]))
        self._follow_refs(full, pr)
        base = self._git(full, "merge-base", pr["base"]["sha"], pr["head"]["sha"]).strip()
        diff = self._git(
            full, "-c", "core.quotepath=false", "diff", "--no-color", "--no-ext-diff", "--no-textconv",
            "--find-renames", "--full-index", base, pr["head"]["sha"],
        )  # fmt: skip
        self.pull_diffs[(full, pr["number"])] = diff
        return diff

    # ---- HTTP plumbing
    def _handle(self, http: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(http.path)
        length = int(http.headers.get("Content-Length") or 0)
        raw = http.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in http.headers.items()}
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
            response = Response(400, {"message": "Problems parsing JSON", "documentation_url": DOCS})
            self._send(http, response)
            return
        req = Request(http.command, parts.path, {}, parse_qs(parts.query), headers, body)
        http.contract_request = (req.method, req.path, req.query, headers, raw)  # type: ignore[attr-defined]
        with self.lock:
            self.requests.append(
                {
                    "method": req.method,
                    "path": req.path,
                    "query": req.query,
                    "body": body,
                    "accept": headers.get("accept", ""),
                }
            )
            try:
                response = self._dispatch(req)
            except ApiError as error:
                response = Response(error.status, error.body)
            except Exception:  # a bug in a handler: answer like GitHub's 500s, keep the trace for the test
                self.errors.append(traceback.format_exc())
                response = Response(500, {"message": "Server Error", "documentation_url": DOCS})
        self._send(http, response)

    def _dispatch(self, req: Request) -> Response:
        if not req.path.startswith("/_") and (failure := self.failures.answer(req.method, req.path)):
            status, body, headers = failure
            return Response(status, body, headers)
        path_matched = False
        for method, pattern, name in self._compiled:
            match = pattern.fullmatch(req.path)
            if not match:
                continue
            path_matched = True
            if method != req.method:
                continue
            req.params = match.groupdict()
            if not name.startswith("public_"):
                req.login = self.authenticate(req)
                if "scope" in req.params:
                    self.require_scope(req.params["scope"])
                elif "owner" in req.params:
                    self.require_repo(req)
            return getattr(self, name)(req)
        if path_matched:
            raise ApiError(404, "Not Found")
        raise ApiError(404, "Not Found")

    def _send(self, http: BaseHTTPRequestHandler, response: Response) -> None:
        asked = getattr(http, "contract_request", None)
        modelled = isinstance(response.body, (dict, list)) and response.status < 300
        if asked is not None and modelled and not asked[1].startswith("/_"):
            schema = response_schema(asked[0], asked[1], response.status)
            response.body = complete(response.body, schema, self.url)
        if isinstance(response.body, bytes):
            payload, ctype = response.body, "application/octet-stream"
        elif isinstance(response.body, str):
            payload, ctype = response.body.encode(), "text/plain; charset=utf-8"
        elif response.body is None:
            payload, ctype = b"", "application/json; charset=utf-8"
        else:
            payload, ctype = json.dumps(response.body).encode(), "application/json; charset=utf-8"
        http.send_response(response.status)
        ctype = response.headers.pop("Content-Type", ctype)
        http.send_header("Content-Type", ctype)
        http.send_header("Content-Length", str(len(payload)))
        http.send_header("X-GitHub-Media-Type", "github.v3; format=json")
        given = {key.lower() for key in response.headers}
        for key, value in (("X-RateLimit-Limit", "5000"), ("X-RateLimit-Remaining", "4999")):
            if key.lower() not in given:
                http.send_header(key, value)
        for key, value in response.headers.items():
            http.send_header(key, value)
        http.end_headers()
        if http.command != "HEAD":
            http.wfile.write(payload)
        if self.contract is not None and asked is not None and not asked[1].startswith("/_"):
            sent = {"Content-Type": ctype, **response.headers}
            with self.lock:
                self.contract.check(*asked, response.status, payload, sent)

    # ---- helpers for handlers
    def authenticate(self, req: Request) -> str:
        header = req.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if not header:
            raise ApiError(401, "Requires authentication")
        info = self.tokens.get(token.strip()) if scheme.lower() in ("bearer", "token") else None
        if info is None or (info["expires_at"] is not None and info["expires_at"] <= _now()):
            raise ApiError(401, "Bad credentials")
        return info["login"]

    def require_repo(self, req: Request) -> dict[str, Any]:
        full = f"{req.params['owner']}/{req.params['repo']}"
        repo = self.repos.get(full)
        if repo is None:
            raise ApiError(404, "Not Found")
        return repo

    def require_scope(self, scope: str) -> None:
        kind, _, name = scope.partition("/")
        if (kind == "repos" and name not in self.repos) or (kind == "orgs" and name not in self.orgs):
            raise ApiError(404, "Not Found")

    def paginate(self, req: Request, items: list[Any], key: str | None = None) -> Response:
        try:
            per_page = max(1, min(100, int(req.arg("per_page", "30"))))
            page = max(1, int(req.arg("page", "1")))
        except ValueError as error:
            raise ApiError(400, "Invalid pagination parameters") from error
        chunk = items[(page - 1) * per_page : page * per_page]
        last = max(1, -(-len(items) // per_page))
        links = []
        base = f"{self.url}{req.path}?per_page={per_page}"
        for other in req.query:
            if other not in ("per_page", "page"):
                base += f"&{other}={quote(req.query[other][0])}"
        if page < last:
            links.append(f'<{base}&page={page + 1}>; rel="next"')
            links.append(f'<{base}&page={last}>; rel="last"')
        if page > 1:
            links.append(f'<{base}&page=1>; rel="first"')
            links.append(f'<{base}&page={page - 1}>; rel="prev"')
        headers = {"Link": ", ".join(links)} if links else {}
        body = {"total_count": len(items), key: chunk} if key else chunk
        return Response(200, body, headers)

    def body_field(
        self,
        req: Request,
        name: str,
        resource: str,
        kind: type | tuple = str,
        *,
        required: bool = True,
        docs: str = DOCS,
    ) -> Any:
        body = req.body if isinstance(req.body, dict) else {}
        if name not in body or body[name] is None:
            if required:
                raise validation_failed(resource, name, "missing_field", docs)
            return None
        if not isinstance(body[name], kind):
            raise ApiError(422, f"Invalid request.\n\nFor '{name}', {body[name]!r} is not a {kind}.", docs=docs)
        return body[name]

    # ---- users and repositories
    def get_user(self, req: Request) -> Response:
        return Response(200, {"login": req.login, "id": 1, "type": "User"})

    def get_repo(self, req: Request) -> Response:
        repo = self.require_repo(req)
        shown = {k: v for k, v in repo.items() if k != "branches" and not k.startswith("_")}
        shown["url"] = f"{self.url}/repos/{repo['full_name']}"
        return Response(200, shown)

    # ---- runners
    @staticmethod
    def _make_labels(os: str, architecture: str, custom: list[str]) -> list[dict[str, Any]]:
        fixed = ["self-hosted", OS_LABELS.get(os, os), ARCH_LABELS.get(architecture, architecture)]
        labels = [{"id": index + 1, "name": name, "type": "read-only"} for index, name in enumerate(fixed)]
        seen = {name.lower() for name in fixed}
        for name in custom:
            if name.lower() not in seen:
                seen.add(name.lower())
                labels.append({"id": 100 + len(labels), "name": name, "type": "custom"})
        return labels

    def _runner(self, req: Request) -> dict[str, Any]:
        runner = self.runners.get(req.params["scope"], {}).get(int(req.params["id"]))
        if runner is None:
            raise ApiError(404, "Not Found", docs=RUNNER_DOCS)
        return runner

    def _runner_token(self, req: Request, kind: str) -> Response:
        token = ("A" if kind == "registration" else "R") + secrets.token_hex(14).upper()
        expires = _now() + dt.timedelta(hours=1)
        self.runner_tokens[token] = {"kind": kind, "scope": req.params["scope"], "expires_at": expires}
        return Response(201, {"token": token, "expires_at": _iso(expires)})

    def create_registration_token(self, req: Request) -> Response:
        return self._runner_token(req, "registration")

    def create_remove_token(self, req: Request) -> Response:
        return self._runner_token(req, "remove")

    def list_runners(self, req: Request) -> Response:
        runners = list(self.runners.get(req.params["scope"], {}).values())
        name = req.arg("name")
        if name is not None:
            runners = [r for r in runners if r["name"] == name]
        return self.paginate(req, copy.deepcopy(runners), "runners")

    def get_runner(self, req: Request) -> Response:
        return Response(200, copy.deepcopy(self._runner(req)))

    def delete_runner(self, req: Request) -> Response:
        runner = self._runner(req)
        if runner["busy"]:
            raise ApiError(422, f"Bad request - Runner {runner['name']} is still running a job", docs=RUNNER_DOCS)
        del self.runners[req.params["scope"]][runner["id"]]
        return Response(204)

    def _labels_response(self, runner: dict[str, Any]) -> Response:
        return Response(200, {"total_count": len(runner["labels"]), "labels": copy.deepcopy(runner["labels"])})

    def _label_names(self, req: Request, allow_empty: bool) -> list[str]:
        labels = self.body_field(req, "labels", "Runner", list, docs=RUNNER_DOCS)
        if (not labels and not allow_empty) or len(labels) > 100 or not all(isinstance(x, str) for x in labels):
            raise ApiError(422, "Validation failed, or the endpoint has been spammed.", docs=RUNNER_DOCS)
        return labels

    def get_labels(self, req: Request) -> Response:
        return self._labels_response(self._runner(req))

    def set_labels(self, req: Request) -> Response:
        runner = self._runner(req)
        names = self._label_names(req, allow_empty=True)
        runner["labels"] = [label for label in runner["labels"] if label["type"] == "read-only"]
        self._append_custom(runner, names)
        return self._labels_response(runner)

    def add_labels(self, req: Request) -> Response:
        runner = self._runner(req)
        self._append_custom(runner, self._label_names(req, allow_empty=False))
        return self._labels_response(runner)

    @staticmethod
    def _append_custom(runner: dict[str, Any], names: list[str]) -> None:
        present = {label["name"].lower() for label in runner["labels"]}
        for name in names:
            if name.lower() not in present:
                present.add(name.lower())
                runner["labels"].append({"id": 100 + len(runner["labels"]), "name": name, "type": "custom"})

    def remove_all_labels(self, req: Request) -> Response:
        runner = self._runner(req)
        runner["labels"] = [label for label in runner["labels"] if label["type"] == "read-only"]
        return self._labels_response(runner)

    def remove_label(self, req: Request) -> Response:
        runner = self._runner(req)
        name = req.params["name"]
        label = next((x for x in runner["labels"] if x["name"].lower() == name.lower()), None)
        if label is None:
            raise ApiError(404, "Not Found", docs=RUNNER_DOCS)
        if label["type"] == "read-only":
            raise ApiError(422, "Validation failed, or the endpoint has been spammed.", docs=RUNNER_DOCS)
        runner["labels"].remove(label)
        return self._labels_response(runner)

    def _runner_group_ids(self, scope: str) -> set[int]:
        if scope.startswith("orgs/"):
            return {group["id"] for group in self.runner_groups.get(scope.split("/", 1)[1], [])}
        return {1}  # a repository's self-hosted runners sit in its one default group

    def generate_jitconfig(self, req: Request) -> Response:
        scope = req.params["scope"]
        name = self.body_field(req, "name", "Runner", str, docs=RUNNER_DOCS)
        group = self.body_field(req, "runner_group_id", "Runner", int, docs=RUNNER_DOCS)
        labels = self._label_names(req, allow_empty=False)
        work = self.body_field(req, "work_folder", "Runner", str, required=False) or "_work"
        if group not in self._runner_group_ids(scope):
            raise ApiError(404, "Not Found", docs=RUNNER_DOCS)
        if self.find_runner(scope, name) is not None:
            raise ApiError(409, f"Already exists - A runner with the name {name} already exists.", docs=RUNNER_DOCS)
        runner = self.add_runner(scope, name, labels=labels, ephemeral=True)
        runner["runner_group_id"] = group
        # The runner decodes this as base64 of a JSON map {file name: base64 of the file's bytes} and
        # writes each file into its root (actions/runner src/Runner.Listener/Runner.cs).
        files = {
            ".runner": {
                "agentId": runner["id"],
                "agentName": name,
                "poolId": group,
                "serverUrl": "https://pipelines.actions.githubusercontent.com/" + secrets.token_hex(8),
                "gitHubUrl": "https://github.com/" + scope.split("/", 1)[1],
                "workFolder": work,
                "ephemeral": True,
            },
            ".credentials": {"scheme": "OAuth", "data": {"clientId": str(runner["id"]), "authorizationUrl": ""}},
            ".credentials_rsaparams": {"d": secrets.token_hex(16), "modulus": secrets.token_hex(16)},
        }
        encoded = base64.b64encode(
            json.dumps(
                {key: base64.b64encode(json.dumps(value).encode()).decode() for key, value in files.items()}
            ).encode()
        ).decode()
        with self.lock:
            self.runners[scope][runner["id"]] = runner
        return Response(201, {"runner": copy.deepcopy(runner), "encoded_jit_config": encoded})

    def list_runner_groups(self, req: Request) -> Response:
        org = req.params["org"]
        if org not in self.orgs:
            raise ApiError(404, "Not Found")
        groups = self.runner_groups.get(org, [])
        return self.paginate(req, copy.deepcopy(groups), "runner_groups")

    def list_runner_downloads(self, req: Request) -> Response:
        return Response(200, copy.deepcopy(self.downloads))

    def public_download(self, req: Request) -> Response:
        path = self.download_files.get(req.params["filename"])
        if path is None:
            raise ApiError(404, "Not Found")
        asset = next(d for d in self.downloads if d["filename"] == req.params["filename"])
        wanted = asset.get("temp_download_token")
        if wanted and req.headers.get("authorization") != f"Bearer {wanted}":
            raise ApiError(401, "Bad credentials")
        return Response(200, path.read_bytes())

    # ---- test-only runner protocol
    def _use_runner_token(self, req: Request, kind: str) -> dict[str, Any]:
        token = (req.body or {}).get("token", "")
        info = self.runner_tokens.get(token)
        if info is None or info["kind"] != kind or info["expires_at"] <= _now():
            raise ApiError(404, "Not Found")
        return info

    def public_runner_register(self, req: Request) -> Response:
        info = self._use_runner_token(req, "registration")
        body = req.body
        scope = info["scope"]
        expected_url = "https://github.com/" + scope.split("/", 1)[1]
        if body.get("url", "").rstrip("/") != expected_url:
            raise ApiError(404, "Not Found")
        existing = self.find_runner(scope, body["name"])
        if existing is not None:
            if not body.get("replace"):
                raise ApiError(409, f"A runner exists with the same name {body['name']}.")
            del self.runners[scope][existing["id"]]
        runner = self.add_runner(
            scope,
            body["name"],
            labels=body.get("labels", []),
            os=body.get("os", "linux"),
            architecture=body.get("architecture", "x64"),
            ephemeral=bool(body.get("ephemeral")),
        )
        return Response(201, {"id": runner["id"], "name": runner["name"]})

    def public_runner_remove(self, req: Request) -> Response:
        info = self._use_runner_token(req, "remove")
        runners = self.runners.get(info["scope"], {})
        runners.pop(int(req.body.get("id", 0)), None)
        return Response(204)

    def public_runner_status(self, req: Request) -> Response:
        for runners in self.runners.values():
            runner = runners.get(int(req.body.get("id", 0)))
            if runner is not None:
                runner["status"] = req.body.get("status", "online")
                runner["busy"] = bool(req.body.get("busy", False))
                return Response(200, copy.deepcopy(runner))
        raise ApiError(404, "Not Found")

    # ---- pull requests
    def _full(self, req: Request) -> str:
        return f"{req.params['owner']}/{req.params['repo']}"

    def _new_pull(self, full: str, head: str, base: str, title: str, body: str | None, draft: bool) -> dict:
        owner = full.split("/")[0]
        head_owner, _, head_ref = head.rpartition(":")
        head_owner = head_owner or owner
        number = self._issue_numbers.get(full, 0) + 1
        self._issue_numbers[full] = number
        moment = _iso(_now())
        pr = {
            "id": self.next_id(),
            "number": number,
            "state": "open",
            "locked": False,
            "title": title,
            "body": body,
            "draft": draft,
            "merged": False,
            "mergeable": True,
            "user": {"login": owner},
            "created_at": moment,
            "updated_at": moment,
            "closed_at": None,
            "url": f"{self.url}/repos/{full}/pulls/{number}",
            "html_url": f"https://github.com/{full}/pull/{number}",
            "head": {
                "label": f"{head_owner}:{head_ref}",
                "ref": head_ref,
                "sha": secrets.token_hex(20),
                "user": {"login": head_owner},
                "repo": {"full_name": f"{head_owner}/{full.split('/')[1]}"},
            },
            "base": {
                "label": f"{owner}:{base}",
                "ref": base,
                "sha": secrets.token_hex(20),
                "user": {"login": owner},
                "repo": {"full_name": full},
            },
        }
        self.pulls.setdefault(full, {})[number] = pr
        self._follow_refs(full, pr)
        return pr

    def _pull(self, req: Request) -> dict[str, Any]:
        pr = self.pulls.get(self._full(req), {}).get(int(req.params["number"]))
        if pr is None:
            raise ApiError(404, "Not Found", docs=PULLS_DOCS)
        self._follow_refs(self._full(req), pr)
        return pr

    def list_pulls(self, req: Request) -> Response:
        state = req.arg("state", "open")
        if state not in ("open", "closed", "all"):
            raise validation_failed("PullRequest", "state", "invalid", PULLS_DOCS)
        pulls = [pr for pr in self.pulls.get(self._full(req), {}).values() if state in ("all", pr["state"])]
        head = req.arg("head")
        if head:
            head_label = head if ":" in head else f"{req.params['owner']}:{head}"
            pulls = [pr for pr in pulls if pr["head"]["label"] == head_label]
        base = req.arg("base")
        if base:
            pulls = [pr for pr in pulls if pr["base"]["ref"] == base]
        # GitHub sorts by `created` unless asked for `updated` (numbers follow creation here), and
        # `direction` defaults to desc for `created`, to asc otherwise.
        sort = req.arg("sort", "created")
        if sort == "updated":
            pulls.sort(key=lambda pr: (pr.get("updated_at") or "", pr["number"]))
        else:
            pulls.sort(key=lambda pr: pr["number"])
        if req.arg("direction", "desc" if sort == "created" else "asc") == "desc":
            pulls.reverse()
        return self.paginate(req, copy.deepcopy(pulls))

    def create_pull(self, req: Request) -> Response:
        repo = self.require_repo(req)
        full = self._full(req)
        head = self.body_field(req, "head", "PullRequest", str, docs=PULLS_DOCS)
        base = self.body_field(req, "base", "PullRequest", str, docs=PULLS_DOCS)
        title = self.body_field(req, "title", "PullRequest", str, docs=PULLS_DOCS)
        body = self.body_field(req, "body", "PullRequest", str, required=False)
        draft = bool((req.body or {}).get("draft", False))
        head_ref = head.rpartition(":")[2]
        if draft and repo["private"] and repo.get("_plan") == "free":
            raise ApiError(
                422,
                "Validation Failed",
                docs=PULLS_DOCS,
                errors=[{"resource": "PullRequest", "code": "custom", "message": DRAFT_REFUSED}],
            )
        if too_long := body_too_long("PullRequest", body):
            raise ApiError(422, "Validation Failed", docs=PULLS_DOCS, errors=[too_long])
        if repo["branches"] or full in self.git_dirs:
            for field_name, ref in (("base", base), ("head", head_ref)):
                known = self._ref_sha(full, ref) if full in self.git_dirs else ref in repo["branches"]
                if not known:
                    raise validation_failed("PullRequest", field_name, "invalid", PULLS_DOCS)
        ahead = (
            full in self.git_dirs and head_ref != base and self._git(full, "rev-list", f"{base}..{head_ref}").strip()
        )
        if head_ref == base or (full in self.git_dirs and not ahead):
            raise ApiError(
                422,
                "Validation Failed",
                docs=PULLS_DOCS,
                errors=[
                    {
                        "resource": "PullRequest",
                        "code": "custom",
                        "message": f"No commits between {base} and {head_ref}",
                    }
                ],
            )
        head_label = head if ":" in head else f"{req.params['owner']}:{head}"
        for pr in self.pulls.get(full, {}).values():
            if pr["state"] == "open" and pr["head"]["label"] == head_label and pr["base"]["ref"] == base:
                raise ApiError(
                    422,
                    "Validation Failed",
                    docs=PULLS_DOCS,
                    errors=[
                        {
                            "resource": "PullRequest",
                            "code": "custom",
                            "message": f"A pull request already exists for {head_label}.",
                        }
                    ],
                )
        pr = self._new_pull(full, head, base, title, body, draft)
        return Response(201, copy.deepcopy(pr), {"Location": pr["url"]})

    def get_pull(self, req: Request) -> Response:
        pr = self._pull(req)
        accept = req.headers.get("accept", "")
        if "diff" in accept or "patch" in accept:
            diff = self._pull_diff(self._full(req), pr) or ""
            files = parse_diff(diff)
            lines = diff.count("\n")
            if len(files) > DIFF_MAX_FILES or lines > DIFF_MAX_LINES:
                limit = f"files ({DIFF_MAX_FILES})" if len(files) > DIFF_MAX_FILES else f"lines ({DIFF_MAX_LINES})"
                raise ApiError(
                    406,
                    f"Sorry, the diff exceeded the maximum number of {limit}. Consider using "
                    "'List pull requests files' API or locally cloning the repository instead.",
                    docs=PULLS_DOCS,
                    errors=[{"resource": "PullRequest", "field": "diff", "code": "too_large"}],
                )
            return Response(200, diff, {"Content-Type": "application/vnd.github.diff; charset=utf-8"})
        return Response(200, copy.deepcopy(pr))

    def add_issue_labels(self, req: Request) -> Response:
        # Pull requests are issues: their labels live on the issue of the same number.
        pr = self._pull(req)
        names = (req.body or {}).get("labels") if isinstance(req.body, dict) else None
        if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
            raise validation_failed("Label", "labels", "invalid")
        for name in names:
            if name not in {label["name"] for label in pr.setdefault("labels", [])}:
                pr["labels"].append({"id": self.next_id(), "name": name, "color": "ededed", "default": False})
        return Response(200, copy.deepcopy(pr["labels"]))

    def update_pull(self, req: Request) -> Response:
        # Like GitHub's REST API, `draft` cannot be changed here (that needs GraphQL); it is ignored.
        pr = self._pull(req)
        body = req.body if isinstance(req.body, dict) else {}
        if "state" in body and body["state"] not in ("open", "closed"):
            raise validation_failed("PullRequest", "state", "invalid", PULLS_DOCS)
        if "title" in body and not isinstance(body["title"], str):
            raise validation_failed("PullRequest", "title", "invalid", PULLS_DOCS)
        if too_long := body_too_long("PullRequest", body.get("body")):
            raise ApiError(422, "Validation Failed", docs=PULLS_DOCS, errors=[too_long])
        for key in ("title", "body", "state"):
            if key in body:
                pr[key] = body[key]
        if "base" in body:
            pr["base"]["ref"] = body["base"]
            pr["base"]["label"] = f"{req.params['owner']}:{body['base']}"
        pr["closed_at"] = _iso(_now()) if pr["state"] == "closed" else None
        pr["updated_at"] = _iso(_now())
        return Response(200, copy.deepcopy(pr))

    def list_pull_files(self, req: Request) -> Response:
        pr = self._pull(req)
        files = parse_diff(self._pull_diff(self._full(req), pr) or "")
        listed = [
            {
                "filename": f["filename"],
                "status": f["status"],
                "additions": f["additions"],
                "deletions": f["deletions"],
                "changes": f["additions"] + f["deletions"],
                "patch": "\n".join(f["patch"]),
                **({"previous_filename": f["previous_filename"]} if "previous_filename" in f else {}),
            }
            for f in files.values()
        ]
        return self.paginate(req, listed)

    def list_reviews(self, req: Request) -> Response:
        pr = self._pull(req)
        return self.paginate(req, copy.deepcopy(self.reviews.get((self._full(req), pr["number"]), [])))

    def list_review_comments(self, req: Request) -> Response:
        pr = self._pull(req)
        return self.paginate(req, copy.deepcopy(self.review_comments.get((self._full(req), pr["number"]), [])))

    def create_review(self, req: Request) -> Response:
        pr = self._pull(req)
        full = self._full(req)
        body = req.body if isinstance(req.body, dict) else {}
        event = body.get("event")
        states = {
            "APPROVE": "APPROVED",
            "REQUEST_CHANGES": "CHANGES_REQUESTED",
            "COMMENT": "COMMENTED",
            None: "PENDING",
        }
        if event not in states:
            raise validation_failed("PullRequestReview", "event", "invalid", PULLS_DOCS)
        if event in ("REQUEST_CHANGES", "COMMENT") and not body.get("body") and not body.get("comments"):
            raise ApiError(
                422,
                "Unprocessable Entity",
                docs=PULLS_DOCS,
                errors=[f"Body is required when event is {event}"],
            )
        comments = body.get("comments") or []
        for text in [body.get("body"), *(c.get("body") for c in comments if isinstance(c, dict))]:
            if too_long := body_too_long("PullRequestReview", text):
                # This operation's 422 is GitHub's "validation-error-simple": errors are strings.
                raise ApiError(422, "Unprocessable Entity", docs=PULLS_DOCS, errors=[too_long["message"]])
        diff = self._pull_diff(full, pr)
        files = parse_diff(diff) if diff is not None else None
        for comment in comments:
            if not isinstance(comment, dict) or not comment.get("path") or not comment.get("body"):
                raise ApiError(
                    422,
                    "Unprocessable Entity",
                    docs=PULLS_DOCS,
                    errors=["Review comments need a path and a body"],
                )
            if files is not None:
                info = files.get(comment["path"])
                side = comment.get("side", "RIGHT")
                line = comment.get("line")
                lines = [line] if "start_line" not in comment else range(comment["start_line"], (line or 0) + 1)
                position = comment.get("position")
                if line is None and isinstance(position, int):
                    # The older form: lines counted down from the file's first "@@" header (which is 0).
                    on_diff = info is not None and 1 <= position < len(info["patch"])
                else:
                    on_diff = info is not None and line is not None and all(n in info[side] for n in lines)
                if not on_diff:
                    raise ApiError(
                        422,
                        "Unprocessable Entity",
                        docs=PULLS_DOCS,
                        errors=[
                            "Pull request review thread line must be part of the diff and "
                            "Pull request review "
                            "thread diff hunk can't be blank"
                        ],
                    )
        review_id = self.next_id()
        review = {
            "id": review_id,
            "user": {"login": req.login},
            "body": body.get("body", ""),
            "state": states[event],
            "commit_id": body.get("commit_id", pr["head"]["sha"]),
            "html_url": f"{pr['html_url']}#pullrequestreview-{review_id}",
            "submitted_at": _iso(_now()) if event else None,
            "comments": copy.deepcopy(comments),
        }
        self.reviews.setdefault((full, pr["number"]), []).append(review)
        for comment in comments:
            self.review_comments.setdefault((full, pr["number"]), []).append(
                {
                    "id": self.next_id(),
                    "pull_request_review_id": review_id,
                    "user": {"login": req.login},
                    **copy.deepcopy(comment),
                }
            )
        return Response(200, {k: v for k, v in review.items() if k != "comments"})

    # ---- issue comments
    def _comment(self, req: Request) -> dict[str, Any]:
        comment = self.comments.get(int(req.params["id"]))
        if comment is None or comment["_repo"] != self._full(req):
            raise ApiError(404, "Not Found")
        return comment

    @staticmethod
    def _public_comment(comment: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in comment.items() if not k.startswith("_")}

    def list_issue_comments(self, req: Request) -> Response:
        number = int(req.params["number"])
        if number not in self.pulls.get(self._full(req), {}):
            raise ApiError(404, "Not Found")
        found = [
            self._public_comment(c)
            for c in self.comments.values()
            if c["_repo"] == self._full(req) and c["_number"] == number
        ]
        return self.paginate(req, copy.deepcopy(found))

    def create_issue_comment(self, req: Request) -> Response:
        number = int(req.params["number"])
        if number not in self.pulls.get(self._full(req), {}):
            raise ApiError(404, "Not Found")
        text = self.body_field(req, "body", "IssueComment", str)
        if too_long := body_too_long("IssueComment", text):
            raise ApiError(422, "Validation Failed", errors=[too_long])
        comment_id = self.next_id()
        moment = _iso(_now())
        full = self._full(req)
        comment = {
            "id": comment_id,
            "body": text,
            "user": {"login": req.login},
            "author_association": self.association(full, req.login),
            "created_at": moment,
            "updated_at": moment,
            "url": f"{self.url}/repos/{full}/issues/comments/{comment_id}",
            "html_url": f"https://github.com/{full}/pull/{number}#issuecomment-{comment_id}",
            "_repo": full,
            "_number": number,
        }
        self.comments[comment_id] = comment
        self.pulls[full][number]["updated_at"] = moment  # a comment counts as activity on the pull request
        return Response(201, self._public_comment(comment), {"Location": comment["url"]})

    def get_issue_comment(self, req: Request) -> Response:
        return Response(200, self._public_comment(self._comment(req)))

    def update_issue_comment(self, req: Request) -> Response:
        comment = self._comment(req)
        text = self.body_field(req, "body", "IssueComment", str)
        if too_long := body_too_long("IssueComment", text):
            raise ApiError(422, "Validation Failed", errors=[too_long])
        comment["body"] = text
        comment["updated_at"] = _iso(_now())
        return Response(200, self._public_comment(comment))

    def delete_issue_comment(self, req: Request) -> Response:
        comment = self._comment(req)
        del self.comments[comment["id"]]
        return Response(204)
