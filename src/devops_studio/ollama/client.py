"""A small Ollama API client (standard library): version, tags, show, streamed pull and create, delete."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from typing import Any

DEFAULT_PORT = 11434


class OllamaError(Exception):
    pass


class OllamaUnreachable(OllamaError):
    pass


class ModelNotFound(OllamaError):
    pass


def normalise_url(value: str) -> str:
    """OLLAMA_HOST may be `host`, `host:port` or a URL; the port defaults to 11434."""
    value = value.strip()
    if "://" not in value:
        value = "http://" + value
    parts = urllib.parse.urlsplit(value)
    host = parts.hostname or "127.0.0.1"
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"  # a listen address; talk to it on loopback
    if ":" in host:
        host = f"[{host}]"
    port = parts.port or DEFAULT_PORT
    return f"{parts.scheme}://{host}:{port}{parts.path.rstrip('/')}"


def resolve_url(inventory_url: str | None, explicit: str | None = None, env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    return normalise_url(explicit or env.get("OLLAMA_HOST") or inventory_url or f"127.0.0.1:{DEFAULT_PORT}")


def elsewhere_problem(
    node_name: str, node_url: str | None, explicit: str | None, env: Mapping[str, str] | None = None
) -> str | None:
    """Why talking to this node's Ollama from another machine would hit the wrong server (None: fine).

    A node's Ollama listens on its own loopback; from another machine, 127.0.0.1 is that machine's own
    Ollama, and setting it up would put the node's models in the wrong place.
    """
    env = os.environ if env is None else env
    if explicit or env.get("OLLAMA_HOST"):
        return None
    url = resolve_url(node_url, None, env)
    if urllib.parse.urlsplit(url).hostname in ("127.0.0.1", "localhost", "::1"):
        return (
            f"{node_name}'s Ollama is {url}, its own loopback, and this is another machine; run the command "
            f"on {node_name}, or pass --url (OLLAMA_HOST) to reach its Ollama"
        )
    return None


def normalise_name(name: str) -> str:
    """`olmo-3` and `olmo-3:latest` are the same model."""
    last = name.rsplit("/", 1)[-1]
    return name if ":" in last else f"{name}:latest"


def parse_parameters(text: str) -> dict[str, Any]:
    """The `parameters` text of /api/show (`name   value` lines, repeated names for lists) as a dict."""
    result: dict[str, Any] = {}
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        key, _, raw = line.strip().partition(" ")
        raw = raw.strip()
        value: Any
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        if key in result:
            result[key] = (result[key] if isinstance(result[key], list) else [result[key]]) + [value]
        else:
            result[key] = value
    return result


class Ollama:
    def __init__(self, url: str, timeout: float = 10):
        self.url = url.rstrip("/")
        self.timeout = timeout

    def _open(self, method: str, path: str, body: Any = None, timeout: float | None = None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            f"{self.url}{path}", data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            return urllib.request.urlopen(req, timeout=timeout or self.timeout)
        except urllib.error.HTTPError as error:
            raw = error.read().decode(errors="replace")
            try:
                message = json.loads(raw).get("error", raw)
            except ValueError:
                message = raw
            if error.code == 404:
                raise ModelNotFound(message) from None
            raise OllamaError(f"Ollama answered {error.code} to {path}: {message}") from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise OllamaUnreachable(
                f"cannot reach Ollama at {self.url} ({reason}). Fix: start Ollama on the node "
                "(`ollama serve` or the Ollama app), or point OLLAMA_HOST / nodes.<name>.ollama.url at it"
            ) from None

    def _json(self, method: str, path: str, body: Any = None) -> Any:
        with self._open(method, path, body) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def version(self) -> str:
        return self._json("GET", "/api/version")["version"]

    def tags(self) -> list[dict[str, Any]]:
        return self._json("GET", "/api/tags").get("models", [])

    def installed(self) -> set[str]:
        return {normalise_name(m.get("name") or m.get("model")) for m in self.tags()}

    def show(self, name: str) -> dict[str, Any]:
        return self._json("POST", "/api/show", {"model": name})

    def delete(self, name: str) -> None:
        with self._open("DELETE", "/api/delete", {"model": name}):
            pass

    def _stream(self, path: str, body: dict[str, Any]) -> Iterator[dict[str, Any]]:
        # Ollama streams NDJSON; an error can arrive as an object *after* the 200 status line.
        with self._open("POST", path, body, timeout=600) as resp:
            for raw in resp:
                line = raw.strip()
                if not line:
                    continue
                item = json.loads(line)
                if "error" in item:
                    raise OllamaError(item["error"])
                yield item

    def pull(self, name: str, progress: Callable[[dict[str, Any]], None] | None = None) -> None:
        last = None
        for item in self._stream("/api/pull", {"model": name, "stream": True}):
            last = item
            if progress:
                progress(item)
        if not last or last.get("status") != "success":
            raise OllamaError(f"the pull of {name} ended without success")

    def create(self, name: str, definition: dict[str, Any]) -> None:
        last = None
        for item in self._stream("/api/create", {"model": name, **definition, "stream": True}):
            last = item
        if not last or last.get("status") != "success":
            raise OllamaError(f"creating {name} ended without success")
