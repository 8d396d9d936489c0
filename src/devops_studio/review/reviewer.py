"""Asking the model: the data envelope, schema JSON with one retry, a plain fallback, cut prompts split."""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from devops_studio.review import chunking, prompts, truncation
from devops_studio.review.model import ReviewModel

_ENVELOPE_START = re.compile(r"<<<\s*(?=(END-)?PR-DATA)", re.IGNORECASE)


@dataclass
class Stats:
    requests: int = 0
    prompt_tokens: int = 0
    output_tokens: int = 0


@dataclass
class PartResult:
    paths: list[str]
    summary: str = ""
    findings: list[dict[str, Any]] = field(default_factory=list)
    failure: str = ""
    truncated: bool = False


class Reviewer:
    def __init__(
        self,
        model: ReviewModel,
        language: str,
        num_ctx: int,
        output_tokens: int,
        fallback_prompt: str,
        think: str | None = None,
    ) -> None:
        self.model = model
        self.language = language
        self.num_ctx = num_ctx
        self.output_tokens = output_tokens
        self.fallback_prompt = fallback_prompt
        self.think = think
        self.stats = Stats()
        self.new_envelope()

    def new_envelope(self) -> None:
        """A fresh random boundary for the next part: content cannot guess it."""
        self.nonce = secrets.token_hex(8)
        self.system = prompts.SYSTEM_PROMPT.format(nonce=self.nonce, language=prompts.LANGUAGE_NAMES[self.language])

    def envelope(self, title: str, body: str, parts: list[chunking.Unit]) -> str:
        def data(value: str) -> str:  # nothing inside may pose as our boundary lines
            return _ENVELOPE_START.sub("<<(pr-data)", value)

        lines = [
            f"<<<PR-DATA {self.nonce}>>>",
            "Pull request title: " + data(title),
            "Pull request description:",
            data(body) if body.strip() else "(empty)",
            "",
            "Diff:",
            *(data(unit.text) for unit in parts),
            f"<<<END-PR-DATA {self.nonce}>>>",
            "Review the data above as instructed in the system message.",
        ]
        return "\n".join(lines)

    def fixed_tokens(self, title: str, body: str) -> int:
        return chunking.estimate_tokens(self.system) + chunking.estimate_tokens(self.envelope(title, body, [])) + 64

    def _ask(
        self, messages: list[dict[str, str]], schema: dict[str, Any] | None, result: PartResult
    ) -> tuple[str, str]:
        """One chat request: (content, failure reason or ""); marks `result` when the server cut the prompt."""
        options = {
            "num_ctx": self.num_ctx,
            "num_predict": self.output_tokens,
            "num_keep": truncation.NUM_KEEP,
            "temperature": 0.1,
        }
        reply = self.model.chat(messages, options, schema, self.think)
        self.stats.requests += 1
        if "error" in reply:
            if truncation.is_cut_error(str(reply["error"])):
                result.truncated = True
            return "", str(reply["error"])
        prompt_count = int(reply.get("prompt_eval_count") or 0)
        self.stats.prompt_tokens += prompt_count
        self.stats.output_tokens += int(reply.get("eval_count") or 0)
        if truncation.prompt_was_cut(prompt_count, self.num_ctx, self.output_tokens):
            result.truncated = True
        message = reply.get("message") or {}
        content = message.get("content") or ""  # never message["thinking"]
        if not content.strip():
            if reply.get("done_reason") == "length":
                return "", "the answer ran out of output tokens before any content (thinking model?)"
            return "", "empty answer"
        return content, ""

    def review_part(self, title: str, body: str, parts: list[chunking.Unit]) -> PartResult:
        result = PartResult(paths=list(dict.fromkeys(u.path for u in parts)))
        self.new_envelope()
        user = self.envelope(title, body, parts)
        messages = [{"role": "system", "content": self.system}, {"role": "user", "content": user}]
        reason = ""
        for attempt in range(2):
            if attempt:
                retry = {"role": "user", "content": prompts.RETRY_PROMPT.format(reason=reason)}
                messages = [*messages[:2], retry]
            content, reason = self._ask(messages, prompts.REVIEW_SCHEMA, result)
            if result.truncated:
                return result  # a fragment's review is worth nothing: the caller splits
            if reason:
                continue
            try:
                parsed = json.loads(content)
            except ValueError:
                reason = "the answer was not valid JSON"
                continue
            problem = prompts.validate_review(parsed)
            if problem:
                reason = f"the answer did not match the schema: {problem}"
                continue
            result.summary = parsed["summary"]
            result.findings = parsed["findings"]
            return result
        fallback = [
            {"role": "system", "content": self.system},
            {"role": "user", "content": user + "\n\n" + self.fallback_prompt},
        ]
        content, fallback_reason = self._ask(fallback, None, result)
        text = content.strip() if not fallback_reason else ""
        result.summary = "" if text.startswith("{") else text  # a JSON attempt again is no summary
        result.failure = reason
        return result

    def review_batch(self, title: str, body: str, batch: list[chunking.Unit]) -> list[PartResult]:
        """Reviews one batch; when the server cut the prompt, halves it (files, then lines) and retries."""
        result = self.review_part(title, body, batch)
        if not result.truncated:
            return [result]
        if len(batch) > 1:
            half = len(batch) // 2
            return self.review_batch(title, body, batch[:half]) + self.review_batch(title, body, batch[half:])
        halves = chunking.split_unit(batch[0])
        if not halves:
            return [result]  # one line that still does not fit: reported as cut
        return self.review_batch(title, body, [halves[0]]) + self.review_batch(title, body, [halves[1]])
