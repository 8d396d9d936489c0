"""Model names: which Ollama model names denote the same base model, and the review policy.

This file is the one copy of the rule. Copier's validator reaches it through extensions/studio.py;
the CLI through devops_studio.models. It is plain Python with no imports beyond the standard
library, so both can load it by path.

The review policy forbids reviewing code with the model that wrote it. Two names count as the same
model when they differ only in what Ollama treats as packaging: the registry or namespace
(`hf.co/unsloth/`, `library/`), the tag (`:latest`, `:20b`, `:14b-q4_K_M`), size and quantisation
suffixes inside the name (`-7b`, `-q8_0`, `-gguf`), the variant (`-instruct`, `-chat`) or a known
derivative of the same base (`qwen2.5-coder` is Qwen 2.5, `codellama` is Llama 2).
Different generations stay different: `qwen3` and `qwen2.5` are distinct base models.

`same_family` is the stricter comparison: models of one family (every Qwen, every Llama, every
Mistral-made model) count as one, because they share training data and blind spots.
"""

from __future__ import annotations

import re

# Known code/variant models and the base model they were trained from.
KNOWN_DERIVATIVES = {
    "codellama": "llama2",
    "codegemma": "gemma",
    "codeqwen": "qwen1.5",
    "qwen2.5-coder": "qwen2.5",
    "qwen3-coder": "qwen3",
    "deepseek-coder-v2": "deepseek-v2",
    "starcoder2": "starcoder2",
    "devstral": "mistral-small",
    "codestral": "codestral",
    "llama3-chatqa": "llama3",
    "llama3-gradient": "llama3",
    "dolphin-llama3": "llama3",
    "gpt-oss-safeguard": "gpt-oss",
}

# Families whose members' names do not start with the family name.
KNOWN_FAMILIES = {
    "codellama": "llama",
    "dolphin-llama3": "llama",
    "codegemma": "gemma",
    "codeqwen": "qwen",
    "qwq": "qwen",
    "devstral": "mistral",
    "codestral": "mistral",
    "mixtral": "mistral",
    "ministral": "mistral",
    "magistral": "mistral",
    "gpt-oss": "gpt-oss",
}

# Suffixes that name a size, a quantisation, a file format or an instruction-tuned variant.
_PACKAGING = re.compile(
    r"-(?:\d+(?:\.\d+)?[bmk](?:-a\d+(?:\.\d+)?b)?|a\d+(?:\.\d+)?b|q\d\w*|f16|fp16|bf16|gguf|mlx|"
    r"instruct|chat|it|base|text|thinking|latest|\d{4})$"
)


def base_model(name: str) -> str:
    """The base model a name denotes, e.g. `hf.co/unsloth/Qwen3-Coder-30B-A3B-Instruct-GGUF` -> `qwen3`."""
    text = name.strip().lower()
    if not text:
        raise ValueError("a model name is empty")
    repo = text.rsplit("/", 1)[-1]  # drop registry host and namespace
    repo = repo.split("@", 1)[0].split(":", 1)[0]  # drop a digest and the tag
    previous = None
    while previous != repo:
        previous = repo
        repo = _PACKAGING.sub("", repo)
    return KNOWN_DERIVATIVES.get(repo, repo)


def same_base_model(a: str, b: str) -> bool:
    """True when the two Ollama model names denote the same base model (see module doc)."""
    return base_model(a) == base_model(b)


def model_family(name: str) -> str:
    """The family of a model name, e.g. `qwen2.5-coder:7b` -> `qwen`, `devstral-small-2` -> `mistral`."""
    base = base_model(name)
    for prefix, family in KNOWN_FAMILIES.items():
        if base == prefix or base.startswith(prefix + "-") or base.startswith(prefix + ":"):
            return family
    match = re.match(r"[a-z]+", base)
    family = match.group(0) if match else base
    return KNOWN_FAMILIES.get(family, family)


def same_family(a: str, b: str) -> bool:
    """True when the two names belong to one model family (implies nothing about the base model)."""
    return model_family(a) == model_family(b)


def review_policy_violation(review_model: str, dev_model: str) -> str:
    """Why `review_model` may not review code written by `dev_model`, or "" when it may."""
    if same_base_model(review_model, dev_model):
        return f"{review_model} and {dev_model} are the same base model ({base_model(dev_model)})"
    if same_family(review_model, dev_model):
        return f"{review_model} and {dev_model} are of the same model family ({model_family(dev_model)})"
    return ""
