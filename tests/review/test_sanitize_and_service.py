"""The one sanitiser, the body cap, and the reviewer's service units."""

from __future__ import annotations

import plistlib
import subprocess
import sys

import pytest

from devops_studio.github_api import BODY_LIMIT as GITHUB_BODY_LIMIT
from devops_studio.review import service, summary
from devops_studio.review.diff import ChangedFiles
from devops_studio.review.reviewer import PartResult
from devops_studio.review.sanitize import code_span, fence, safe_text
from devops_studio.review.texts import TEXT

from .llm_review_support import SUMMARY_MARKER


def test_code_span_and_fence_cannot_be_broken_out_of():
    assert code_span("a`b") == "``a`b``"
    assert code_span("`x`") == "`` `x` ``"
    assert code_span("x\ny") == "`x y`"
    block = fence("text\n````\n@a <img>")
    assert block.startswith("`````\n") and block.endswith("\n`````")


def test_safe_text_defuses_mentions_html_images_fences_and_markers():
    text = safe_text(f"@team/x hi <script>x</script> ![a](http://e/p.png) {SUMMARY_MARKER}\n```\n<!-- hidden")
    assert "@\u200dteam" in text and "<script>" not in text and "![" not in text
    assert SUMMARY_MARKER not in text and "hidden" not in text and "\n```" not in text


def test_summary_is_capped_at_githubs_limit_with_a_note():
    results = [PartResult(paths=[f"f{i}.py"], summary="x" * 5000) for i in range(40)]
    run = summary.Run(ChangedFiles([], {}, [], False), results, 40, [], 40, summary.Findings(), 0, "", "footer")
    body = summary.body(TEXT["en"], run)
    assert len(body) <= GITHUB_BODY_LIMIT and body.startswith(SUMMARY_MARKER)
    assert body.endswith(TEXT["en"]["body_cut"])


SPEC = service.ServiceSpec(
    program="/opt/devops-studio/bin/devops-studio",
    inventory="/etc/devops-studio/studio.yml",
    state_file="/var/lib/devops-studio-review/state.json",
    token_file="/etc/devops-studio/review-token",
)


def test_systemd_unit_is_hardened_and_holds_no_token():
    unit = service.systemd_unit(SPEC)
    for line in ("NoNewPrivileges=yes", "ProtectSystem=strict", "CapabilityBoundingSet=", "User=devops-review",
                 "LoadCredential=github-token:/etc/devops-studio/review-token", "PrivateDevices=yes"):  # fmt: skip
        assert line in unit.splitlines()
    assert "ghs_" not in unit and "GH_TOKEN" not in unit


def test_launchd_plist_runs_the_reviewer_as_its_user():
    plist = plistlib.loads(service.launchd_plist(SPEC))
    assert plist["ProgramArguments"][1:3] == ["review", "run"] and plist["UserName"] == "devops-review"
    assert plist["EnvironmentVariables"] == {"DEVOPS_STUDIO_REVIEW_TOKEN_FILE": "/etc/devops-studio/review-token"}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("inventory", "/etc/x y.yml"),
        ("state_file", "/var/lib/x\nExecStartPre=/bin/sh"),
        ("token_file", "relative"),
        ("program", "/opt/../bin/sh"),
        ("user", "root"),
    ],  # fmt: skip
)
def test_unit_values_that_could_add_directives_are_refused(field, value):
    bad = service.ServiceSpec(**{**SPEC.__dict__, field: value})
    with pytest.raises(service.ServiceError, match=field):
        service.systemd_unit(bad)


def test_install_dry_run_prints_the_unit_for_the_review_node(tmp_path):
    inventory = tmp_path / "studio.yml"
    inventory.write_text(
        "version: 1\ngithub: {owner: octo, repos: [app]}\nmodels: {olmo-3: {family: olmo3, memory_gb: 8}}\n"
        "nodes:\n  selene: {os: macos, arch: arm64, memory_gb: 64, roles: [review], ollama: {models: [olmo-3]}}\n"
        "review: {node: selene, model: olmo-3, author_models: [], status_check: true}\n"
    )
    state = tmp_path / "state" / "s.json"
    cmd = [sys.executable, "-m", "devops_studio", "review", "install", "--dry-run", "--inventory", str(inventory),
           "--state-file", str(state), "--token-file", "/etc/devops-studio/token"]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert (
        "/Library/LaunchDaemons/org.devops-studio.review.plist" in done.stdout and "<key>UserName</key>" in done.stdout
    )
    assert not state.exists()
    done = subprocess.run([*cmd, "--os", "linux"], capture_output=True, text=True, check=False)
    assert "NoNewPrivileges=yes" in done.stdout
