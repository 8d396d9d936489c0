"""deploy.py at the door: every expected failure is one line `error: <what> (<field>): <fix>` with
a documented exit code (no traceback unless --debug), .env is read as Compose reads it, root does
not leave root-owned files behind, and a lock waiter leaves the holder's line alone."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

DEPLOY_DIR = Path(__file__).resolve().parents[2] / "template" / "deploy"
DEPLOY_PY = DEPLOY_DIR / "deploy.py"


def box(tmp_path: Path, **config) -> tuple[Path, Path]:
    """(deploy.json, app dir) of a small app; the app dir holds a .env."""
    app_dir = tmp_path / "apps" / "errapp"
    (app_dir / ".deploy").mkdir(parents=True)
    (app_dir / ".env").write_text("X=1\n")
    conf = tmp_path / "src" / "deploy" / "deploy.json"
    conf.parent.mkdir(parents=True)
    conf.write_text(json.dumps({"app_name": "errapp", "apps_dir": str(tmp_path / "apps"), **config}))
    return conf, app_dir


def deploy_py(conf: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(DEPLOY_PY), "--config", str(conf), "--source", str(conf.parent.parent), *args],
        capture_output=True,
        text=True,
        env=dict(os.environ, **(env or {})),
        timeout=60,
    )


def test_a_non_numeric_port_is_named_with_its_fix_and_no_traceback(tmp_path):
    conf, _ = box(tmp_path, app_port="80a")
    proc = deploy_py(conf, "status")
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"error: '80a' is not a whole number (app_port in {conf}): set it")
    assert "Traceback" not in proc.stderr
    proc = deploy_py(conf, "status", env={"DEPLOY_APP_PORT": "99999"})
    assert proc.returncode == 2 and "(DEPLOY_APP_PORT): use 1-65535" in proc.stderr


def test_a_corrupt_state_file_is_named_and_the_trace_appears_only_with_debug(tmp_path):
    conf, app_dir = box(tmp_path)
    (app_dir / ".deploy" / "state.json").write_text('{"active": "x", "releases": [')
    proc = deploy_py(conf, "status")
    assert proc.returncode == 2
    assert f"({app_dir / '.deploy' / 'state.json'}): move it aside" in proc.stderr
    assert "Traceback" not in proc.stderr
    debug = deploy_py(conf, "--debug", "status")
    assert debug.returncode == 2 and "Traceback" in debug.stderr


def test_root_is_refused_where_another_user_owns_the_app_dir_unless_told(tmp_path):
    if os.geteuid() != 0:
        pytest.fail("this test checks the root path: run the suite as root, as CI does")
    conf, app_dir = box(tmp_path)
    (conf.parent.parent / "app.txt").write_text("release file")
    os.chown(app_dir, 65534, 65534)
    proc = deploy_py(conf, "copy-release")
    assert proc.returncode == 2
    assert "leave root-owned files" in proc.stderr and "--allow-root" in proc.stderr
    assert not (app_dir / "app.txt").exists()
    os.chown(app_dir, 0, 0)  # root owns it: root is the deploy user, the real path runs
    assert deploy_py(conf, "copy-release").returncode == 0
    assert (app_dir / "app.txt").read_text() == "release file"


def load_core():
    sys.path.insert(0, str(DEPLOY_DIR))
    try:
        spec = importlib.util.spec_from_file_location("deploy_core_by_path", DEPLOY_DIR / "deploy_core.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(DEPLOY_DIR))


def test_a_lock_waiter_that_gives_up_leaves_the_holders_line(tmp_path):
    conf, app_dir = box(tmp_path)
    (conf.parent.parent / "app.txt").write_text("x")
    core = load_core()
    settings_ = core.Settings.load(conf, None)
    with core.app_lock(core.AppDir(settings_), 5, wait=False):
        line = (app_dir / ".deploy" / "lock").read_text()
        assert f"pid {os.getpid()}" in line
        proc = deploy_py(conf, "copy-release", env={"DEPLOY_LOCK_TIMEOUT": "1"})
        assert proc.returncode == 3, proc.stderr
        assert "still holds the lock" in proc.stderr
        assert (app_dir / ".deploy" / "lock").read_text() == line


# ───────────────────────────── .env as Compose reads it ─────────────────────────────


def env_box(tmp_path: Path, env_text: str, example: str = "DB_PASSWORD=\n") -> Path:
    conf, app_dir = box(tmp_path)
    (conf.parent.parent / ".env.example").write_text(example)
    (conf.parent.parent / "compose.yaml").write_text("services: {}\n")
    (app_dir / ".env").write_text(env_text)
    (app_dir / ".env").chmod(0o600)
    return conf


def test_an_unquoted_dollar_is_warned_about_and_its_cut_value_counts_as_empty(tmp_path):
    conf = env_box(tmp_path, "DB_PASSWORD=$ecret\n")
    proc = deploy_py(conf, "check-env")
    assert proc.returncode == 2
    assert "warning: the value of DB_PASSWORD holds a `$`" in proc.stdout
    assert "empty: DB_PASSWORD" in proc.stderr
    assert "ecret" not in proc.stdout + proc.stderr


@pytest.mark.parametrize("line", ["DB_PASSWORD='pa$word'", "DB_PASSWORD=pa$$word", "DB_PASSWORD=plain"])
def test_quoted_or_escaped_dollars_pass_without_a_warning(tmp_path, line):
    conf = env_box(tmp_path, line + "\n")
    proc = deploy_py(conf, "check-env")
    assert proc.returncode == 0, proc.stderr
    assert "warning" not in proc.stdout
    assert "word" not in proc.stdout + proc.stderr


def compose_value(tmp: Path, value: str) -> str:
    (tmp / ".env").write_text(f"V={value}\n")
    (tmp / "c.json").write_text(json.dumps({"name": "envprop", "services": {}, "x-v": "${V-}"}))
    proc = subprocess.run(
        ["docker", "compose", "-f", str(tmp / "c.json"), "--env-file", str(tmp / ".env"), "config", "--format", "json"],
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "V"},
    )
    assert proc.returncode == 0 or "$" in value, proc.stderr
    return json.loads(proc.stdout)["x-v"].replace("$$", "$") if proc.returncode == 0 else None


@settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet="ab1_{}-:?+$", min_size=1, max_size=12))
def test_no_warning_means_compose_reads_the_value_as_written(tmp_path, value):
    """Property, against Compose itself: when check-env stays quiet, Compose's value is the text
    written, with `$$` meaning `$`. (`config` prints a literal `$` as `$$`, hence the replace.)"""
    (tmp_path / ".env").write_text(f"V={value}\n")
    sys.path.insert(0, str(DEPLOY_DIR))
    try:
        import deploy_envfile
    finally:
        sys.path.remove(str(DEPLOY_DIR))
    warned = deploy_envfile.dollar_warnings(tmp_path / ".env")
    if not warned:
        assert compose_value(tmp_path, value) == value.replace("$$", "$")


def test_env_values_and_url_credentials_never_reach_an_error(tmp_path):
    conf, app_dir = box(tmp_path, registry_url="https://bob:hunter22@registry.example/app", deploy_method="registry")
    (app_dir / ".env").write_text("DB_PASSWORD=s3cr3t-value\n")
    # A corrupt journal whose error would quote the file: the message goes through the redactor.
    (app_dir / ".deploy" / "state.json").write_text('{"x": "s3cr3t-value" ')
    proc = deploy_py(conf, "status")
    assert proc.returncode == 2
    assert "s3cr3t-value" not in proc.stdout + proc.stderr
    sys.path.insert(0, str(DEPLOY_DIR))
    try:
        import deploy_core
    finally:
        sys.path.remove(str(DEPLOY_DIR))
    deploy_core.register_secrets(["s3cr3t-value"])
    assert deploy_core.redact("push https://bob:hunter22@registry.example/app with s3cr3t-value") == (
        "push https://***@registry.example/app with ***"
    )
