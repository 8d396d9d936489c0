"""Credentials never land in .copier-answers.yml or any file git would track."""

from __future__ import annotations

import subprocess

from .helpers import answers

SECRET = "Only-In-Dotenv-0123456789"


def _tracked_text(repo) -> dict[str, str]:
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    listed = subprocess.run(
        ["git", "-C", str(repo), "ls-files"], check=True, capture_output=True, text=True
    ).stdout.split()
    return {name: (repo / name).read_text(errors="replace") for name in listed}


def test_given_password_stays_in_the_ignored_env_file(copie):
    result = copie.copy(extra_answers=answers(database="postgres", postgres_password=SECRET))
    assert result.exit_code == 0, result.exception
    repo = result.project_dir
    assert f"POSTGRES_PASSWORD={SECRET}" in (repo / ".env").read_text()
    tracked = _tracked_text(repo)
    assert ".env" not in tracked
    assert ".copier-answers.yml" in tracked
    leaks = [name for name, text in tracked.items() if SECRET in text]
    assert leaks == []
    assert "postgres_password" not in tracked[".copier-answers.yml"]


def test_generated_password_is_random_long_and_not_recorded(copie):
    first = copie.copy(extra_answers=answers(database="postgres"))
    second = copie.copy(extra_answers=answers(database="postgres"))
    passwords = []
    for result in (first, second):
        env = dict(line.split("=", 1) for line in (result.project_dir / ".env").read_text().splitlines() if "=" in line)
        password = env["POSTGRES_PASSWORD"]
        assert len(password) >= 32
        assert password not in (result.project_dir / ".copier-answers.yml").read_text()
        passwords.append(password)
    assert passwords[0] != passwords[1]


def test_env_example_lists_the_password_without_a_value(copie):
    result = copie.copy(extra_answers=answers(database="postgres"))
    example = (result.project_dir / ".env.example").read_text()
    assert "\nPOSTGRES_PASSWORD=\n" in example
