"""Cut prompts on old and current Ollama: the test server follows a named version, the reviewer notices."""

from __future__ import annotations

import json

import pytest

from devops_studio.review.truncation import cut_sizes, prompt_was_cut

from .llm_review_support import OllamaServer, answer_with_findings, envelope_lines, summary_comments

VERSIONS = ["0.12.6", "0.30.10", "0.32.15"]


def chat(server: OllamaServer, words: int, num_ctx: int = 256, **options) -> dict:
    import urllib.request

    body = {"model": "m", "stream": False, "options": {"num_ctx": num_ctx, **options},
            "messages": [{"role": "user", "content": " ".join(f"w{i}" for i in range(words))}]}  # fmt: skip
    request = urllib.request.Request(server.url + "/api/chat", json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


@pytest.mark.parametrize(
    ("version", "expected"), [("0.12.6", 256), ("0.30.10", 255), ("0.30.11", 256 - (256 - 5) // 2), ("0.32.15", 131)]
)
def test_the_test_server_cuts_like_the_named_ollama_version(version, expected):
    with OllamaServer(version=version) as server:
        server.add_model("m")
        assert chat(server, 1000)["prompt_eval_count"] == expected
        assert chat(server, 10)["prompt_eval_count"] == 14  # short prompts are never cut
        assert expected in cut_sizes(256)


def test_current_ollama_without_context_shift_refuses_instead():
    import urllib.error

    with OllamaServer(version="0.32.15") as server:
        server.add_model("m", context_shift=False)
        with pytest.raises(urllib.error.HTTPError) as caught:
            chat(server, 1000)
        assert caught.value.code == 400 and "longer than the context length" in caught.value.read().decode()


def test_the_old_check_alone_never_fires_on_current_ollama():
    """The check the review used before (count > num_ctx - room) misses the half-window cut."""
    num_ctx, room = 4096, 1024
    current_cut = 4096 - (4096 - 5) // 2
    assert not current_cut > num_ctx - room
    assert prompt_was_cut(current_cut, num_ctx, room)
    assert prompt_was_cut(num_ctx, num_ctx, room) and prompt_was_cut(num_ctx - 1, num_ctx, room)
    assert not prompt_was_cut(1500, num_ctx, room)


@pytest.mark.parametrize("version", VERSIONS)
def test_prompts_cut_by_the_server_are_split_and_reported(workspace, github, review, version):
    with OllamaServer(version=version) as server:
        server.add_model("wide-tokens:8b", num_ctx=4096)
        server.tokenizer = len  # one token per character: far denser than the reviewer's estimate
        head = {
            f"lib/part_{i}.py": "".join(f"value_{i}_{n} = compute({n}, 'x' * {n})\n" for n in range(40))
            for i in range(6)
        }
        head["lib/huge.py"] = "".join(f"item_{n} = {{'key': {n}, 'name': 'n{n}'}}\n" for n in range(400))
        workspace.open_pull({"README.md": "x\n"}, head)
        server.default_reply = answer_with_findings
        assert review(model="wide-tokens:8b", ollama_url=server.url)[0] == 0
        requests = server.chat_requests
        cut = [r for r in requests if r["truncated"]]
        assert cut, "the scenario must make the server cut prompts"
        assert all(r["body"]["options"]["num_keep"] == 4 for r in requests)
        # Each cut request was sent again in smaller parts, until the parts fit.
        shown = [frozenset(envelope_lines(r["body"])) for r in requests]
        for i, request in enumerate(requests):
            if request["truncated"] and len(shown[i]) > 1:
                assert any(shown[j] and shown[j] < shown[i] for j in range(i + 1, len(requests)))
        reviewed = set().union(*(shown[i] for i, r in enumerate(requests) if not r["truncated"]))
        assert {p for p, _, _ in reviewed} == set(head)
        [summary] = summary_comments(github)
        if any(r["truncated"] and len(shown[i]) <= 1 for i, r in enumerate(requests)):
            assert "cut the input" in summary["body"]
