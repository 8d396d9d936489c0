"""The CLI's Ollama client against failures in the middle of an answer, as Ollama sends them.

An error after the 200 status line arrives as an `{"error": ...}` line of the stream
(server/routes.go `streamResponse`, quoted in tests/fakes/ollama_upstream.md); a server that stops
or a proxy that cuts the answer closes the connection with the answer half sent. Neither is
"cannot reach Ollama".
"""

from __future__ import annotations

import pytest

from devops_studio.ollama.client import Ollama, OllamaDropped, OllamaError, OllamaUnreachable
from tests.fakes.ollama_api import ChatReply, OllamaServer


@pytest.fixture
def ollama():
    with OllamaServer(version="0.32.15") as server:
        server.add_model("m", num_ctx=4096)
        server.add_remote("big:20b", layers=[4000, 200, 30])
        yield server


def chat(server: OllamaServer) -> dict:
    return Ollama(server.url).chat({"model": "m", "messages": [{"role": "user", "content": "hi"}]})


def test_an_error_line_in_a_pull_stream_is_reported_with_the_servers_text(ollama):
    ollama.fail_pull("big:20b", after=3, error="max retries exceeded: unexpected EOF")
    with pytest.raises(OllamaError) as caught:
        Ollama(ollama.url).pull("big:20b")
    assert str(caught.value) == "max retries exceeded: unexpected EOF"
    assert not isinstance(caught.value, OllamaUnreachable)


def test_a_pull_stream_cut_off_is_a_dropped_connection_not_an_unreachable_server(ollama):
    ollama.fail_pull("big:20b", after=4, drop=True)
    seen = []
    with pytest.raises(OllamaDropped) as caught:
        Ollama(ollama.url).pull("big:20b", progress=seen.append)
    message = str(caught.value)
    assert len(seen) == 4, "the lines before the cut were read"
    assert f"Ollama at {ollama.url}" in message and "closed in the middle of the answer to /api/pull" in message
    assert "cannot reach" not in message
    assert "big:20b" not in ollama.models


def test_a_chat_answer_cut_off_is_a_dropped_connection(ollama):
    ollama.queue_reply(ChatReply(content='{"summary": "ok", "findings": []}', drop=True))
    with pytest.raises(OllamaDropped) as caught:
        chat(ollama)
    assert "closed in the middle of the answer to /api/chat" in str(caught.value)
    ollama.queue_reply(content="fine")
    assert chat(ollama)["message"]["content"] == "fine", "the next request works again"


def test_a_runner_failure_during_a_chat_is_the_servers_status_and_text(ollama):
    ollama.queue_reply(ChatReply(content="half an answer", error_mid_stream=True))
    with pytest.raises(OllamaError) as caught:
        chat(ollama)
    assert str(caught.value) == "Ollama answered 500 to /api/chat: model runner has unexpectedly stopped"
