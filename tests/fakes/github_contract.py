"""Every request the fake GitHub server receives and every answer it sends, checked against the part
of GitHub's published REST description vendored in tests/contracts/github-rest-subset.json.

Any route is checked as long as its operation is in the vendored part (add its operationId to
tests/contracts/operations.txt and run the extraction script); a request to a path the description
does not have is a violation too. Violations are collected and the server raises them at `stop()`.
Answers are checked strictly by default (`strict_answers`): an answer the description does not allow
is a violation, like a request. With `strict_answers=False` such answers only go to `answer_gaps`.
The fake fills the fields it does not model from the schema first (github_objects.py).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from openapi_core import OpenAPI
from openapi_core.templating.paths.exceptions import PathNotFound
from openapi_core.testing import MockRequest, MockResponse

SUBSET = Path(__file__).resolve().parents[1] / "contracts" / "github-rest-subset.json"


@functools.cache
def _openapi() -> OpenAPI:
    # Checking the description itself takes seconds: once per test process.
    return OpenAPI.from_dict(json.loads(SUBSET.read_text()))


class ContractChecker:
    def __init__(self, base_url: str, strict_answers: bool = False) -> None:
        self.base_url = base_url
        self.openapi = _openapi()
        self.strict_answers = strict_answers
        self.violations: list[str] = []
        self.answer_gaps: list[str] = []

    def _answer_gap(self, text: str) -> None:
        (self.violations if self.strict_answers else self.answer_gaps).append(text)

    def check(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
        body: bytes,
        status: int,
        answer: bytes,
        answer_headers: dict[str, str],
    ) -> None:
        # GitHub's description does not list its error answers (403 rate limits, 5xx) for every
        # operation; a request the server refused before handling it has nothing to check.
        request = MockRequest(
            self.base_url,
            method.lower(),
            path,
            args={key: values[-1] for key, values in query.items()},
            headers=headers,
            data=body or None,
            content_type=headers.get("content-type", "application/json").split(";")[0],
        )
        try:
            self.openapi.validate_request(request)
        except PathNotFound:
            self.violations.append(f"{method} {path}: not an operation of the vendored description")
            return
        except Exception as error:  # openapi-core's validation errors have no common narrower base
            if status < 400:  # GitHub itself refuses bad requests; the fake answering 2xx to one is wrong
                self.violations.append(f"request {method} {path}: {_explain(error)}")
            return
        if status >= 500 or status in (403, 429) and "retry-after" in {k.lower() for k in answer_headers}:
            return
        content_type = answer_headers.get("Content-Type", "application/json").split(";")[0]
        if content_type.startswith("application/vnd.github.") and content_type in headers.get("accept", ""):
            # A media type the client asked for (diff, patch, raw): GitHub documents these per
            # operation in prose ("Custom media types"), not as a schema; the text has nothing to check.
            return
        response = MockResponse(answer, status_code=status, headers=answer_headers, content_type=content_type)
        try:
            self.openapi.validate_response(request, response)
        except Exception as error:
            if status >= 400 and "Unknown response http status" in str(error):
                # The description lists only some error statuses per operation; any error GitHub
                # sends still has its basic-error shape.
                if not _is_basic_error(answer):
                    self.violations.append(f"answer {status} to {method} {path}: not GitHub's error shape")
                return
            self._answer_gap(f"answer {status} to {method} {path}: {_explain(error)}")


def _is_basic_error(answer: bytes) -> bool:
    try:
        body = json.loads(answer)
    except ValueError:
        return False
    return isinstance(body, dict) and isinstance(body.get("message"), str)


def _explain(error: Exception) -> str:
    causes = [str(error)]
    inner = getattr(error, "__cause__", None)
    while inner is not None and len(causes) < 4:
        details = getattr(inner, "schema_errors", None)
        causes.append("; ".join(str(e.message) for e in details) if details else str(inner))
        inner = inner.__cause__
    return " <- ".join(causes)[:1500]
