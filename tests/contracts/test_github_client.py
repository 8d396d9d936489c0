"""The CLI's one GitHub client against the fake GitHub server's real failure modes.

Each test is a finding of a review of the client against GitHub's docs: rate limits were not
honoured, a rate-limited 403 read as a permissions problem, drafts refused on free private repos
broke the fleet, and bodies over GitHub's 65,536-character limit were sent as they were.
"""

from __future__ import annotations

import time

import pytest

from devops_studio.fleet import pullrequest
from devops_studio.github_api import BODY_LIMIT, GitHubClient, GitHubError, RateLimitError, cap_body
from tests.fakes.github_api import FakeGitHub

TOKEN = "ghp_contractTEST0123456789abcdefABCDEF"
RUNNERS = "/repos/octo/app/actions/runners"


@pytest.fixture
def gh():
    with FakeGitHub() as server:
        server.add_token(TOKEN)
        server.add_repo("octo", "app", branches=["main", "template-update/v2"])
        server.add_repo("octo", "free", plan="free", branches=["main", "template-update/v2"])
        yield server


def client(gh: FakeGitHub, **kwargs) -> GitHubClient:
    return GitHubClient(TOKEN, gh.url, **kwargs)


def calls_to(gh: FakeGitHub, path: str) -> int:
    return sum(1 for r in gh.requests if r["path"] == path)


@pytest.mark.parametrize("kind", ["primary", "secondary", "too-many"])
def test_rate_limits_are_waited_out_then_the_call_succeeds(gh, kind):
    gh.failures.add(kind, path=RUNNERS, times=1, wait=2)
    started = time.monotonic()
    answer = client(gh).request("GET", RUNNERS)
    assert answer["total_count"] == 0
    assert calls_to(gh, RUNNERS) == 2, "one refused call, one retry"
    assert time.monotonic() - started >= 1, "the client waited for the reset / retry-after"


def test_rate_limit_beyond_the_wait_bound_is_a_clear_rate_limit_error_not_a_permission_problem(gh):
    gh.failures.add("primary", path=RUNNERS, times=5, wait=3600)
    started = time.monotonic()
    with pytest.raises(RateLimitError) as caught:
        client(gh, max_total_wait=5).request("GET", RUNNERS)
    assert time.monotonic() - started < 5, "no wait past the bound"
    message = str(caught.value)
    assert caught.value.status == 403
    assert "rate limit" in message and "limit of 5 s" in message and "resets at" in message
    assert "administer" not in message and "permission" not in message


def test_secondary_limit_without_headers_is_recognised_by_its_message(gh):
    gh.failures.add("secondary-bare", path=RUNNERS, times=1)
    with pytest.raises(RateLimitError) as caught:
        client(gh, max_total_wait=10).request("GET", RUNNERS)
    assert "secondary rate limit" in str(caught.value)
    assert "administer" not in str(caught.value)


def test_server_errors_are_retried(gh):
    gh.failures.add("server", path=RUNNERS, times=2)
    assert client(gh).request("GET", RUNNERS)["total_count"] == 0
    assert calls_to(gh, RUNNERS) == 3


def test_paginate_follows_link_headers_to_the_last_page(gh):
    for index in range(230):
        gh.add_runner("repos/octo/app", f"runner-{index:03d}")
    runners = client(gh).paginate(RUNNERS, "runners")
    assert [r["name"] for r in runners] == [f"runner-{i:03d}" for i in range(230)]
    pages = [r for r in gh.requests if r["path"] == RUNNERS]
    assert len(pages) == 3 and all(r["query"]["per_page"] == ["100"] for r in pages)


@pytest.mark.parametrize(
    "status,path,fix",
    [
        (401, "/user", "refresh GH_TOKEN"),
        (404, "/repos/octo/missing", "check the owner and repository name"),
        (404, "/repos/octo/missing/actions/runners", "Administration read/write"),
        (422, "/repos/octo/app/pulls", "GitHub refused the content"),
    ],
)
def test_error_messages_name_the_fix_and_never_the_token(gh, status, path, fix):
    token = TOKEN if status != 401 else "ghp_wrongTOKENwrongTOKENwrong"
    api = GitHubClient(token, gh.url)
    method, body = ("POST", {"title": "t", "head": "main", "base": "main"}) if status == 422 else ("GET", None)
    with pytest.raises(GitHubError) as caught:
        api.request(method, path, body)
    assert caught.value.status == status
    assert fix in str(caught.value)
    assert token not in str(caught.value) and token not in repr(api)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_draft_refused_opens_a_ready_pull_request_marked_conflicted(gh):
    pull, action = pullrequest.create_pull(
        client(gh),
        "octo/free",
        head="template-update/v2",
        base="main",
        title="Update the template to v2",
        body="conflicts",
        draft=True,
    )
    assert action.startswith("opened marked conflicted")
    stored = gh.pulls["octo/free"][pull["number"]]
    assert stored["draft"] is False
    assert stored["title"] == "[conflicted] Update the template to v2"
    assert [label["name"] for label in stored["labels"]] == [pullrequest.CONFLICTED_LABEL]


def test_draft_stays_a_draft_where_github_allows_it(gh):
    pull, action = pullrequest.create_pull(
        client(gh), "octo/app", head="template-update/v2", base="main", title="t", body="b", draft=True
    )
    assert action == "opened as draft" and gh.pulls["octo/app"][pull["number"]]["draft"] is True


def test_fake_refuses_bodies_over_githubs_limit(gh):
    with pytest.raises(GitHubError) as caught:
        client(gh).request(
            "POST",
            "/repos/octo/app/pulls",
            {"title": "t", "head": "template-update/v2", "base": "main", "body": "x" * (BODY_LIMIT + 1)},
        )
    assert caught.value.status == 422 and "body is too long" in str(caught.value)


def test_pull_request_bodies_are_capped_with_a_pointer_to_the_full_report(gh):
    huge = "- a changed file\n" * 10_000
    pull, _ = pullrequest.create_pull(
        client(gh), "octo/app", head="template-update/v2", base="main", title="t", body=huge, draft=False
    )
    body = gh.pulls["octo/app"][pull["number"]]["body"]
    assert len(body) < BODY_LIMIT
    assert body.endswith(f"the full report: {pullrequest.FULL_REPORT}*")
    updated = pullrequest.update_pull(client(gh), "octo/app", pull["number"], title="t", body=huge, base="main")
    assert len(updated["body"]) < BODY_LIMIT


def test_cap_body_leaves_short_bodies_alone_and_never_reaches_the_limit():
    assert cap_body("short", "see the log") == "short"
    for size in (BODY_LIMIT - 1, BODY_LIMIT, BODY_LIMIT + 1, 3 * BODY_LIMIT):
        assert len(cap_body("y" * size, "see the log")) < BODY_LIMIT


def test_the_contract_check_refuses_a_request_the_description_does_not_allow():
    with FakeGitHub() as server:
        server.add_token(TOKEN)
        server.add_repo("octo", "app", branches=["main", "feature"])
        api = GitHubClient(TOKEN, server.url)
        # `title` must be a string in GitHub's description; the fake would store whatever it got.
        api.request("PATCH", "/repos/octo/app/pulls/1", {"title": 5}, ok=(200, 404, 422))
        api.request("GET", "/repos/octo/app/not-an-endpoint", ok=(404,))
        with pytest.raises(AssertionError) as caught:
            server.stop()
    assert "not an operation of the vendored description" in str(caught.value)


def test_runner_answers_follow_githubs_schemas_strictly():
    with FakeGitHub(strict_answers=True) as server:
        server.add_token(TOKEN)
        server.add_repo("octo", "app")
        server.add_runner("repos/octo/app", "r1", labels=["gpu"])
        api = GitHubClient(TOKEN, server.url)
        assert api.paginate(RUNNERS, "runners")[0]["name"] == "r1"
        assert api.request("POST", f"{RUNNERS}/registration-token")["token"]
        assert server.contract.violations == []


def test_the_token_stays_out_of_logs_even_at_debug_level(gh, caplog):
    caplog.set_level("DEBUG")
    gh.failures.add("secondary", path=RUNNERS, times=1, wait=1)
    gh.failures.add("server", path=RUNNERS, times=1)
    client(gh).request("GET", RUNNERS)
    assert caplog.records, "httpx and githubkit logged the calls"
    assert TOKEN not in caplog.text
