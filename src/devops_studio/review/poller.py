"""What needs a review: new pull requests, new commits, and `/review` from people with write access.

Pull requests by the repository's owner, members and collaborators are reviewed on every new head
commit. Anyone else's (forks included) wait until someone with write access comments `/review`, so a
stranger cannot spend the review machine's time; once asked, the review reads the diff as data like
any other. A `/review` counts only from a user whose permission on the repository (checked through
the API, not taken from the comment) is write, maintain or admin.
"""

from __future__ import annotations

import re
import signal
import threading
from collections.abc import Callable
from typing import Any

from devops_studio.review import pipeline
from devops_studio.review.github import GitHubError, ReviewGitHub
from devops_studio.review.model import ReviewModel
from devops_studio.review.settings import ReviewSettings
from devops_studio.review.state import ReviewState
from devops_studio.review.texts import TEXT

TRUSTED_AUTHORS = ("OWNER", "MEMBER", "COLLABORATOR")
COMMAND = re.compile(r"/review[ \t]*(?:\r?\n.*)?", re.DOTALL)


def review_commands(github: ReviewGitHub, repo: str, comments: list[dict[str, Any]], after: int) -> list[int]:
    """Ids of `/review` comments newer than `after` by users who may push to `repo`."""
    found = []
    for comment in comments:
        if int(comment.get("id") or 0) <= after or not COMMAND.fullmatch(str(comment.get("body") or "").strip()):
            continue
        author = str((comment.get("user") or {}).get("login") or "")
        if author and author != github.login() and github.can_write(repo, author):
            found.append(int(comment["id"]))
    return found


def poll_repo(
    github: ReviewGitHub,
    model: ReviewModel,
    settings: ReviewSettings,
    state: ReviewState,
    repo: str,
    log: Callable[[str], None],
) -> None:
    pulls = github.open_pulls(repo)
    state.forget_closed(repo, {int(p["number"]) for p in pulls})
    text = TEXT[settings.language]
    for pull in pulls:
        if pull.get("draft"):
            continue
        number, head = int(pull["number"]), str(pull["head"]["sha"])
        entry = state.get(repo, number)
        commands = review_commands(github, repo, github.comments(repo, number), int(entry.get("last_command") or 0))
        trusted = pull.get("author_association") in TRUSTED_AUTHORS
        if not commands and not (trusted and entry.get("head") != head):
            if not trusted and settings.status_check and entry.get("waiting") != head and entry.get("head") != head:
                github.set_status(repo, head, "pending", text["status_waiting"])
                state.put(repo, number, waiting=head)
            continue
        if settings.status_check:
            github.set_status(repo, head, "pending", text["status_running"])
        outcome = pipeline.review_pull(github, model, settings, repo, pull)
        if settings.status_check:
            github.set_status(
                repo, head, "success" if outcome.ok else "failure", text["status_ok" if outcome.ok else "status_failed"]
            )
        last_command = max([int(entry.get("last_command") or 0), *commands])
        if outcome.ok:
            state.put(repo, number, head=head, last_command=last_command)
        log(f"{repo}#{number} {head[:7]}: {'reviewed' if outcome.ok else 'not reviewed'} ({outcome.message})")


def once(
    github: ReviewGitHub, model: ReviewModel, settings: ReviewSettings, state: ReviewState, log: Callable[[str], None]
) -> int:
    """One pass over every repository; the number of repositories that failed."""
    failed = 0
    for repo in settings.repos:
        try:
            poll_repo(github, model, settings, state, repo, log)
        except GitHubError as error:
            failed += 1
            log(f"{repo}: {error}")
    return failed


def run(
    github: ReviewGitHub, model: ReviewModel, settings: ReviewSettings, state: ReviewState, log: Callable[[str], None]
) -> int:
    """Poll until SIGTERM/SIGINT; a signal stops the loop between pull requests, never mid-post."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.is_set():
        once(github, model, settings, state, log)
        stop.wait(settings.poll_seconds)
    log("stopped")
    return 0
