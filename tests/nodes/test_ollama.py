"""`devops-studio ollama setup|status` against the Ollama test server."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from ollama_api import OllamaServer

INVENTORY = """\
version: 1
github:
  owner: chronos-lab
  repos: [todo-auth-app]
models:
  devstral-small-2: {{family: mistral3, memory_gb: 18}}
  olmo-3: {{family: olmo3, memory_gb: 8}}
  gpt-oss:20b: {{family: gptoss, memory_gb: 16}}
  gpt-oss:120b: {{family: gptoss, memory_gb: 70, fallback: gpt-oss:20b}}
profiles:
  llm-dev-jp-fast:
    from: devstral-small-2
    num_ctx: 32768
    parameters: {{temperature: {temperature}, stop: ["<|end|>"]}}
    system: "{system}"
  llm-dev-deep:
    from: gpt-oss:20b
    num_ctx: 65536
    system: "設計を深く検討します。"
nodes:
  astraeus:
    os: macos
    arch: arm64
    memory_gb: 64
    roles: [dev]
    ollama:
      models: [{models}]
      profiles: [{profiles}]
  selene:
    os: macos
    arch: arm64
    memory_gb: 64
    roles: [review]
    ollama:
      models: [olmo-3]
review:
  node: selene
  model: {reviewer}
  author_models: [llm-dev-jp-fast, llm-dev-deep]
"""


def write(
    path: Path,
    *,
    temperature: float = 0.2,
    system: str = "日本語で仕様を整理します。",
    models: str = "devstral-small-2, gpt-oss:20b",
    profiles: str = "llm-dev-jp-fast, llm-dev-deep",
    reviewer: str = "olmo-3",
) -> Path:
    path.write_text(
        INVENTORY.format(temperature=temperature, system=system, models=models, profiles=profiles, reviewer=reviewer),
        encoding="utf-8",
    )
    return path


@pytest.fixture
def ollama():
    with OllamaServer() as server:
        server.add_remote("devstral-small-2", family="mistral3", parameters={"temperature": 0.15})
        server.add_remote("gpt-oss:20b", family="gptoss", capabilities=["completion", "thinking"])
        server.add_remote("gpt-oss:120b", family="gptoss")
        server.add_remote("olmo-3", family="olmo3")
        yield server


def cli(inventory: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    run_env = {k: v for k, v in os.environ.items() if k != "OLLAMA_HOST"}
    run_env["COLUMNS"] = "200"
    run_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "devops_studio", "ollama", *args, "--inventory", str(inventory)],
        capture_output=True,
        text=True,
        env=run_env,
        timeout=120,
    )


def paths(server: OllamaServer, path: str) -> list[dict]:
    return [r for r in server.requests if r["path"] == path]


def test_fresh_setup_then_rerun_is_a_no_op(ollama, tmp_path):
    inventory = write(tmp_path / "studio.yml")
    first = cli(inventory, "setup", "--node", "astraeus", "--url", ollama.url)
    assert first.returncode == 0, first.stdout + first.stderr
    assert {"devstral-small-2:latest", "gpt-oss:20b", "llm-dev-jp-fast:latest", "llm-dev-deep:latest"} <= set(
        ollama.models
    )
    fast = ollama.models["llm-dev-jp-fast:latest"]
    assert fast.parameters["num_ctx"] == 32768 and fast.parameters["temperature"] == 0.2
    assert fast.system == "日本語で仕様を整理します。" and fast.parent_model == "devstral-small-2:latest"
    creates = paths(ollama, "/api/create")
    assert {c["body"]["model"] for c in creates} == {"llm-dev-jp-fast", "llm-dev-deep"}
    assert all(set(c["body"]) >= {"from", "system", "parameters"} and "modelfile" not in c["body"] for c in creates)
    assert "pulled" in first.stdout and "created from devstral-small-2" in first.stdout

    before = len(ollama.requests)
    second = cli(inventory, "setup", "--node", "astraeus", "--url", ollama.url)
    assert second.returncode == 0, second.stdout + second.stderr
    later = ollama.requests[before:]
    assert not [r for r in later if r["path"] in ("/api/pull", "/api/create", "/api/delete")]
    assert "0 changed" in second.stdout

    status = cli(inventory, "status", "--node", "astraeus", "--url", ollama.url, "--json")
    assert status.returncode == 0, status.stdout + status.stderr
    data = json.loads(status.stdout)
    assert data["profiles"] == {"llm-dev-jp-fast": "current", "llm-dev-deep": "current"}
    assert all(data["models"].values())


def test_changed_profile_is_recreated_and_only_that_one(ollama, tmp_path):
    inventory = write(tmp_path / "studio.yml")
    assert cli(inventory, "setup", "--node", "astraeus", "--url", ollama.url).returncode == 0
    write(inventory, temperature=0.5)
    before = len(ollama.requests)
    status = cli(inventory, "status", "--node", "astraeus", "--url", ollama.url)
    assert status.returncode == 1 and "temperature" in status.stdout
    result = cli(inventory, "setup", "--node", "astraeus", "--url", ollama.url)
    assert result.returncode == 0, result.stdout + result.stderr
    creates = [r for r in ollama.requests[before:] if r["path"] == "/api/create"]
    assert [c["body"]["model"] for c in creates] == ["llm-dev-jp-fast"]
    assert ollama.models["llm-dev-jp-fast:latest"].parameters["temperature"] == 0.5
    assert "recreated" in result.stdout and "temperature" in result.stdout


def test_unreachable_ollama_is_said_clearly(tmp_path):
    inventory = write(tmp_path / "studio.yml")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = cli(inventory, "setup", "--node", "astraeus", env={"OLLAMA_HOST": f"127.0.0.1:{port}"})
    assert result.returncode == 1
    assert f"cannot reach Ollama at http://127.0.0.1:{port}" in result.stdout
    assert "OLLAMA_HOST" in result.stdout


def test_model_too_big_warns_and_uses_the_fallback(ollama, tmp_path):
    inventory = write(tmp_path / "studio.yml", models="devstral-small-2, gpt-oss:120b", profiles="llm-dev-jp-fast")
    result = cli(inventory, "setup", "--node", "astraeus", "--url", ollama.url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "warning:" in result.stdout and "gpt-oss:120b needs about 70 GB" in result.stdout
    assert "fallback gpt-oss:20b" in result.stdout
    pulled = [r["body"]["model"] for r in paths(ollama, "/api/pull")]
    assert "gpt-oss:120b" not in pulled and "gpt-oss:20b" in pulled


def test_error_in_the_middle_of_a_pull_fails_the_step(ollama, tmp_path):
    inventory = write(tmp_path / "studio.yml")
    ollama.fail_pull("gpt-oss:20b", after=3, error="max retries exceeded: unexpected EOF")
    result = cli(inventory, "setup", "--node", "astraeus", "--url", ollama.url)
    assert result.returncode == 1
    assert "pull failed: max retries exceeded: unexpected EOF" in result.stdout
    assert "gpt-oss:20b" not in ollama.models and "llm-dev-deep:latest" not in ollama.models
    assert "llm-dev-jp-fast:latest" in ollama.models  # the other model and its profile still went ahead


def test_review_policy_violation_in_the_inventory(tmp_path):
    inventory = write(tmp_path / "studio.yml", reviewer="gpt-oss:20b")
    result = cli(inventory, "setup", "--node", "selene", "--dry-run")
    assert result.returncode == 1
    assert "review.model" in result.stderr and "same model that writes code" in result.stderr


def test_review_policy_checked_against_live_families(ollama, tmp_path):
    inventory = write(tmp_path / "studio.yml")
    ollama.registry.clear()
    ollama.add_remote("olmo-3", family="gptoss")  # the server says the reviewer is a gpt-oss model
    result = cli(inventory, "setup", "--node", "selene", "--url", ollama.url)
    assert result.returncode == 1
    assert "review policy" in result.stdout and "family 'gptoss'" in result.stdout


def test_dry_run_contacts_nothing(ollama, tmp_path):
    inventory = write(tmp_path / "studio.yml")
    result = cli(inventory, "setup", "--node", "astraeus", "--url", ollama.url, "--dry-run")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "planned" in result.stdout
    assert ollama.requests == []


def test_node_setup_of_a_dev_node_runs_the_ollama_steps(ollama, tmp_path):
    inventory = write(tmp_path / "studio.yml")
    env = {k: v for k, v in os.environ.items() if k != "OLLAMA_HOST"}
    env["COLUMNS"] = "200"
    command = [
        sys.executable,
        "-m",
        "devops_studio",
        "node",
        "setup",
        "astraeus",
        "--ollama-url",
        ollama.url,
        "--inventory",
        str(inventory),
    ]
    first = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "node setup: astraeus" in first.stdout and "profile llm-dev-deep" in first.stdout
    assert "llm-dev-deep:latest" in ollama.models
    second = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert second.returncode == 0 and "0 changed" in second.stdout, second.stdout


def test_another_nodes_loopback_ollama_is_not_touched_from_here(ollama, tmp_path):
    inventory = write(tmp_path / "studio.yml")
    # Make this machine a node of the inventory (by host name), so astraeus is clearly another machine.
    text = inventory.read_text(encoding="utf-8").replace(
        "nodes:\n",
        f"nodes:\n  thisbox:\n    host: {socket.gethostname()}\n    os: linux\n    arch: x64\n"
        "    memory_gb: 8\n    roles: [build]\n",
        1,
    )
    inventory.write_text(text, encoding="utf-8")
    result = cli(inventory, "setup", "--node", "astraeus")
    assert result.returncode == 1
    assert "astraeus's Ollama is http://127.0.0.1:11434, its own loopback" in result.stderr
    assert ollama.requests == []
    explicit = cli(inventory, "setup", "--node", "astraeus", "--url", ollama.url)
    assert explicit.returncode == 0, explicit.stdout + explicit.stderr
    doctor = subprocess.run(
        [sys.executable, "-m", "devops_studio", "doctor", "astraeus", "--json", "--inventory", str(inventory)],
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "OLLAMA_HOST"},
        timeout=60,
    )
    checks = {c["name"]: c["status"] for c in json.loads(doctor.stdout)["checks"]}
    assert checks == {"ollama": "skip"}
