"""The Ollama API as the CLI uses it, over the official `ollama` package, and where the server is."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import httpx
import ollama

DEFAULT_PORT = 11434


class OllamaError(Exception):
    pass


class OllamaUnreachable(OllamaError):
    pass


class ModelNotFound(OllamaError):
    pass


class OllamaDropped(OllamaError):
    """The connection closed in the middle of an answer: Ollama reached, the answer incomplete."""


def ollama_host(value: str) -> str:
    """OLLAMA_HOST read exactly as Ollama's own `envconfig.Host()` reads it (ollama/ollama v0.33).

    No scheme: http and port 11434 (`ollama.com` alone: https on 443); `http://host` means port 80 and
    `https://host` 443; a path is kept (a proxy); spaces and quotes around the value are dropped; a
    port that is not a number in 0..65535 falls back to the default.
    """
    value = value.strip().strip("\"'").strip()
    default_port = "11434"
    scheme, found, hostport = value.partition("://")
    if not found:
        scheme, hostport = "http", value
        if value == "ollama.com":
            scheme, hostport = "https", "ollama.com:443"
    elif scheme == "http":
        default_port = "80"
    elif scheme == "https":
        default_port = "443"
    hostport, _, path = hostport.partition("/")
    host, port = _split_host_port(hostport)
    if host is None:
        host, port = "127.0.0.1", default_port
        bare = hostport.strip("[]")
        if _is_ip(bare):
            host = str(ipaddress.ip_address(bare))
        elif hostport:
            host = hostport
    if not re.fullmatch(r"[+-]?[0-9]+", port or "") or not 0 <= int(port) <= 65535:
        port = default_port
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}:{port}" + (f"/{path}" if path else "")


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _split_host_port(hostport: str) -> tuple[str | None, str | None]:
    """Go's net.SplitHostPort: `host:port` or `[v6]:port`; (None, None) where Go reports an error."""
    if hostport.startswith("["):
        match = re.fullmatch(r"\[([^\]]*)\]:([^:]*)", hostport)
        return (match.group(1), match.group(2)) if match else (None, None)
    if hostport.count(":") != 1:
        return None, None
    host, port = hostport.split(":")
    return host, port


def normalise_url(value: str) -> str:
    """The URL to talk to: Ollama's reading of OLLAMA_HOST, with a listen-all address put on loopback."""
    url = ollama_host(value)
    parts = urllib.parse.urlsplit(url)
    if parts.hostname in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"  # a listen address; talk to it on loopback
        url = urllib.parse.urlunsplit(parts._replace(netloc=f"{host}:{parts.port}"))
    return url.rstrip("/")


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
        self._client = ollama.Client(host=self.url, timeout=timeout)
        # Pulls and creates stream for minutes; only the wait for the next line is bounded.
        self._streaming = ollama.Client(host=self.url, timeout=600)

    def _call(self, what: str, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except ollama.ResponseError as error:
            if error.status_code == 404:
                raise ModelNotFound(error.error) from None
            if error.status_code == -1:  # an error object sent after the 200 status line: its text as is
                raise OllamaError(error.error) from None
            raise OllamaError(f"Ollama answered {error.status_code} to {what}: {error.error}") from None
        except (httpx.RemoteProtocolError, httpx.ReadError) as error:
            # Reached, then cut off: the server stopped (crash, restart) or a proxy closed the answer.
            raise OllamaDropped(
                f"the connection to Ollama at {self.url} closed in the middle of the answer to {what} "
                f"({error}); Ollama may have stopped or restarted (check `journalctl -u ollama` or the "
                "Ollama app's log), or a proxy in between cut the answer"
            ) from None
        except (ConnectionError, httpx.TransportError) as error:
            raise OllamaUnreachable(
                f"cannot reach Ollama at {self.url} ({error}). Fix: start Ollama on the node "
                "(`ollama serve` or the Ollama app), or point OLLAMA_HOST / nodes.<name>.ollama.url at it"
            ) from None

    def _raw_json(self, method: str, path: str, body: Any = None) -> Any:
        # The package has no call for /api/version, and its typed /api/show answer drops fields the
        # server sends (`system`); its raw request keeps host, headers and error mapping.
        return self._call(path, lambda: self._client._request_raw(method, path, json=body).json())

    def chat(self, body: dict[str, Any]) -> Any:
        """One non-streaming /api/chat reply as the server sent it (prompt_eval_count, done_reason and
        thinking included, which the reviewer reads)."""
        return self._raw_json("POST", "/api/chat", {**body, "stream": False})

    def version(self) -> str:
        return self._raw_json("GET", "/api/version")["version"]

    def tags(self) -> list[dict[str, Any]]:
        listing = self._call("/api/tags", self._client.list)
        return [model.model_dump() for model in listing.models]

    def installed(self) -> set[str]:
        return {normalise_name(m.get("name") or m.get("model")) for m in self.tags()}

    def show(self, name: str) -> dict[str, Any]:
        return self._raw_json("POST", "/api/show", {"model": name})

    def delete(self, name: str) -> None:
        self._call("/api/delete", lambda: self._client.delete(name))

    def _stream(self, what: str, start: Callable[[], Iterator[Any]]) -> Iterator[dict[str, Any]]:
        stream = self._call(what, start)
        while True:
            item = self._call(what, lambda: next(stream, None))
            if item is None:
                return
            yield item.model_dump(exclude_none=True)

    def pull(self, name: str, progress: Callable[[dict[str, Any]], None] | None = None) -> None:
        last = None
        for item in self._stream("/api/pull", lambda: self._streaming.pull(name, stream=True)):
            last = item
            if progress:
                progress(item)
        if not last or last.get("status") != "success":
            raise OllamaError(f"the pull of {name} ended without success")

    def create(self, name: str, definition: dict[str, Any]) -> None:
        fields = {("from_" if key == "from" else key): value for key, value in definition.items()}
        last = None
        for item in self._stream("/api/create", lambda: self._streaming.create(name, stream=True, **fields)):
            last = item
        if not last or last.get("status") != "success":
            raise OllamaError(f"creating {name} ended without success")
