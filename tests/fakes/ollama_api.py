"""A faithful Ollama API test server (standard library only).

It follows the published contract in Ollama's docs/api.md: JSON bodies, NDJSON streams that end
with a `done`/`success` object, errors as `{"error": "..."}` with the status codes the real server
uses (400 bad request, 404 model not found), and errors sent *after* a 200 in the middle of a
stream (as `/api/pull` does when a download breaks).

It also imitates the behaviour that bites real clients, following a NAMED server version
(`OllamaServer(version=...)`), as read in ollama/ollama's source:
- a prompt longer than the model's `num_ctx` is cut silently; the only trace is `prompt_eval_count`:
  * up to 0.29.x (`runner/ollamarunner/runner.go`, `NewSequence`, e.g. tag v0.12.6): the first
    `num_keep` tokens and the tail are kept, `num_ctx` tokens in all, so the count equals num_ctx;
  * 0.30.0 to 0.30.10 (`llm/llama_server.go`, `completionPromptForRequest`, tag v0.30.10): cut to
    num_ctx - 1;
  * since 0.30.11 (same function with `contextShiftPromptLimit`, tags v0.30.11 to v0.32.15): cut
    to `num_ctx - max((num_ctx - keep) / 2, 1)`, about half the window, keep = num_keep (default 4)
    plus one when the tokenizer adds BOS (`Model.adds_bos`);
  * since 0.30.0 a model without context shift (`Model.context_shift = False`) answers 400 "the
    prompt is longer than the context length ..." instead;
  (the lines are quoted, with tags and commits, in `ollama_upstream.md` next to this file)
  before any of that, `server/prompt.go` (`chatPrompt`) drops whole older messages (never system
  messages, never the last one) while the rendered chat is longer than num_ctx;
- `prompt_eval_count` counts the cached prefix too (0.12: `numPromptInputs` is set before the cache
  is used; 0.30+: `cache_n + prompt_n`), so a cache hit never makes it smaller;
- a streamed answer that fails after its first line ends with an `{"error": ...}` line (status 200
  already sent); one that fails before any line answers the status as JSON (`server/routes.go`,
  `streamResponse`). `ChatReply(error_mid_stream=True)` and `fail_pull` send the error line;
  `ChatReply(drop=True)` and `fail_pull(..., drop=True)` close the connection mid-answer instead, as
  a crashed server or a cutting proxy does;
- there is no `/api/tokenize` in these versions (404);
- thinking models can answer with an empty `content`, a `thinking` field and
  `done_reason: "length"`.

Tokens are counted by a small deterministic tokenizer (`count_tokens`): every run of word
characters and every other non-space character is one token. Tests use the same function to
check request sizes.

Usage in a test::

    with OllamaServer() as ollama:
        ollama.add_model("qwen3:14b", num_ctx=8192)
        ollama.queue_reply(content='{"summary": "ok"}')
        ... point the client at ollama.url ...
        assert ollama.chat_requests[0]["body"]["model"] == "qwen3:14b"
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

VERSION = "0.12.6"  # the default named version; CURRENT_VERSION is the newer behaviour
CURRENT_VERSION = "0.32.15"
DEFAULT_NUM_KEEP = 4  # api/types.go DefaultOptions
DEFAULT_NUM_CTX = 4096
# Tokens the real server adds around each chat message (role markers of the chat template).
MESSAGE_OVERHEAD_TOKENS = 4

_TOKEN_RE = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def count_tokens(text: str) -> int:
    """Deterministic stand-in for a model tokenizer: word runs and single symbols."""
    return len(_TOKEN_RE.findall(text or ""))


def prompt_tokens(messages: Iterable[dict[str, Any]]) -> int:
    """Tokens the server evaluates for a chat: every message plus its template overhead."""
    return sum(count_tokens(str(m.get("content", ""))) + MESSAGE_OVERHEAD_TOKENS for m in messages)


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("-", 1)[0].split("."))


def context_shift_prompt_limit(num_ctx: int, num_keep: int) -> int:
    """`contextShiftPromptLimit` of llm/llama_server.go (v0.30.11 and later), line for line."""
    if num_ctx <= 1:
        return 0
    num_keep = max(0, min(num_keep, num_ctx - 1))
    return num_ctx - max((num_ctx - num_keep) // 2, 1)


def cut_length(version: str, tokens: int, num_ctx: int, num_keep: int, adds_bos: bool) -> int:
    """How many tokens of a `tokens`-long prompt the named server version evaluates."""
    if num_keep < 0:  # every version: a negative num_keep keeps the whole prompt's start
        num_keep = tokens
    if version_tuple(version) < (0, 30, 0):
        return tokens if tokens <= num_ctx else num_ctx
    if tokens <= num_ctx - 1:
        return tokens
    if version_tuple(version) < (0, 30, 11):
        return num_ctx - 1
    keep = min(num_keep + (1 if adds_bos else 0), num_ctx - 1)
    return context_shift_prompt_limit(num_ctx, keep)


def normalise_name(name: str) -> str:
    """`llama3` and `llama3:latest` name the same model, as in Ollama."""
    name = name.strip()
    last = name.rsplit("/", 1)[-1]
    return name if ":" in last else f"{name}:latest"


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class Model:
    name: str
    family: str = "llama"
    parameter_size: str = "8.0B"
    quantization_level: str = "Q4_K_M"
    context_length: int = 8192
    parameters: dict[str, Any] = field(default_factory=dict)
    system: str = ""
    template: str = "{{ .Prompt }}"
    capabilities: list[str] = field(default_factory=lambda: ["completion"])
    size: int = 4_920_753_328
    parent_model: str = ""
    modified_at: str = field(default_factory=_now)
    adds_bos: bool = True  # the tokenizer adds a BOS token (counts towards num_keep since 0.30.11)
    context_shift: bool = True  # since 0.30.0 a model without it refuses an over-long prompt

    @property
    def digest(self) -> str:
        return _digest(self.name + json.dumps(self.parameters, sort_keys=True) + self.system)

    def details(self) -> dict[str, Any]:
        return {
            "parent_model": self.parent_model,
            "format": "gguf",
            "family": self.family,
            "families": [self.family],
            "parameter_size": self.parameter_size,
            "quantization_level": self.quantization_level,
        }

    def parameters_text(self) -> str:
        """The `parameters` string of /api/show: `%-30s %v` lines, lists repeated, strings quoted."""
        lines = []
        for key, value in self.parameters.items():
            for item in value if isinstance(value, list) else [value]:
                shown = json.dumps(item) if isinstance(item, str) else _plain(item)
                lines.append(f"{key:<30} {shown}")
        return "\n".join(lines)


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass
class ChatReply:
    """One scripted answer of /api/chat."""

    content: str | None = None
    thinking: str | None = None
    done_reason: str = "stop"
    eval_count: int | None = None
    status: int = 200  # a non-200 status answers `{"error": error}` instead
    error: str | None = None
    error_mid_stream: bool = False  # stream some content, then an error object after the 200
    drop: bool = False  # send part of the answer, then close the connection
    delay: float = 0.0


ReplySource = ChatReply | Callable[[dict[str, Any]], "ChatReply | str"]


def example_for_schema(schema: Any) -> Any:
    """A minimal instance of a JSON schema, as a constrained decoder would produce."""
    if not isinstance(schema, dict):
        return {}
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {k: example_for_schema(props.get(k, {})) for k in schema.get("required", [])}
    return {"array": [], "string": "", "integer": 0, "number": 0, "boolean": False}.get(kind)


class OllamaServer:
    """In-memory Ollama on 127.0.0.1:<free port>, served from a background thread."""

    def __init__(self, default_num_ctx: int = DEFAULT_NUM_CTX, version: str = VERSION) -> None:
        self.default_num_ctx = default_num_ctx
        self.version = version
        self.models: dict[str, Model] = {}
        # Models the fake registry can pull: name -> list of layer sizes in bytes.
        self.registry: dict[str, tuple[Model, list[int]]] = {}
        # name -> (after N progress lines, error; None: the connection is closed there instead)
        self.pull_errors: dict[str, tuple[int, str | None]] = {}
        self.replies: deque[ReplySource] = deque()
        self.default_reply: ReplySource | None = None
        # Tokenizers differ between models; tests may swap in a harsher one than `count_tokens`.
        self.tokenizer: Callable[[str], int] = count_tokens
        # A prompt that starts with the messages of the model's previous prompt reuses them from the
        # cache; recorded as `cached_tokens`. prompt_eval_count still counts them, as the server does.
        self.prompt_cache = True
        self._last_messages: dict[str, list[dict[str, Any]]] = {}
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> OllamaServer:
        handler = type("Handler", (_Handler,), {"server_state": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="ollama-fake", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> OllamaServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd, "server not started"
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- state set-up ----------------------------------------------------------------------------
    def add_model(self, name: str, *, num_ctx: int | None = None, thinking: bool = False, **kw: Any) -> Model:
        params = dict(kw.pop("parameters", {}) or {})
        if num_ctx is not None:
            params["num_ctx"] = num_ctx
        caps = kw.pop("capabilities", None) or (["completion", "thinking"] if thinking else ["completion"])
        model = Model(name=normalise_name(name), parameters=params, capabilities=caps, **kw)
        with self._lock:
            self.models[model.name] = model
        return model

    def add_remote(self, name: str, layers: list[int] | None = None, **kw: Any) -> None:
        """Make `name` pullable; `layers` are the byte sizes of its blobs."""
        model = Model(name=normalise_name(name), **kw)
        self.registry[model.name] = (model, layers or [2_000_000, 12_000, 4_800])

    def fail_pull(
        self, name: str, after: int, error: str = "max retries exceeded: unexpected EOF", *, drop: bool = False
    ) -> None:
        """Send `{"error": ...}` after `after` progress lines of a 200 stream (`drop`: close the
        connection there instead, with no error line and no end of the chunked body)."""
        self.pull_errors[normalise_name(name)] = (after, None if drop else error)

    def queue_reply(self, reply: ReplySource | None = None, **kw: Any) -> None:
        """Queue the next /api/chat answer: a ChatReply, its fields as keywords, or a callable."""
        self.replies.append(reply if reply is not None else ChatReply(**kw))

    # -- recorded traffic ------------------------------------------------------------------------
    def _record(self, entry: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.requests.append(entry)
        return entry

    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"] == "/api/chat"]

    # -- behaviour -------------------------------------------------------------------------------
    def num_ctx_for(self, model: Model, options: dict[str, Any]) -> int:
        value = options.get("num_ctx", model.parameters.get("num_ctx", self.default_num_ctx))
        return int(value)

    def next_reply(self, body: dict[str, Any]) -> ChatReply:
        with self._lock:
            source = self.replies.popleft() if self.replies else self.default_reply
        if source is None:
            fmt = body.get("format")
            if isinstance(fmt, dict):
                return ChatReply(content=json.dumps(example_for_schema(fmt)))
            return ChatReply(content="{}" if fmt == "json" else "OK.")
        reply = source(body) if callable(source) else source
        return ChatReply(content=reply) if isinstance(reply, str) else reply


class _Handler(BaseHTTPRequestHandler):
    server_state: OllamaServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet test output
        pass

    # -- plumbing --------------------------------------------------------------------------------
    def _body(self) -> tuple[dict[str, Any] | None, str]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        if not raw.strip():
            return None, raw
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            return {"__invalid__": str(exc)}, raw
        return (data if isinstance(data, dict) else {"__invalid__": "body is not an object"}), raw

    def _send_json(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str) -> None:
        self._send_json(status, {"error": message})

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _chunk(self, obj: Any) -> None:
        data = (json.dumps(obj) + "\n").encode()
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _drop(self) -> None:
        """Close the connection mid-answer: no end of the body, no error object."""
        self.wfile.flush()
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _dispatch(self, method: str) -> None:
        state = self.server_state
        path = self.path.split("?", 1)[0]
        body, raw = self._body() if method in ("POST", "DELETE") else (None, "")
        self._record = state._record(
            {"method": method, "path": path, "body": body, "raw": raw, "headers": dict(self.headers.items())}
        )
        routes: dict[tuple[str, str], Callable[[dict[str, Any]], None]] = {
            ("GET", "/api/version"): lambda b: self._send_json(200, {"version": state.version}),
            ("GET", "/api/tags"): self._tags,
            ("GET", "/api/ps"): lambda b: self._send_json(200, {"models": []}),
            ("POST", "/api/show"): self._show,
            ("POST", "/api/pull"): self._pull,
            ("POST", "/api/create"): self._create,
            ("DELETE", "/api/delete"): self._delete,
            ("POST", "/api/chat"): self._chat,
        }
        if (method, path) == ("GET", "/") or (method, path) == ("HEAD", "/"):
            data = b"Ollama is running"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if method == "GET":
                self.wfile.write(data)
            return
        route = routes.get((method, path))
        if route is None:
            known_paths = {p for _, p in routes}
            if path in known_paths:
                self._error(405, "method not allowed")
            else:
                self._error(404, "404 page not found")
            return
        if method in ("POST", "DELETE"):
            if body is None:
                self._error(400, "missing request body")
                return
            if "__invalid__" in body:
                self._error(400, body["__invalid__"])
                return
        route(body or {})

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch("GET")

    def do_HEAD(self) -> None:  # noqa: N802
        self._dispatch("HEAD")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch("DELETE")

    # -- endpoints -------------------------------------------------------------------------------
    def _model_name(self, body: dict[str, Any]) -> str | None:
        name = body.get("model") or body.get("name")
        if not isinstance(name, str) or not name.strip():
            self._error(400, "model is required")
            return None
        return normalise_name(name)

    def _find(self, name: str) -> Model | None:
        model = self.server_state.models.get(name)
        if model is None:
            self._error(404, f"model '{name}' not found")
        return model

    def _tags(self, _body: dict[str, Any]) -> None:
        models = [
            {
                "name": m.name,
                "model": m.name,
                "modified_at": m.modified_at,
                "size": m.size,
                "digest": m.digest,
                "details": m.details(),
            }
            for m in self.server_state.models.values()
        ]
        self._send_json(200, {"models": models})

    def _show(self, body: dict[str, Any]) -> None:
        name = self._model_name(body)
        model = name and self._find(name)
        if not model:
            return
        arch = model.family
        params = "\n".join(
            f"PARAMETER {line.split(None, 1)[0]} {line.split(None, 1)[1]}"
            for line in model.parameters_text().splitlines()
        )
        modelfile = (
            f'# Modelfile generated by "ollama show"\nFROM {model.name}\n'
            f'TEMPLATE """{model.template}"""\n' + (f'SYSTEM """{model.system}"""\n' if model.system else "") + params
        )
        payload = {
            "license": "",
            "modelfile": modelfile,
            "parameters": model.parameters_text(),
            "template": model.template,
            "details": model.details(),
            "model_info": {
                "general.architecture": arch,
                "general.parameter_count": 8_030_261_248,
                f"{arch}.context_length": model.context_length,
                f"{arch}.embedding_length": 4096,
            },
            "capabilities": list(model.capabilities),
            "modified_at": model.modified_at,
        }
        if model.system:
            payload["system"] = model.system
        self._send_json(200, payload)

    def _pull(self, body: dict[str, Any]) -> None:
        state = self.server_state
        name = self._model_name(body)
        if not name:
            return
        stream = body.get("stream", True) is not False
        remote = state.registry.get(name)
        after, failure = state.pull_errors.get(name, (None, None))
        drop = after is not None and failure is None
        if remote is None:
            failure, after, drop = "pull model manifest: file does not exist", 1, False
        if not stream:
            if drop:
                self._drop()
                return
            if failure:
                self._error(500 if remote else 404, failure)
                return
            self._install(remote)
            self._send_json(200, {"status": "success"})
            return
        model, layers = remote if remote else (None, [])
        lines: list[dict[str, Any]] = [{"status": "pulling manifest"}]
        for i, size in enumerate(layers):
            digest = "sha256:" + _digest(f"{name}-{i}")
            status = f"pulling {digest[7:19]}"
            for done in (0, size // 2, size):
                line = {"status": status, "digest": digest, "total": size}
                if done:
                    line["completed"] = done
                lines.append(line)
        lines += [
            {"status": "verifying sha256 digest"},
            {"status": "writing manifest"},
            {"status": "success"},
        ]
        self._start_stream()
        for i, line in enumerate(lines):
            if drop and i == after:
                self._drop()
                return
            if failure is not None and i == after:
                self._chunk({"error": failure})
                self._end_stream()
                return
            self._chunk(line)
        self._install(remote)
        self._end_stream()

    def _install(self, remote: tuple[Model, list[int]] | None) -> None:
        if remote:
            model = copy.deepcopy(remote[0])
            model.modified_at = _now()
            with self.server_state._lock:
                self.server_state.models[model.name] = model

    def _create(self, body: dict[str, Any]) -> None:
        state = self.server_state
        name = self._model_name(body)
        if not name:
            return
        if "modelfile" in body and "from" not in body:
            self._error(400, "neither 'from' or 'files' was specified")
            return
        base_name = body.get("from")
        if not isinstance(base_name, str) or not base_name:
            self._error(400, "neither 'from' or 'files' was specified")
            return
        base = state.models.get(normalise_name(base_name))
        if base is None:
            self._error(404, f"model '{normalise_name(base_name)}' not found")
            return
        params = body.get("parameters") or {}
        if not isinstance(params, dict):
            self._error(400, "parameters must be an object")
            return
        model = copy.deepcopy(base)
        model.name = name
        model.parent_model = base.name
        model.parameters = {**base.parameters, **params}
        if isinstance(body.get("system"), str):
            model.system = body["system"]
        if isinstance(body.get("template"), str):
            model.template = body["template"]
        model.modified_at = _now()
        with state._lock:
            state.models[name] = model
        statuses = ["using existing layer sha256:" + _digest(base.name)]
        if "template" in body:
            statuses.append("creating new layer sha256:" + _digest(model.template))
        if "system" in body:
            statuses.append("creating new layer sha256:" + _digest(model.system))
        if params:
            statuses.append("creating new layer sha256:" + _digest(json.dumps(model.parameters)))
        statuses += ["writing manifest", "success"]
        if body.get("stream", True) is False:
            self._send_json(200, {"status": "success"})
            return
        self._start_stream()
        self._chunk({"status": "gathering model components"})
        for status in statuses:
            self._chunk({"status": status})
        self._end_stream()

    def _delete(self, body: dict[str, Any]) -> None:
        name = self._model_name(body)
        if not name:
            return
        with self.server_state._lock:
            found = self.server_state.models.pop(name, None)
        if found is None:
            self._error(404, f"model '{name}' not found")
            return
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _chat(self, body: dict[str, Any]) -> None:
        state = self.server_state
        name = self._model_name(body)
        if not name:
            return
        model = self._find(name)
        if not model:
            return
        messages = body.get("messages", [])
        options = body.get("options") or {}
        if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
            self._error(400, "messages must be a list of objects")
            return
        if not isinstance(options, dict):
            self._error(400, "options must be an object")
            return
        fmt = body.get("format")
        if fmt is not None and fmt != "json" and not isinstance(fmt, dict):
            self._error(400, f"invalid format: {json.dumps(fmt)}")
            return
        if body.get("think") and "thinking" not in model.capabilities:
            self._error(400, f'"{name}" does not support thinking')
            return
        stream = body.get("stream", True) is not False
        if not messages:
            self._send_json(
                200,
                {
                    "model": name,
                    "created_at": _now(),
                    "message": {"role": "assistant", "content": ""},
                    "done_reason": "load",
                    "done": True,
                },
            )
            return
        num_ctx = state.num_ctx_for(model, options)
        num_keep = int(options.get("num_keep", DEFAULT_NUM_KEEP))
        # server/prompt.go chatPrompt: drop older non-system messages while the chat does not fit.
        kept = list(messages)
        if body.get("truncate", True) is not False:
            for start in range(len(messages)):
                system = [m for m in messages[:start] if m.get("role") == "system"]
                kept = system + list(messages[start:])
                if sum(state.tokenizer(str(m.get("content", ""))) + MESSAGE_OVERHEAD_TOKENS for m in kept) <= num_ctx:
                    break
        wanted = sum(state.tokenizer(str(m.get("content", ""))) + MESSAGE_OVERHEAD_TOKENS for m in kept)
        if wanted > num_ctx - 1 and version_tuple(state.version) >= (0, 30, 0) and not model.context_shift:
            self._record.update(num_ctx=num_ctx, prompt_tokens=wanted, truncated=True, cached_tokens=0)
            self._error(
                400,
                "the prompt is longer than the context length currently available to the model; shorten the "
                "prompt, adjust the context length in settings, or use a model with a longer context length",
            )
            return
        evaluated = cut_length(state.version, wanted, num_ctx, num_keep, model.adds_bos)
        cached = 0
        if state.prompt_cache:
            with state._lock:
                previous = state._last_messages.get(name, [])
                state._last_messages[name] = [dict(m) for m in messages]
            for old, new in zip(previous, messages, strict=False):
                if old != new:
                    break
                cached += state.tokenizer(str(new.get("content", ""))) + MESSAGE_OVERHEAD_TOKENS
            cached = min(cached, evaluated - 1) if evaluated else 0
        self._record.update(
            num_ctx=num_ctx,
            prompt_tokens=wanted,
            truncated=evaluated < wanted or len(kept) < len(messages),
            cached_tokens=cached,
            dropped_messages=len(messages) - len(kept),
        )

        reply = state.next_reply(body)
        if reply.delay:
            time.sleep(reply.delay)
        if reply.status != 200:
            self._error(reply.status, reply.error or "an error was encountered while running the model")
            return
        content = reply.content or ""
        thinking = reply.thinking
        eval_count = reply.eval_count
        if eval_count is None:
            eval_count = count_tokens(content) + count_tokens(thinking or "")
        final = {
            "model": name,
            "created_at": _now(),
            "message": {"role": "assistant", "content": content if not stream else ""},
            "done_reason": reply.done_reason,
            "done": True,
            "total_duration": 1_200_000_000,
            "load_duration": 50_000_000,
            "prompt_eval_count": evaluated,  # cached tokens included (see the module docstring)
            "prompt_eval_duration": 300_000_000,
            "eval_count": eval_count,
            "eval_duration": 850_000_000,
        }
        if thinking is not None and not stream:
            final["message"]["thinking"] = thinking
        if not stream:
            if reply.error_mid_stream:
                self._error(500, reply.error or "model runner has unexpectedly stopped")
                return
            if reply.drop:  # headers and half the body, then the connection closes
                data = json.dumps(final).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2])
                self._drop()
                return
            self._send_json(200, final)
            return
        if reply.error_mid_stream and not thinking and not content:
            # streamResponse: an error before anything was written answers its status as JSON.
            self._error(500, reply.error or "model runner has unexpectedly stopped")
            return
        self._start_stream()
        if thinking:
            for piece in _pieces(thinking):
                self._chunk(
                    {
                        "model": name,
                        "created_at": _now(),
                        "message": {"role": "assistant", "content": "", "thinking": piece},
                        "done": False,
                    }
                )
        pieces = _pieces(content)
        for i, piece in enumerate(pieces):
            if reply.drop and i >= len(pieces) // 2:
                self._drop()
                return
            if reply.error_mid_stream and i >= len(pieces) // 2:
                self._chunk({"error": reply.error or "model runner has unexpectedly stopped"})
                self._end_stream()
                return
            self._chunk(
                {
                    "model": name,
                    "created_at": _now(),
                    "message": {"role": "assistant", "content": piece},
                    "done": False,
                }
            )
        if reply.drop:
            self._drop()
            return
        if reply.error_mid_stream:
            self._chunk({"error": reply.error or "model runner has unexpectedly stopped"})
            self._end_stream()
            return
        self._chunk(final)
        self._end_stream()


def _pieces(text: str, size: int = 16) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] if text else []
