"""The reviewer's only door to Ollama: a small adapter over the CLI's Ollama client.

Everything the reviewer needs from Ollama (the model's window and abilities, one chat) goes through
here, so a change of the underlying client is a change of this file alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from devops_studio.ollama import client as ollama_client


class ModelUnavailable(Exception):
    """The review cannot run (Ollama down, model missing); not a fault of the pull request."""

    def __init__(self, message: str, kind: str = "unreachable") -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class ModelInfo:
    num_ctx: int
    thinking: bool
    family: str
    version: str


class ReviewModel:
    def __init__(self, url: str, model: str, timeout: float) -> None:
        self.url = url
        self.model = model
        self._quick = ollama_client.Ollama(url, timeout=10)
        self._slow = ollama_client.Ollama(url, timeout=timeout)
        self.timeout = timeout

    def info(self, fallback_num_ctx: int) -> ModelInfo:
        try:
            version = self._quick.version()
            show = self._quick.show(self.model)
        except ollama_client.ModelNotFound:
            raise ModelUnavailable(f"model {self.model} not found", kind="missing_model") from None
        except ollama_client.OllamaError as error:
            raise ModelUnavailable(str(error)) from None
        params = ollama_client.parse_parameters(show.get("parameters") or "")
        num_ctx = params.get("num_ctx")
        num_ctx = num_ctx if isinstance(num_ctx, int) and num_ctx > 0 else fallback_num_ctx
        trained = [
            v
            for k, v in (show.get("model_info") or {}).items()
            if k.endswith(".context_length") and isinstance(v, int) and v > 0
        ]
        if trained:
            num_ctx = min(num_ctx, trained[0])
        details = show.get("details") or {}
        return ModelInfo(
            num_ctx=num_ctx,
            thinking="thinking" in (show.get("capabilities") or []),
            family=str(details.get("family") or ""),
            version=str(version),
        )

    def chat(
        self,
        messages: list[dict[str, str]],
        options: dict[str, Any],
        schema: dict[str, Any] | None,
        think: str | None,
    ) -> dict[str, Any]:
        """The reply, or {"error": text} for a failure of this one request (slow, refused)."""
        body: dict[str, Any] = {"model": self.model, "messages": messages, "stream": False, "options": options}
        if schema is not None:
            body["format"] = schema
        if think is not None:
            body["think"] = think
        try:
            reply = self._slow.chat(body)
        except ollama_client.ModelNotFound:
            raise ModelUnavailable(f"model {self.model} not found", kind="missing_model") from None
        except ollama_client.OllamaUnreachable as error:
            if "timed out" in str(error):
                return {"error": f"no answer within {self.timeout:.0f} s"}
            raise ModelUnavailable(str(error)) from None
        except (ollama_client.OllamaError, TimeoutError) as error:
            return {"error": str(error)[:300]}
        except ValueError:
            return {"error": "the answer was not JSON"}
        return reply if isinstance(reply, dict) else {"error": "the answer was not an object"}
