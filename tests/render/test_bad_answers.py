"""Bad answers fail with a message naming the question, exit non-zero and leave no files behind."""

from __future__ import annotations

import pytest

from .helpers import studio

BAD_ANSWERS = [
    # (question named in the error, answers)
    ("app_name", {"app_name": "My App"}),
    ("app_name", {"app_name": "1st-app"}),
    ("app_name", {"app_name": "a"}),
    ("app_name", {"app_name": "trailing-"}),
    ("app_name", {"app_name": "x" * 41}),
    ("app_port", {"app_port": "80"}),
    ("app_port", {"app_port": "70000"}),
    ("domain", {"domain": "localhost"}),
    ("domain", {"domain": "https://app.example.com"}),
    ("domain", {"domain": "app.example.com/path"}),
    ("letsencrypt_email", {"letsencrypt_email": "not-an-email"}),
    ("registry_url", {"deploy_method": "registry", "registry_url": "https://registry.lan/app"}),
    ("registry_url", {"deploy_method": "registry", "registry_url": "registry.lan:5000/app:latest"}),
    ("deploy_runner_labels", {"deploy_runner_labels": "[linux, x64]"}),
    ("deploy_runner_labels", {"deploy_runner_labels": "self-hosted"}),
    ("ci_runner_labels", {"ci_runner": "self-hosted", "ci_runner_labels": "[ubuntu-latest]"}),
    ("review_model", {"review_model": "devstral-small-2", "dev_model": "devstral-small-2"}),
    ("review_model", {"review_model": "gpt-oss:120b", "dev_model": "gpt-oss:20b"}),
    ("review_model", {"review_model": "mistral-small3.2:24b", "dev_model": "devstral-small-2"}),
    ("apps_dir", {"apps_dir": "apps"}),
    ("github_owner", {"github_owner": "bad owner"}),
    ("postgres_password", {"database": "postgres", "postgres_password": "short"}),
    ("stack", {"stack": "ruby"}),
]


@pytest.mark.parametrize(("question", "data"), BAD_ANSWERS, ids=[f"{q}-{i}" for i, (q, _) in enumerate(BAD_ANSWERS)])
def test_bad_answer_is_refused_and_leaves_nothing(tmp_path, question, data):
    data = {"app_name": "sample-app", **data}
    dest = tmp_path / "out" / "app"
    args = ["new", str(dest), "--defaults"]
    for key, value in data.items():
        args += ["--data", f"{key}={value}"]
    proc = studio(*args)
    assert proc.returncode != 0
    assert question in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert not dest.exists()
    # Not even the staging folder of the render is left in the parent.
    assert list((tmp_path / "out").iterdir()) == []


def test_malformed_data_option_names_the_fix(tmp_path):
    proc = studio("new", str(tmp_path / "app"), "--data", "app_name")
    assert proc.returncode == 2
    assert "KEY=VALUE" in proc.stderr


def test_existing_folder_is_not_overwritten(tmp_path):
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "keep.txt").write_text("mine")
    proc = studio("new", str(tmp_path / "app"), "--defaults", "--data", "app_name=sample-app")
    assert proc.returncode == 2
    assert "not empty" in proc.stderr
    assert [p.name for p in (tmp_path / "app").iterdir()] == ["keep.txt"]
