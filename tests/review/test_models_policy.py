"""The review-model policy: the reviewer must not be the model that wrote the code."""

from __future__ import annotations

import pytest

from devops_studio.models import base_model, model_family, same_base_model, same_family


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("gpt-oss:20b", "gpt-oss"),
        ("gpt-oss:20b", "gpt-oss:120b"),
        ("qwen3:14b", "qwen3:latest"),
        ("Qwen3:14B", "qwen3"),
        ("library/qwen3:8b", "qwen3:14b-q4_K_M"),
        ("qwen2.5-coder:7b", "qwen2.5:14b-instruct"),
        ("hf.co/unsloth/Qwen3-Coder-30B-A3B-Instruct-GGUF:Q4_K_M", "qwen3:30b-a3b"),
        ("codellama:13b", "llama2:7b"),
        ("llama3.1:8b-instruct-q8_0", "llama3.1"),
        ("myteam/reviewer-base:latest", "reviewer-base:v2"),
    ],
)
def test_same_base_model(a, b):
    assert same_base_model(a, b)
    assert same_base_model(b, a)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("qwen3:14b", "qwen2.5:14b"),
        ("gpt-oss:20b", "qwen3:14b"),
        ("llama3.1:8b", "llama3.2:3b"),
        ("gemma3:12b", "codellama:13b"),
        ("deepseek-r1:14b", "qwen3:14b"),
    ],
)
def test_different_base_models(a, b):
    assert not same_base_model(a, b)


def test_base_model_names_the_family():
    assert base_model("hf.co/unsloth/Qwen3-Coder-30B-A3B-Instruct-GGUF:Q4_K_M") == "qwen3"
    assert base_model("gpt-oss:20b") == "gpt-oss"
    with pytest.raises(ValueError):
        base_model("  ")


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("qwen3:14b", "qwen2.5-coder:7b", True),
        ("devstral-small-2", "mistral-small3.2:24b", True),
        ("codellama:13b", "llama3.1:8b", True),
        ("gpt-oss:20b", "gpt-oss:120b", True),
        ("gpt-oss:20b", "olmo-3", False),
        ("devstral-small-2", "olmo-3", False),
        ("gemma3:12b", "qwen3:14b", False),
    ],
)
def test_same_family(a, b, same):
    assert same_family(a, b) is same
    assert same_family(b, a) is same


def test_model_family_names():
    assert model_family("devstral-small-2") == "mistral"
    assert model_family("hf.co/unsloth/Qwen3-Coder-30B-A3B-Instruct-GGUF:Q4_K_M") == "qwen"
    assert model_family("gpt-oss:120b") == "gpt-oss"
