"""The GitHub REST test server keeps the published contract (checked with a plain HTTP client)."""

from __future__ import annotations

import hashlib
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from github_api import REPO, FakeGitHub, Request, Response  # noqa: E402

TOKEN = "ghp_fake_token_for_tests"


def call(
    gh: FakeGitHub,
    method: str,
    path: str,
    body: object | None = None,
    token: str | None = TOKEN,
    accept: str = "application/vnd.github+json",
) -> tuple[int, object, dict]:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Accept": accept, "Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(gh.url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            status, raw, hdrs = resp.status, resp.read(), dict(resp.headers)
    except urllib.error.HTTPError as exc:
        status, raw, hdrs = exc.code, exc.read(), dict(exc.headers)
    if hdrs.get("Content-Type", "").startswith("application/json"):
        return status, json.loads(raw) if raw else None, hdrs
    return status, raw, hdrs


@pytest.fixture
def gh():
    with FakeGitHub() as server:
        server.add_token(TOKEN)
        server.add_repo("octo", "app")
        yield server


def test_auth_errors_follow_github(gh):
    status, body, _ = call(gh, "GET", "/repos/octo/app", token=None)
    assert status == 401 and body["message"] == "Requires authentication"
    status, body, _ = call(gh, "GET", "/repos/octo/app", token="nope")
    assert status == 401 and body["message"] == "Bad credentials" and "documentation_url" in body
    gh.expire_token(TOKEN)
    assert call(gh, "GET", "/repos/octo/app")[0] == 401


def test_token_scheme_and_missing_repo(gh):
    req = urllib.request.Request(gh.url + "/repos/octo/app", headers={"Authorization": f"token {TOKEN}"})
    with urllib.request.urlopen(req) as resp:
        assert json.loads(resp.read())["full_name"] == "octo/app"
    status, body, _ = call(gh, "GET", "/repos/octo/missing")
    assert status == 404 and body["message"] == "Not Found"
    assert call(gh, "POST", "/repos/octo/missing/actions/runners/registration-token")[0] == 404


def test_registration_flow_labels_and_delete(gh):
    status, body, _ = call(gh, "POST", "/repos/octo/app/actions/runners/registration-token")
    assert status == 201 and body["token"] and body["expires_at"].endswith("Z")
    status, reg, _ = call(
        gh,
        "POST",
        "/_fake/runner/register",
        token=None,
        body={
            "token": body["token"],
            "url": "https://github.com/octo/app",
            "name": "chronos",
            "labels": ["chronos"],
        },
    )
    assert status == 201
    status, again, _ = call(
        gh,
        "POST",
        "/_fake/runner/register",
        token=None,
        body={"token": body["token"], "url": "https://github.com/octo/app", "name": "chronos"},
    )
    assert status == 409
    status, listing, _ = call(gh, "GET", "/repos/octo/app/actions/runners?name=chronos")
    assert listing["total_count"] == 1
    runner = listing["runners"][0]
    assert [x["name"] for x in runner["labels"]] == ["self-hosted", "Linux", "X64", "chronos"]
    rid = runner["id"]
    status, labels, _ = call(gh, "PUT", f"/repos/octo/app/actions/runners/{rid}/labels", {"labels": ["gpu"]})
    assert [x["name"] for x in labels["labels"]] == ["self-hosted", "Linux", "X64", "gpu"]
    status, labels, _ = call(gh, "POST", f"/repos/octo/app/actions/runners/{rid}/labels", {"labels": ["build"]})
    assert labels["total_count"] == 5
    assert call(gh, "DELETE", f"/repos/octo/app/actions/runners/{rid}/labels/build")[0] == 200
    assert call(gh, "DELETE", f"/repos/octo/app/actions/runners/{rid}/labels/nope")[0] == 404
    assert call(gh, "DELETE", f"/repos/octo/app/actions/runners/{rid}/labels/Linux")[0] == 422
    assert call(gh, "POST", f"/repos/octo/app/actions/runners/{rid}/labels", {"labels": []})[0] == 422
    status, labels, _ = call(gh, "DELETE", f"/repos/octo/app/actions/runners/{rid}/labels")
    assert [x["type"] for x in labels["labels"]] == ["read-only"] * 3
    call(gh, "POST", "/_fake/runner/status", token=None, body={"id": rid, "status": "online"})
    assert call(gh, "GET", f"/repos/octo/app/actions/runners/{rid}")[1]["status"] == "online"
    assert call(gh, "DELETE", f"/repos/octo/app/actions/runners/{rid}")[0] == 204
    assert call(gh, "GET", f"/repos/octo/app/actions/runners/{rid}")[0] == 404


def test_expired_registration_token_is_refused(gh):
    _, body, _ = call(gh, "POST", "/repos/octo/app/actions/runners/registration-token")
    gh.expire_token(body["token"])
    status, _, _ = call(
        gh,
        "POST",
        "/_fake/runner/register",
        token=None,
        body={"token": body["token"], "url": "https://github.com/octo/app", "name": "x"},
    )
    assert status == 404


def test_jitconfig_and_pagination(gh):
    body = {"name": "jit-1", "runner_group_id": 1, "labels": ["gpu"]}
    status, jit, _ = call(gh, "POST", "/repos/octo/app/actions/runners/generate-jitconfig", body)
    assert status == 201 and jit["encoded_jit_config"] and jit["runner"]["ephemeral"] is True
    assert call(gh, "POST", "/repos/octo/app/actions/runners/generate-jitconfig", body)[0] == 409
    status, err, _ = call(gh, "POST", "/repos/octo/app/actions/runners/generate-jitconfig", {"name": "x"})
    assert status == 422 and err["message"] == "Validation Failed"
    assert err["errors"][0]["field"] == "runner_group_id"
    for index in range(4):
        gh.add_runner("repos/octo/app", f"r{index}")
    status, page, headers = call(gh, "GET", "/repos/octo/app/actions/runners?per_page=2&page=1")
    assert page["total_count"] == 5 and len(page["runners"]) == 2 and 'rel="next"' in headers["Link"]


def test_org_scope(gh):
    assert call(gh, "POST", "/orgs/lab/actions/runners/registration-token")[0] == 404
    gh.add_org("lab")
    assert call(gh, "POST", "/orgs/lab/actions/runners/remove-token")[0] == 201


def test_downloads_serve_registered_files(gh, tmp_path):
    package = tmp_path / "runner.tar.gz"
    package.write_bytes(b"runner bits")
    gh.add_runner_download("linux", "x64", package, version="2.330.0")
    status, assets, _ = call(gh, "GET", "/repos/octo/app/actions/runners/downloads")
    assert status == 200 and assets[0]["filename"] == "actions-runner-linux-x64-2.330.0.tar.gz"
    assert assets[0]["sha256_checksum"] == hashlib.sha256(b"runner bits").hexdigest()
    with urllib.request.urlopen(assets[0]["download_url"]) as resp:
        assert resp.read() == b"runner bits"


DIFF = """diff --git a/app/main.py b/app/main.py
index 1111111..2222222 100644
--- a/app/main.py
+++ b/app/main.py
@@ -1,3 +1,4 @@
 import os
-x = 1
+x = 2
+y = 3
 print(x)
"""


def test_pulls_reviews_and_comments(gh):
    status, pr, _ = call(
        gh,
        "POST",
        "/repos/octo/app/pulls",
        {"title": "T", "head": "feature/a", "base": "develop", "body": "B", "draft": True},
    )
    assert status == 201 and pr["number"] == 1 and pr["draft"] is True
    status, err, _ = call(gh, "POST", "/repos/octo/app/pulls", {"title": "T", "head": "feature/a", "base": "develop"})
    assert status == 422 and "already exists" in err["errors"][0]["message"]
    assert call(gh, "POST", "/repos/octo/app/pulls", {"title": "T", "base": "develop"})[1]["errors"][0] == {
        "resource": "PullRequest",
        "field": "head",
        "code": "missing_field",
    }
    _, found, _ = call(gh, "GET", "/repos/octo/app/pulls?head=octo:feature/a&state=open&base=develop")
    assert [p["number"] for p in found] == [1]
    assert call(gh, "GET", "/repos/octo/app/pulls?head=octo:other")[1] == []
    _, updated, _ = call(gh, "PATCH", "/repos/octo/app/pulls/1", {"title": "T2", "draft": False})
    assert updated["title"] == "T2" and updated["draft"] is True  # REST cannot change draft
    gh.set_pull_diff("octo", "app", 1, DIFF)
    status, text, _ = call(gh, "GET", "/repos/octo/app/pulls/1", accept="application/vnd.github.diff")
    assert status == 200 and text.decode() == DIFF
    bad = {"event": "COMMENT", "body": "x", "comments": [{"path": "app/main.py", "line": 9, "body": "no"}]}
    assert call(gh, "POST", "/repos/octo/app/pulls/1/reviews", bad)[0] == 422
    good = {
        "event": "COMMENT",
        "body": "Looks fine",
        "comments": [{"path": "app/main.py", "line": 3, "body": "ok"}],
    }
    by_position = {"event": "COMMENT", "body": "x", "comments": [{"path": "app/main.py", "position": 3, "body": "p"}]}
    assert call(gh, "POST", "/repos/octo/app/pulls/1/reviews", by_position)[0] == 200
    by_position["comments"][0]["position"] = 9
    assert call(gh, "POST", "/repos/octo/app/pulls/1/reviews", by_position)[0] == 422
    status, review, _ = call(gh, "POST", "/repos/octo/app/pulls/1/reviews", good)
    assert status == 200 and review["state"] == "COMMENTED"
    assert gh.reviews[("octo/app", 1)][-1]["comments"][0]["line"] == 3
    _, files, _ = call(gh, "GET", "/repos/octo/app/pulls/1/files")
    assert files[0]["additions"] == 2 and files[0]["deletions"] == 1
    status, comment, _ = call(gh, "POST", "/repos/octo/app/issues/1/comments", {"body": "hello"})
    assert status == 201
    cid = comment["id"]
    assert call(gh, "PATCH", f"/repos/octo/app/issues/comments/{cid}", {"body": "edited"})[1]["body"] == "edited"
    assert [c["body"] for c in call(gh, "GET", "/repos/octo/app/issues/1/comments")[1]] == ["edited"]
    assert call(gh, "POST", "/repos/octo/app/issues/9/comments", {"body": "x"})[0] == 404
    assert call(gh, "POST", "/repos/octo/app/issues/1/comments", {})[0] == 422


def test_big_diff_is_refused_like_github(gh):
    gh.add_pull("octo", "app", head="big")
    gh.set_pull_diff(
        "octo",
        "app",
        1,
        "".join(f"diff --git a/f{i} b/f{i}\n--- a/f{i}\n+++ b/f{i}\n@@ -1 +1 @@\n-a\n+b\n" for i in range(301)),
    )
    status, body, _ = call(gh, "GET", "/repos/octo/app/pulls/1", accept="application/vnd.github.v3.diff")
    assert status == 406 and body["errors"][0]["code"] == "too_large"


def test_subclass_extends_routes():
    class WithBranches(FakeGitHub):
        ROUTES = FakeGitHub.ROUTES + [("GET", REPO + "/branches", "branches")]

        def branches(self, req: Request) -> Response:
            return Response(200, [{"name": "main"}])

    with WithBranches() as server:
        server.add_token(TOKEN)
        server.add_repo("octo", "app")
        [branch] = call(server, "GET", "/repos/octo/app/branches")[1]
        # The fields a handler leaves out come from GitHub's schema (github_objects.py).
        assert branch["name"] == "main" and branch["protected"] is False and "sha" in branch["commit"]
        assert call(server, "GET", "/repos/octo/nope/branches")[0] == 404


def test_a_failing_handler_answers_500_and_keeps_the_trace(gh):
    status, body, _ = call(gh, "POST", "/_fake/runner/register", token=None, body={"token": 1})
    assert status == 404  # unknown token, answered normally

    class Broken(FakeGitHub):
        ROUTES = FakeGitHub.ROUTES + [("GET", "/boom", "boom")]

        def boom(self, req: Request) -> Response:
            raise RuntimeError("bug")

    # /boom is no GitHub operation: the contract check would rightly refuse it.
    with Broken(check_contract=False) as server:
        server.add_token(TOKEN)
        status, body, _ = call(server, "GET", "/boom")
        assert status == 500 and body["message"] == "Server Error"
        assert "RuntimeError: bug" in server.errors[0]


def test_pull_files_report_renames(gh):
    gh.add_pull("octo", "app", head="move")
    gh.set_pull_diff(
        "octo",
        "app",
        1,
        "diff --git a/old name.py b/new name.py\nsimilarity index 90%\nrename from old name.py\n"
        "rename to new name.py\n--- a/old name.py\n+++ b/new name.py\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n",
    )
    _, files, _ = call(gh, "GET", "/repos/octo/app/pulls/1/files")
    modelled = ("filename", "status", "additions", "deletions", "changes", "patch", "previous_filename")
    assert [{key: file[key] for key in modelled} for file in files] == [
        {
            "filename": "new name.py",
            "status": "renamed",
            "additions": 1,
            "deletions": 1,
            "changes": 2,
            "patch": "@@ -1,2 +1,2 @@\n a\n-b\n+c",
            "previous_filename": "old name.py",
        }
    ]


def _git(repo: Path, *args: str) -> str:
    import subprocess

    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "PATH": "/usr/bin:/bin", "HOME": str(repo)}  # fmt: skip
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env).stdout


def _commit(repo: Path, files: dict[str, str], message: str) -> str:
    for name, text in files.items():
        (repo / name).write_text(text)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", message)
    return _git(repo, "rev-parse", "HEAD").strip()


def test_the_fake_computes_the_pull_request_diff_itself_as_githubs_three_dot_compare(gh, tmp_path):
    """The base moved on after the branch point: GitHub shows only the branch's own changes (from
    the merge base), never the base's newer commits reversed, and refuses comments on those lines."""
    repo = tmp_path / "app"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _commit(repo, {"app.py": "a = 1\n", "base.py": "one\n"}, "start")
    _git(repo, "checkout", "-q", "-b", "feature")
    _commit(repo, {"app.py": "a = 2\n"}, "feature")
    _git(repo, "checkout", "-q", "main")
    main_sha = _commit(repo, {"base.py": "one\ntwo\nthree\n"}, "main moves on")
    gh.attach_git("octo", "app", repo)
    assert gh.add_pull("octo", "app", head="feature")["base"]["sha"] == main_sha
    with pytest.raises(ValueError):
        gh.set_pull_diff("octo", "app", 1, "diff --git a/x b/x\n")  # nobody tells it the diff

    _, files, _ = call(gh, "GET", "/repos/octo/app/pulls/1/files")
    assert [(f["filename"], f["additions"], f["deletions"]) for f in files] == [("app.py", 1, 1)]
    status, diff, _ = call(gh, "GET", "/repos/octo/app/pulls/1", accept="application/vnd.github.diff")
    assert status == 200 and b"base.py" not in diff
    base_line = {"path": "base.py", "line": 2, "side": "RIGHT", "body": "on the base's own change"}
    status, body, _ = call(gh, "POST", "/repos/octo/app/pulls/1/reviews", {"event": "COMMENT", "comments": [base_line]})
    assert status == 422 and "must be part of the diff" in body["errors"][0]
    ok = {"path": "app.py", "line": 1, "side": "RIGHT", "body": "fine"}
    assert call(gh, "POST", "/repos/octo/app/pulls/1/reviews", {"event": "COMMENT", "comments": [ok]})[0] == 200

    # A push to the branch moves the pull request along.
    _git(repo, "checkout", "-q", "feature")
    head_sha = _commit(repo, {"new.py": "x\n"}, "more")
    _, pull, _ = call(gh, "GET", "/repos/octo/app/pulls/1")
    assert pull["head"]["sha"] == head_sha
    assert {f["filename"] for f in call(gh, "GET", "/repos/octo/app/pulls/1/files")[1]} == {"app.py", "new.py"}
    # A branch with nothing new is refused as GitHub does.
    _git(repo, "branch", "-q", "empty", "main")
    status, body, _ = call(gh, "POST", "/repos/octo/app/pulls", {"title": "t", "head": "empty", "base": "main"})
    assert status == 422 and "No commits between main and empty" in body["errors"][0]["message"]


def test_review_bodies_over_githubs_limit_are_refused(gh):
    gh.add_pull("octo", "app", head="feature")
    status, body, _ = call(gh, "POST", "/repos/octo/app/pulls/1/reviews", {"event": "COMMENT", "body": "x" * 65_537})
    assert status == 422 and "body is too long" in body["errors"][0]
