"""One pull request end to end: read the diff through the API, ask the model, post the result."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from devops_studio.review import chunking, diff, markers, summary
from devops_studio.review.github import GitHubError, ReviewGitHub
from devops_studio.review.model import ModelUnavailable, ReviewModel
from devops_studio.review.reviewer import PartResult, Reviewer
from devops_studio.review.sanitize import code_span, one_line
from devops_studio.review.settings import ReviewSettings
from devops_studio.review.texts import TEXT

MAX_BODY_CHARS = 3000


@dataclass(frozen=True)
class Outcome:
    ok: bool  # False: the review could not run (model missing, Ollama down)
    message: str


def _sizes(settings: ReviewSettings, info_num_ctx: int, thinking: bool) -> int:
    output = min(settings.max_output_tokens, info_num_ctx // 4)
    if thinking:  # thinking spends output tokens before the answer: leave it more room
        output = min(max(settings.max_output_tokens, 4096), info_num_ctx // 3)
    return output


def review_pull(
    github: ReviewGitHub, model: ReviewModel, settings: ReviewSettings, repo: str, pull: dict[str, Any]
) -> Outcome:
    started = time.monotonic()
    text = TEXT[settings.language]
    number, head_sha = int(pull["number"]), str(pull["head"]["sha"])
    changed = diff.from_listing(github.files(repo, number))
    try:
        info = model.info(settings.fallback_num_ctx)
    except ModelUnavailable as error:
        return _unavailable(github, settings, repo, number, head_sha, changed, error)

    output_tokens = _sizes(settings, info.num_ctx, info.thinking)
    think = "low" if info.thinking and info.family.replace("-", "") == "gptoss" else None
    reviewer = Reviewer(model, settings.language, info.num_ctx, output_tokens, text["fallback_prompt"], think)
    title = str(pull.get("title") or "")[:300]
    description = str(pull.get("body") or "")
    if len(description) > MAX_BODY_CHARS:
        description = description[:MAX_BODY_CHARS] + "\n…(description cut)"
    budget = info.num_ctx - output_tokens - reviewer.fixed_tokens(title, description)
    if budget < 200:  # a long description must not leave no room for the code
        description = description[: len(description) // 4] + "\n…(description cut)"
        budget = info.num_ctx - output_tokens - reviewer.fixed_tokens(title, description)
    if budget < 100:
        error = ModelUnavailable(f"num_ctx {info.num_ctx} is too small to review anything; raise it in the profile")
        return _unavailable(github, settings, repo, number, head_sha, changed, error)

    units = [unit for file in changed.files for unit in chunking.file_units(file, budget)]
    batches = chunking.pack(units, budget)
    left_out = list(dict.fromkeys(u.path for batch in batches[settings.max_parts :] for u in batch))
    batches = batches[: settings.max_parts]
    results: list[PartResult] = []
    try:
        for batch in batches:
            results.extend(reviewer.review_batch(title, description, batch))
    except ModelUnavailable as error:
        return _unavailable(github, settings, repo, number, head_sha, changed, error)

    placed = summary.place_findings(results, changed)
    posted, inline_error = _post_inline(github, repo, number, head_sha, placed, text)
    footer = text["footer"].format(
        model=code_span(settings.model),
        num_ctx=info.num_ctx,
        requests=reviewer.stats.requests,
        prompt=reviewer.stats.prompt_tokens,
        output=reviewer.stats.output_tokens,
        seconds=time.monotonic() - started,
        sha=head_sha[:7],
    )
    run = summary.Run(
        changed,
        results,
        len(batches),
        left_out,
        settings.max_parts,
        placed,
        posted,
        inline_error,
        footer,
        sha=head_sha,
        model=settings.model,
    )
    github.upsert_summary(repo, number, summary.body(text, run))
    cut = sum(1 for r in results if r.truncated)
    return Outcome(True, f"{posted} inline comment(s), {reviewer.stats.requests} request(s), {cut} cut")


def _post_inline(
    github: ReviewGitHub, repo: str, number: int, head_sha: str, placed: summary.Findings, text: dict[str, str]
) -> tuple[int, str]:
    if not placed.inline:
        return 0, ""
    if github.reviewed_inline(repo, number, head_sha):
        return len(placed.inline), ""  # posted by us for this commit before (a restart); not twice
    body = f"{markers.inline_marker(head_sha)}\n{text['review_body'].format(sha=head_sha[:7])}"
    try:
        github.post_review(repo, number, head_sha, body, placed.inline)
    except GitHubError as error:  # should not happen (lines are checked); keep the findings visible
        placed.off_diff[:0] = [
            f"- {code_span(c['path'] + ':' + str(c['line']))} {one_line(c['body'])}" for c in placed.inline
        ]
        return 0, str(error)
    return len(placed.inline), ""


def _unavailable(
    github: ReviewGitHub,
    settings: ReviewSettings,
    repo: str,
    number: int,
    head_sha: str,
    changed: diff.ChangedFiles,
    error: ModelUnavailable,
) -> Outcome:
    text = TEXT[settings.language]
    if error.kind == "missing_model":
        message = text["missing_model"].format(model=code_span(settings.model))
    else:
        message = text["unreachable"].format(reason=one_line(str(error), 200))
    github.upsert_summary(repo, number, summary.notice(text, message, changed, head_sha, settings.model))
    return Outcome(False, str(error))
