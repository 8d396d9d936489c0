"""The test server cuts prompts with Ollama's own arithmetic, checked against Ollama's own table.

`TestContextShiftPromptLimit` of llm/llama_server_test.go, ollama/ollama v0.32.15 (commit
b7871fc0d1d82fe109536efa3e0e8e411c766c75), cases copied as they are; the Go source the fake follows
is quoted in tests/fakes/ollama_upstream.md.
"""

from __future__ import annotations

import pytest

from devops_studio.review.truncation import cut_sizes
from tests.fakes.ollama_api import context_shift_prompt_limit, cut_length

OLLAMA_CONTEXT_SHIFT_CASES = {
    "small context reserves half after keep": (8, 3, 6),
    "issue 16618 context preserves generation headroom": (4096, 4, 2050),
    "issue 16618 with implicit BOS keep": (4096, 5, 2051),
    "keep is clamped below context": (8, 99, 7),
    "negative keep is treated as zero": (8, -1, 4),
    "invalid context has no prompt budget": (1, 0, 0),
}


@pytest.mark.parametrize(("num_ctx", "num_keep", "want"), OLLAMA_CONTEXT_SHIFT_CASES.values(),
                         ids=OLLAMA_CONTEXT_SHIFT_CASES.keys())  # fmt: skip
def test_context_shift_prompt_limit_is_ollamas(num_ctx, num_keep, want):
    assert context_shift_prompt_limit(num_ctx, num_keep) == want


@pytest.mark.parametrize(
    ("version", "adds_bos", "want"),
    [("0.12.6", True, 4096), ("0.30.10", True, 4095), ("0.30.11", False, 2050), ("0.32.15", True, 2051)],
)
def test_each_named_version_cuts_an_over_long_prompt_as_its_source_does(version, adds_bos, want):
    assert cut_length(version, 10_000, 4096, 4, adds_bos) == want
    assert cut_length(version, 100, 4096, 4, adds_bos) == 100
    assert want in cut_sizes(4096), "the reviewer knows every count a cut prompt can report"


def test_a_negative_num_keep_keeps_the_whole_start_as_ollama_does():
    # nKeep < 0 -> len(tokens), then clamped to num_ctx - 1: the limit is num_ctx - 1.
    assert cut_length("0.32.15", 10_000, 4096, -1, True) == 4095
    assert cut_length("0.12.6", 10_000, 4096, -1, True) == 4096
