"""The Ollama test server keeps the published contract (checked with a plain HTTP client)."""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ollama_api import ChatReply, OllamaServer, count_tokens  # noqa: E402


def call(url: str, method: str = "GET", body: object | None = None) -> tuple[int, list[dict]]:
    """Returns the status and every JSON object of the answer (one, or each NDJSON line)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            status, text = resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        status, text = exc.code, exc.read().decode()
    return status, [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture
def ollama():
    with OllamaServer() as server:
        yield server


def test_version_tags_and_show(ollama):
    ollama.add_model("gpt-oss:20b", family="gptoss", num_ctx=8192, parameters={"temperature": 0.2}, thinking=True)
    assert call(ollama.url + "/api/version") == (200, [{"version": ollama.version}])
    status, [tags] = call(ollama.url + "/api/tags")
    assert status == 200 and [m["name"] for m in tags["models"]] == ["gpt-oss:20b"]
    assert tags["models"][0]["details"]["family"] == "gptoss"
    status, [show] = call(ollama.url + "/api/show", "POST", {"model": "gpt-oss:20b"})
    assert status == 200
    assert [line.split() for line in show["parameters"].splitlines()] == [
        ["temperature", "0.2"],
        ["num_ctx", "8192"],
    ]
    assert show["model_info"]["gptoss.context_length"] == 8192
    assert "thinking" in show["capabilities"]


def test_errors_follow_the_contract(ollama):
    assert call(ollama.url + "/api/show", "POST", {"model": "nope"}) == (
        404,
        [{"error": "model 'nope:latest' not found"}],
    )
    assert call(ollama.url + "/api/delete", "DELETE", {"model": "nope"})[0] == 404
    status, [err] = call(ollama.url + "/api/chat", "POST", {"messages": []})
    assert status == 400 and "model is required" in err["error"]
    status, [err] = call(ollama.url + "/api/create", "POST", {"model": "x", "from": "missing"})
    assert status == 404 and "not found" in err["error"]


def test_pull_streams_progress_and_can_fail_after_200(ollama):
    ollama.add_remote("qwen3:14b", layers=[1000, 20])
    status, lines = call(ollama.url + "/api/pull", "POST", {"model": "qwen3:14b"})
    assert status == 200
    assert lines[0] == {"status": "pulling manifest"}
    assert lines[-1] == {"status": "success"}
    assert {"verifying sha256 digest", "writing manifest"} <= {ln["status"] for ln in lines}
    assert any(ln.get("completed") == ln.get("total") == 1000 for ln in lines)
    assert "qwen3:14b" in ollama.models

    ollama.add_remote("llama3.1:8b")
    ollama.fail_pull("llama3.1:8b", after=3, error="max retries exceeded")
    status, lines = call(ollama.url + "/api/pull", "POST", {"model": "llama3.1:8b"})
    assert status == 200 and len(lines) == 4 and lines[-1] == {"error": "max retries exceeded"}
    assert "llama3.1:8b" not in ollama.models

    assert call(ollama.url + "/api/pull", "POST", {"model": "unknown", "stream": False})[0] == 404
    ollama.add_remote("phi4")
    assert call(ollama.url + "/api/pull", "POST", {"model": "phi4", "stream": False}) == (
        200,
        [{"status": "success"}],
    )


def test_create_then_delete(ollama):
    ollama.add_model("qwen3:14b", num_ctx=4096)
    status, lines = call(
        ollama.url + "/api/create",
        "POST",
        {
            "model": "reviewer",
            "from": "qwen3:14b",
            "system": "You review code.",
            "parameters": {"num_ctx": 16384, "temperature": 0.1},
        },
    )
    assert status == 200 and lines[-1] == {"status": "success"}
    _, [show] = call(ollama.url + "/api/show", "POST", {"model": "reviewer"})
    assert "num_ctx                        16384" in show["parameters"]
    assert show["system"] == "You review code." and show["details"]["parent_model"] == "qwen3:14b"
    assert call(ollama.url + "/api/delete", "DELETE", {"model": "reviewer"})[0] == 200
    assert call(ollama.url + "/api/show", "POST", {"model": "reviewer"})[0] == 404


def test_chat_truncates_silently_past_num_ctx(ollama):
    ollama.prompt_cache = False  # the same prompt twice: count it in full both times
    ollama.add_model("small", num_ctx=64)
    long_text = " ".join(f"w{i}" for i in range(200))
    status, [reply] = call(
        ollama.url + "/api/chat",
        "POST",
        {"model": "small", "stream": False, "messages": [{"role": "user", "content": long_text}]},
    )
    assert status == 200 and reply["prompt_eval_count"] == 64
    assert ollama.chat_requests[-1]["truncated"] is True
    status, [reply] = call(
        ollama.url + "/api/chat",
        "POST",
        {
            "model": "small",
            "stream": False,
            "options": {"num_ctx": 1024},
            "messages": [{"role": "user", "content": long_text}],
        },
    )
    assert reply["prompt_eval_count"] == count_tokens(long_text) + 4
    assert ollama.chat_requests[-1]["truncated"] is False


def test_chat_scripted_replies_stream_and_schema(ollama):
    ollama.add_model("m", thinking=True)
    ollama.queue_reply(content="not json")
    ollama.queue_reply(ChatReply(content="", thinking="let me think", done_reason="length"))
    ollama.queue_reply(lambda body: json.dumps({"echo": body["messages"][-1]["content"]}))
    msgs = [{"role": "user", "content": "hi"}]
    _, [first] = call(ollama.url + "/api/chat", "POST", {"model": "m", "messages": msgs, "stream": False})
    assert first["message"]["content"] == "not json" and first["done_reason"] == "stop"
    status, lines = call(ollama.url + "/api/chat", "POST", {"model": "m", "messages": msgs})
    assert status == 200 and lines[-1]["done"] is True and lines[-1]["done_reason"] == "length"
    assert "".join(ln["message"].get("thinking", "") for ln in lines[:-1]) == "let me think"
    assert "".join(ln["message"]["content"] for ln in lines) == ""
    _, lines = call(ollama.url + "/api/chat", "POST", {"model": "m", "messages": msgs})
    assert json.loads("".join(ln["message"]["content"] for ln in lines)) == {"echo": "hi"}
    schema = {
        "type": "object",
        "required": ["summary", "findings"],
        "properties": {"summary": {"type": "string"}, "findings": {"type": "array"}},
    }
    _, [reply] = call(
        ollama.url + "/api/chat", "POST", {"model": "m", "messages": msgs, "stream": False, "format": schema}
    )
    assert json.loads(reply["message"]["content"]) == {"summary": "", "findings": []}
    assert len(ollama.chat_requests) == 4 and ollama.chat_requests[-1]["body"]["format"] == schema


def test_a_repeated_prompt_prefix_is_served_from_the_cache(ollama):
    ollama.add_model("m", num_ctx=4096)
    system = {"role": "system", "content": "You review code carefully."}
    first = [system, {"role": "user", "content": "one two three"}]
    second = [system, {"role": "user", "content": "four five"}]
    _, [a] = call(ollama.url + "/api/chat", "POST", {"model": "m", "messages": first, "stream": False})
    _, [b] = call(ollama.url + "/api/chat", "POST", {"model": "m", "messages": second, "stream": False})
    assert a["prompt_eval_count"] == count_tokens(system["content"]) + 4 + 3 + 4
    # The system message came from the cache, and the count still includes it (v0.12.6
    # runner/ollamarunner/runner.go numPromptInputs; v0.30+ llm/llama_server.go cache_n + prompt_n).
    assert b["prompt_eval_count"] == count_tokens(system["content"]) + 4 + 2 + 4
    assert ollama.chat_requests[1]["cached_tokens"] == count_tokens(system["content"]) + 4


def test_stream_errors_follow_stream_response(ollama):
    """server/routes.go streamResponse: an error before any line is a status; after one, an error line."""
    ollama.add_model("m")
    msgs = [{"role": "user", "content": "hi"}]
    ollama.queue_reply(ChatReply(content="", error_mid_stream=True))
    assert call(ollama.url + "/api/chat", "POST", {"model": "m", "messages": msgs}) == (
        500,
        [{"error": "model runner has unexpectedly stopped"}],
    )
    ollama.queue_reply(ChatReply(content="a long enough answer to come in pieces", error_mid_stream=True))
    status, lines = call(ollama.url + "/api/chat", "POST", {"model": "m", "messages": msgs})
    assert status == 200 and lines[0]["done"] is False
    assert lines[-1] == {"error": "model runner has unexpectedly stopped"}


def test_a_dropped_connection_leaves_the_answer_incomplete(ollama):
    import http.client

    ollama.add_model("m")
    ollama.queue_reply(ChatReply(content="a long enough answer to come in pieces", drop=True))
    with pytest.raises(http.client.IncompleteRead):
        call(ollama.url + "/api/chat", "POST", {"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    ollama.add_remote("qwen3:14b", layers=[1000, 20])
    ollama.fail_pull("qwen3:14b", after=2, drop=True)
    with pytest.raises(http.client.IncompleteRead):
        call(ollama.url + "/api/pull", "POST", {"model": "qwen3:14b"})
    assert "qwen3:14b" not in ollama.models
