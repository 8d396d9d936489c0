"""`devops-studio review run` as a real process: reviews, keeps its state, stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from .llm_review_support import MODEL, TOKEN, answer_with_findings, summary_comments

INVENTORY = """version: 1
github: {{owner: octo, repos: [app]}}
models: {{"{model}": {{family: qwen3, memory_gb: 8}}}}
nodes:
  selene: {{os: macos, arch: arm64, memory_gb: 64, roles: [review], ollama: {{models: ["{model}"]}}}}
review: {{node: selene, model: "{model}", author_models: [], language: en}}
"""


def test_the_service_reviews_then_stops_on_sigterm_and_keeps_its_state(workspace, github, ollama, tmp_path):
    pull = workspace.open_pull({"a.py": "x = 1\n"}, {"a.py": "x = 2\n"})
    ollama.default_reply = answer_with_findings
    (tmp_path / "studio.yml").write_text(INVENTORY.format(model=MODEL))
    state = tmp_path / "state" / "review.json"
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o600)
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "GITHUB_API_URL": github.url,
           "DEVOPS_STUDIO_REVIEW_TOKEN_FILE": str(token_file)}  # fmt: skip
    cmd = [sys.executable, "-m", "devops_studio", "review", "run", "--inventory", str(tmp_path / "studio.yml"),
           "--state-file", str(state), "--ollama-url", ollama.url]  # fmt: skip
    process = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not state.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert state.exists(), process.stderr.read() if process.poll() is not None else "no state written"
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "reviewed" in out and "stopped" in out and TOKEN not in out + err
    assert json.loads(state.read_text())["pulls"]["octo/app#1"]["head"] == pull.head_sha
    assert len(summary_comments(github)) == 1
    # `status` reads the same state without any token or network.
    status_cmd = [*cmd[:4], "status", *cmd[5:9]]
    quiet_env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    done = subprocess.run(status_cmd, capture_output=True, text=True, env=quiet_env, check=False)
    assert done.returncode == 0 and pull.head_sha in done.stdout
