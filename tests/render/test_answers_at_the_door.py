"""Hostile and careless answers are refused at the door: `error: <what> (<question>): <fix>`, a
non-zero exit and nothing left behind; and runner roles stay apart."""

from __future__ import annotations

import pytest

from .helpers import studio

REFUSED = [
    # (question named in the error, --data pairs)
    ("domain", ["domain=app.example.com\n"]),
    ("apps_dir", ["apps_dir=/home/chronos/apps\n"]),
    ("app_name", ["app_name=sample-app\n"]),
    ("apps_dir", ["apps_dir=/home/../etc"]),
    ("app_name", ["app_name=.."]),
    ("app_port", ["app_port=80a"]),
    ("e2e", ["e2e=maybe"]),
    ("e2e", ["e2e=yes"]),
    ("studio_url", ["studio_url=https://evil.example/x"]),
    ("app_nmae", ["app_nmae=typo"]),
    ("deploy_runner_labels", ["deploy_runner_labels=[self-hosted, [linux]]"]),
    ("ci_runner_labels", ["ci_runner=self-hosted", "ci_runner_labels=[self-hosted, 7]"]),
    ("letsencrypt_email", ['letsencrypt_email=a"b@example.com']),
    ("letsencrypt_email", ["letsencrypt_email=a\\b@example.com"]),
    ("letsencrypt_email", ["letsencrypt_email=a$b@example.com"]),
    ("letsencrypt_email", ["letsencrypt_email=a;b@example.com"]),
    ("letsencrypt_email", ["letsencrypt_email=admin@example.com\n"]),
    ("deploy_runner_labels", ["deploy_runner_labels=[self-hosted, linux, x64]"]),
    # Runner roles: nothing but a deploy may reach the deploy runner.
    ("ci_runner_labels", ["ci_runner=self-hosted", "ci_runner_labels=[self-hosted, linux, x64]"]),
    ("ci_runner_labels", ["ci_runner=self-hosted", "ci_runner_labels=[self-hosted, linux, chronos-deploy, x]"]),
    ("test_runner_labels", ["e2e=true", "test_runner=self-hosted", "test_runner_labels=[self-hosted, linux]"]),
    ("build_runner_labels", ["build_runner=self-hosted", "build_runner_labels=[self-hosted, linux, x64]"]),
    ("build_runner_labels", ["build_runner=self-hosted", "build_runner_labels=[self-hosted, chronos-deploy]"]),
    ("build_runner", ["build_runner=windows"]),
]


@pytest.mark.parametrize(("question", "pairs"), REFUSED, ids=[f"{q}-{i}" for i, (q, _) in enumerate(REFUSED)])
def test_answer_refused_naming_question_and_fix(tmp_path, question, pairs):
    dest = tmp_path / "out" / "app"
    args = ["new", str(dest), "--defaults", "--data", "app_name=sample-app"]
    for pair in pairs:
        args += ["--data", pair]
    proc = studio(*args)
    assert proc.returncode == 2, proc.stderr
    error_lines = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert error_lines, proc.stderr
    assert f"({question}): " in error_lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert not dest.exists()
    # Not even the render's staging folder is left beside it.
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_deploy_runner_clash_says_why(tmp_path):
    proc = studio(
        "new", str(tmp_path / "app"), "--defaults", "--data", "app_name=sample-app",
        "--data", "ci_runner=self-hosted", "--data", "ci_runner_labels=[self-hosted, linux, x64]",
    )  # fmt: skip
    assert proc.returncode == 2
    assert "deploy runner" in proc.stderr and "chronos-deploy" in proc.stderr


def test_ssh_deploys_leave_every_label_free(tmp_path):
    """With no deploy runner there is nothing to clash with."""
    proc = studio(
        "new", str(tmp_path / "app"), "--defaults", "--data", "app_name=sample-app", "--data", "deploy_via=ssh",
        "--data", "ci_runner=self-hosted", "--data", "ci_runner_labels=[self-hosted, linux, x64]",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr


def test_typed_answers_read_strictly(tmp_path):
    proc = studio(
        "new", str(tmp_path / "app"), "--defaults", "--data", "app_name=sample-app", "--data", "app_port=9000",
        "--data", "e2e=true", "--data", "deploy_runner_labels=[self-hosted, linux, x64, prod-box]",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    answers = (tmp_path / "app" / ".copier-answers.yml").read_text()
    assert "app_port: 9000" in answers and "e2e: true" in answers and "prod-box" in answers


def test_local_env_with_the_generated_password_is_private(tmp_path):
    proc = studio(
        "new", str(tmp_path / "app"), "--defaults", "--data", "app_name=sample-app", "--data", "database=postgres"
    )
    assert proc.returncode == 0, proc.stderr
    env = tmp_path / "app" / ".env"
    assert "POSTGRES_PASSWORD=" in env.read_text()
    assert env.stat().st_mode & 0o777 == 0o600
