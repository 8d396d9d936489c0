"""The release copy is exact, and the SSH deploy step runs nothing a hostile ref smuggles in.

Real parts: git repositories, the rendered workflow's own script run by bash, the template's
deploy.py. Only `ssh` is replaced, by a stand-in that does what ssh does with its arguments: it
joins them with spaces into one command line for the remote shell (`sh -c`).
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.deploy import harness

DEPLOY_PY = harness.ROOT / "template" / "deploy" / "deploy.py"


def git(repo: Path, *args: str) -> None:
    harness.sh(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@e.test", *args])


def checkout(tmp_path: Path, files: dict[str, str]) -> Path:
    repo = tmp_path / "checkout"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "deploy").mkdir()
    (repo / "deploy" / "deploy.json").write_text('{"app_name": "copyapp"}')
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "release")
    return repo


def copy_release(repo: Path, app_dir: Path) -> subprocess.CompletedProcess:
    cmd = ["python3", str(DEPLOY_PY), "--config", str(repo / "deploy" / "deploy.json")]
    return harness.sh([*cmd, "--app-dir", str(app_dir), "--source", str(repo), "copy-release"], check=False)


def test_the_app_directory_holds_exactly_the_tracked_files_and_keeps_its_env(tmp_path):
    repo = checkout(tmp_path, {"app/main.py": "v1", "app/old.py": "old", "README.md": "r"})
    (repo / "untracked.txt").write_text("not in the commit")
    app_dir = tmp_path / "app"
    app_dir.mkdir()
    (app_dir / ".env").write_text("SECRET=kept\n")
    (app_dir / ".deploy").mkdir()
    (app_dir / ".deploy" / "state.json").write_text("{}")
    assert copy_release(repo, app_dir).returncode == 0
    assert (app_dir / "app" / "old.py").read_text() == "old"
    assert not (app_dir / "untracked.txt").exists()

    git(repo, "rm", "-q", "app/old.py")
    (repo / "app" / "main.py").write_text("v2")
    git(repo, "commit", "-q", "-am", "drop old.py")
    assert copy_release(repo, app_dir).returncode == 0
    assert not (app_dir / "app" / "old.py").exists()
    assert (app_dir / "app" / "main.py").read_text() == "v2"
    assert (app_dir / ".env").read_text() == "SECRET=kept\n"
    assert (app_dir / ".deploy" / "state.json").read_text() == "{}"


@pytest.mark.parametrize("tracked", [".env", ".deploy/state.json"])
def test_a_commit_that_tracks_the_box_files_is_refused_and_nothing_is_copied(tmp_path, tracked):
    repo = checkout(tmp_path, {"app/main.py": "v1", tracked: "FROM_THE_REPO=1\n"})
    app_dir = tmp_path / "app"
    (app_dir / ".deploy").mkdir(parents=True)
    (app_dir / ".env").write_text("SECRET=kept\n")
    proc = copy_release(repo, app_dir)
    assert proc.returncode == 2
    assert f"({tracked})" in proc.stderr and "git rm --cached" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (app_dir / "app").exists()
    assert (app_dir / ".env").read_text() == "SECRET=kept\n"


# ───────────────────────────── the SSH deploy step ─────────────────────────────


@pytest.fixture(scope="module")
def ssh_step(tmp_path_factory) -> tuple[str, Path]:
    """The rendered repo (committed) and the run script of its SSH deploy step."""
    dest = tmp_path_factory.mktemp("ssh") / "sshapp"
    harness.render_app(dest, app_name="sshapp", stack="python", deploy_via="ssh")
    git(dest, "init", "-q", "-b", "main")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "release")
    workflow = yaml.safe_load((dest / ".github" / "workflows" / "deploy-docker.yml").read_text())
    steps = workflow["jobs"]["deploy"]["steps"]
    script = next(s["run"] for s in steps if s.get("name") == "Copy the release and deploy it")
    return script, dest


def run_step(script: str, repo: Path, tmp_path: Path, ref: str) -> tuple[subprocess.CompletedProcess, Path]:
    """The step's script under bash, as on a GitHub runner, against a local stand-in `ssh`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    ssh = bin_dir / "ssh"
    ssh.write_text('#!/bin/sh\nshift\necho "$*" >> "$CALLS"\nexec sh -c "$*"\n')
    real_python = shutil.which("python3")
    # deploy.py's copy-release runs for real; `deploy`/`status` only record what they were given.
    python = bin_dir / "python3"
    python.write_text(
        "#!/bin/sh\n"
        'case " $* " in *" copy-release "*) exec ' + real_python + ' "$@";; esac\n'
        'printf "%s\\n" "$@" > "$ARGS.$$"\n'
    )
    for tool in (ssh, python):
        tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    app_dir = tmp_path / "box" / "sshapp"
    app_dir.mkdir(parents=True)
    (app_dir / ".env").write_text("X=1\n")
    env = dict(
        os.environ,
        PATH=f"{bin_dir}:{os.environ['PATH']}",
        APP_DIR=str(app_dir),
        APP_VERSION=ref,
        CALLS=str(tmp_path / "calls"),
        ARGS=str(tmp_path / "args"),
        MARK=str(tmp_path / "pwned"),
    )
    proc = subprocess.run(["bash", "-e", "-c", script], cwd=repo, env=env, text=True, capture_output=True)
    return proc, app_dir


HOSTILE = ["v1;touch $MARK", "v1$(touch $MARK)", "v1`touch $MARK`", "v1\ntouch $MARK", "v1' ; touch $MARK; '"]


@pytest.mark.parametrize("ref", HOSTILE)
def test_a_hostile_ref_is_refused_before_anything_crosses_ssh(ssh_step, tmp_path, ref):
    script, repo = ssh_step
    proc, _ = run_step(script, repo, tmp_path, ref)
    assert proc.returncode != 0
    assert "not a plain tag or commit name" in proc.stdout
    assert not (tmp_path / "pwned").exists()
    assert not (tmp_path / "calls").exists(), "ssh ran for a refused ref"


@pytest.mark.parametrize("ref", HOSTILE)
def test_quoting_alone_keeps_a_hostile_ref_one_argument_on_the_box(ssh_step, tmp_path, ref):
    """Without the pattern check, the value still reaches deploy.py as one literal argument."""
    script, repo = ssh_step
    unchecked = script.split("\nfi\n", 1)[1]
    assert 'APP_VERSION" =~' not in unchecked
    proc, app_dir = run_step(unchecked, repo, tmp_path, ref)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not (tmp_path / "pwned").exists()
    recorded = [p.read_text() for p in tmp_path.glob("args.*")]
    assert any(text == f"deploy/deploy.py\ndeploy\n--ref\n{ref}\n" for text in recorded), recorded
    assert (app_dir / "app" / "main.py").exists()  # the release was placed by copy-release


def test_a_plain_tag_deploys_over_the_stand_in_ssh(ssh_step, tmp_path):
    script, repo = ssh_step
    proc, app_dir = run_step(script, repo, tmp_path, "v1.2.3")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (app_dir / "deploy" / "deploy.py").exists()
    assert not (app_dir / ".deploy" / "incoming").exists()
