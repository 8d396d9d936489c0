"""Which events can start each job of a workflow, and whether a pull request can reach a self-hosted runner.

A pull request's run uses the workflow file of the pull request's own merge commit, so nothing inside
a workflow protects a self-hosted runner from it: the only safe rule is that no job an event driven
by pull-request content can start may run on a self-hosted runner.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from devops_studio.lint.base import Check, Finding, LintContext

# Events whose runs someone without write access can set off, or that run with a pull request's
# content or its workflow file.
PULL_REQUEST_EVENTS = frozenset(
    {
        "pull_request",
        "pull_request_target",
        "pull_request_review",
        "pull_request_review_comment",
        "issue_comment",
        "workflow_run",
        "discussion_comment",
        "issues",
        "fork",
        "watch",
    }
)
# `github.event_name == 'push'` (alone or as one term of an `&&` chain) limits a job to that event.
_EVENT_TERM = re.compile(r"github\.event_name\s*(==|!=)\s*'([a-z_]+)'")


@dataclass(frozen=True)
class JobReach:
    job: str
    events: frozenset[str]
    runs_on: object
    line: int | None

    @property
    def self_hosted(self) -> bool:
        return targets_self_hosted(self.runs_on)

    @property
    def pull_request_events(self) -> frozenset[str]:
        return self.events & PULL_REQUEST_EVENTS


def targets_self_hosted(runs_on: object) -> bool:
    """True unless `runs-on` names only GitHub-hosted images: a `self-hosted` label, a runner group
    or an expression (whose value this check cannot know) all count as self-hosted."""
    if isinstance(runs_on, str):
        return "${{" in runs_on or runs_on.strip().lower() == "self-hosted"
    if isinstance(runs_on, list):
        return any(targets_self_hosted(label) if isinstance(label, str) else True for label in runs_on)
    # A mapping (`group:` and/or `labels:`) selects self-hosted runners; anything else is unknown.
    return True


def workflow_events(on: object) -> frozenset[str]:
    if isinstance(on, str):
        return frozenset({on})
    if isinstance(on, list):
        return frozenset(str(event) for event in on)
    if isinstance(on, dict):
        return frozenset(str(event) for event in on)
    return frozenset()


def condition_events(condition: object, events: frozenset[str]) -> frozenset[str]:
    """The events a job's `if:` lets through. Only `&&` chains of `github.event_name ==/!= '...'`
    terms narrow the set; any other condition is assumed to let every event through."""
    if not isinstance(condition, str):
        return events
    text = condition.strip().removeprefix("${{").removesuffix("}}").strip()
    if "||" in text:
        return events
    allowed = set(events)
    for op, event in _EVENT_TERM.findall(text):
        allowed = allowed & {event} if op == "==" else allowed - {event}
    return frozenset(allowed)


def job_reach(workflow: dict[str, Any]) -> list[JobReach]:
    """Every job with the events that can start it: the workflow's triggers, narrowed by the job's
    own `if:` and by the jobs it `needs` (a job runs only when each job it needs ran)."""
    # ruamel (YAML 1.2) reads `on` as a string; a YAML 1.1 reader would make it True.
    triggers = workflow_events(workflow.get("on", workflow.get(True)))
    jobs = workflow.get("jobs") or {}
    resolved: dict[str, frozenset[str]] = {}

    def events_of(name: str, seen: tuple[str, ...] = ()) -> frozenset[str]:
        if name in resolved:
            return resolved[name]
        job = jobs.get(name) or {}
        events = condition_events(job.get("if"), triggers)
        needs = job.get("needs") or []
        for needed in [needs] if isinstance(needs, str) else needs:
            if needed in jobs and needed not in seen:
                events &= events_of(needed, (*seen, name))
        resolved[name] = events
        return events

    reach = []
    for name, job in jobs.items():
        job = job or {}
        line = job.lc.line + 1 if hasattr(job, "lc") else None
        # A reusable workflow's jobs choose their own runners: count the call as unknown.
        runs_on = job.get("runs-on", {"uses": job["uses"]} if "uses" in job else None)
        reach.append(JobReach(str(name), events_of(name), runs_on, line))
    return reach


def pull_request_reach(path: Path) -> list[JobReach]:
    """The jobs of one workflow file that a pull-request event can start on a self-hosted runner."""
    workflow = YAML(typ="rt").load(path.read_text()) or {}
    return [job for job in job_reach(workflow) if job.pull_request_events and job.self_hosted]


class PullRequestRunners(Check):
    """No job that a pull request can start (`pull_request`, `pull_request_target`, `issue_comment`,
    `workflow_run` and the like, through `needs` and `if: github.event_name` too) runs on a
    self-hosted runner: a `self-hosted` label, a runner group or an expression in `runs-on`."""

    name = "pull-request runners"
    WORKFLOWS = (".github/workflows/*.yml", ".github/workflows/*.yaml")

    def applies(self, ctx: LintContext) -> bool:
        return bool(ctx.files(*self.WORKFLOWS))

    def run(self, ctx: LintContext) -> list[Finding]:
        findings = []
        for path in ctx.files(*self.WORKFLOWS):
            try:
                reached = pull_request_reach(path)
            except (YAMLError, OSError, AttributeError) as error:
                findings.append(self.finding(path, None, f"cannot read the workflow: {error}", ctx))
                continue
            for job in reached:
                events = ", ".join(sorted(job.pull_request_events))
                findings.append(
                    self.finding(
                        path,
                        job.line,
                        f"job {job.job} can be started by {events} and runs on a self-hosted runner "
                        f"({job.runs_on}); run it on a GitHub-hosted runner or only on push events",
                        ctx,
                    )
                )
        return findings
