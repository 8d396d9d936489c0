"""Spotting a prompt the Ollama server cut to fit its context window.

Ollama cuts an over-long prompt silently; the only trace is `prompt_eval_count` in the reply, and
what it shows depends on the server version (read from ollama/ollama's source):

- up to 0.29.x, `runner/ollamarunner/runner.go` and `runner/llamarunner/runner.go` (`NewSequence`):
  a prompt of more than num_ctx tokens keeps its first num_keep tokens and its tail, num_ctx tokens in
  all, so `prompt_eval_count == num_ctx`;
- 0.30.0 to 0.30.10, `llm/llama_server.go` (`completionPromptForRequest`): cut to num_ctx - 1;
- since 0.30.11, the same function with `contextShiftPromptLimit`: cut to
  `num_ctx - max((num_ctx - keep) / 2, 1)`, about half the window, where keep is num_keep (plus one
  when the tokenizer adds a BOS token). The count then sits far below num_ctx, so a check against
  the window alone never fires. Since 0.30.0 the count is `cache_n + prompt_n`, cached tokens
  included, so the value is exact.
- since 0.30.0, a model without context shift answers 400 "the prompt is longer than the context
  length ..." instead.

The Go lines are quoted in tests/fakes/ollama_upstream.md. There is no /api/tokenize in these
versions, so the reviewer sends num_keep itself and compares the
count with the values a cut produces. A prompt that happens to be exactly that long is treated as cut
too; the price is one more split, never a silent fragment.
"""

from __future__ import annotations

NUM_KEEP = 4  # Ollama's default num_keep; sent explicitly so the cut sizes are known

CUT_ERROR_FRAGMENTS = ("longer than the context length", "exceeds the context length")


def cut_sizes(num_ctx: int, num_keep: int = NUM_KEEP) -> set[int]:
    """Every `prompt_eval_count` a cut prompt can report on the Ollama versions above."""
    sizes = {num_ctx, num_ctx - 1}
    for keep in (num_keep, num_keep + 1):  # + 1: a tokenizer that adds BOS
        keep = max(0, min(keep, num_ctx - 1))
        sizes.add(num_ctx - max((num_ctx - keep) // 2, 1))
    return sizes


def prompt_was_cut(prompt_eval_count: int, num_ctx: int, room: int, num_keep: int = NUM_KEEP) -> bool:
    """True when the reply's count shows a cut prompt.

    `room` is what the reviewer left free for the answer: its own prompts never reach past
    num_ctx - room, so a count there means the tokenizer was denser than estimated (old servers).
    """
    if prompt_eval_count > num_ctx - room:
        return True
    return prompt_eval_count in cut_sizes(num_ctx, num_keep)


def is_cut_error(message: str) -> bool:
    return any(fragment in message for fragment in CUT_ERROR_FRAGMENTS)
