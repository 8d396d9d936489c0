"""`promtool test rules`: every alert rule fires on the series that should fire it and stays quiet
on the series that should not, with its labels and its expanded annotations."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass

import pytest

from devops_studio.monitoring import rules
from devops_studio.monitoring.render import runbook_base, yaml_text
from tests.monitoring.conftest import tool


@dataclass(frozen=True)
class Case:
    series: tuple[tuple[str, str], ...]  # (series selector, values)
    eval_time: str
    labels: dict[str, str] | None  # the alert's labels when it fires; None: it must stay quiet


SITE = 'job="site",app="todo-auth-app",instance="https://todo.example.com/healthz"'
SITE_LABELS = {"job": "site", "app": "todo-auth-app", "instance": "https://todo.example.com/healthz"}
DISK = 'job="node",node="chronos",instance="127.0.0.1:9100",mountpoint="/",fstype="ext4",device="/dev/sda1"'
DISK_LABELS = {
    "job": "node",
    "node": "chronos",
    "instance": "127.0.0.1:9100",
    "mountpoint": "/",
    "fstype": "ext4",
    "device": "/dev/sda1",
}
MEM = 'job="node",node="selene",instance="selene.lan:9100"'
MEM_LABELS = {"job": "node", "node": "selene", "instance": "selene.lan:9100"}
STUDIO = 'job="studio",app="todo-auth-app"'
STUDIO_LABELS = {"job": "studio", "app": "todo-auth-app"}
REQ = 'job="app",app="todo-auth-app"'
RUNNER = 'job="studio",node="chronos",runner="chronos"'
OLLAMA = 'job="ollama",node="selene",review="true",instance="http://selene.lan:11434/api/version"'
OLLAMA_ELSEWHERE = 'job="ollama",node="astraeus",review="false",instance="http://astraeus.lan:11434/api/version"'
DEPLOY = 'job="studio",app="todo-auth-app",release="20250101T000000Z-v1"'
# Seconds since the epoch at 15m into the test, plus 3 and 60 days.
IN_3_DAYS, IN_60_DAYS = 900 + 3 * 86400, 900 + 60 * 86400

CASES: dict[str, tuple[Case, Case]] = {
    "SiteDown": (
        Case(((f"probe_success{{{SITE}}}", "0x10"),), "5m", SITE_LABELS),
        Case(((f"probe_success{{{SITE}}}", "1x10"),), "5m", None),
    ),
    "SiteErrorRatio": (
        Case(
            (
                (f'http_requests_total{{{REQ},status="500"}}', "0+30x20"),
                (f'http_requests_total{{{REQ},status="200"}}', "0+30x20"),
            ),
            "16m",
            {"app": "todo-auth-app"},
        ),
        Case(
            (
                (f'http_requests_total{{{REQ},status="500"}}', "0+0x20"),
                (f'http_requests_total{{{REQ},status="200"}}', "0+30x20"),
            ),
            "16m",
            None,
        ),
    ),
    "SiteSlow": (
        Case(((f"probe_duration_seconds{{{SITE}}}", "3x20"),), "15m", SITE_LABELS),
        Case(((f"probe_duration_seconds{{{SITE}}}", "0.2x20"),), "15m", None),
    ),
    "CertificateExpiresSoon": (
        Case(((f"probe_ssl_earliest_cert_expiry{{{SITE}}}", f"{IN_3_DAYS}x20"),), "15m", SITE_LABELS),
        Case(((f"probe_ssl_earliest_cert_expiry{{{SITE}}}", f"{IN_60_DAYS}x20"),), "15m", None),
    ),
    "DiskAlmostFull": (
        Case(
            ((f"node_filesystem_avail_bytes{{{DISK}}}", "10x25"), (f"node_filesystem_size_bytes{{{DISK}}}", "100x25")),
            "20m",
            DISK_LABELS,
        ),
        Case(
            ((f"node_filesystem_avail_bytes{{{DISK}}}", "50x25"), (f"node_filesystem_size_bytes{{{DISK}}}", "100x25")),
            "20m",
            None,
        ),
    ),
    "MemoryPressure": (
        Case(
            ((f"node_memory_MemAvailable_bytes{{{MEM}}}", "5x20"), (f"node_memory_MemTotal_bytes{{{MEM}}}", "100x20")),
            "15m",
            MEM_LABELS,
        ),
        Case(
            ((f"node_memory_MemAvailable_bytes{{{MEM}}}", "50x20"), (f"node_memory_MemTotal_bytes{{{MEM}}}", "100x20")),
            "15m",
            None,
        ),
    ),
    "RunnerOffline": (
        Case(
            ((f"devops_studio_runner_online{{{RUNNER}}}", "0x20"),),
            "15m",
            {"job": "studio", "node": "chronos", "runner": "chronos"},
        ),
        Case(((f"devops_studio_runner_online{{{RUNNER}}}", "1x20"),), "15m", None),
    ),
    "OllamaDown": (
        Case(
            ((f"probe_success{{{OLLAMA}}}", "0x10"),),
            "8m",
            {"job": "ollama", "node": "selene", "review": "true", "instance": "http://selene.lan:11434/api/version"},
        ),
        # Down on a machine that does not review: not this alert.
        Case(((f"probe_success{{{OLLAMA_ELSEWHERE}}}", "0x10"),), "8m", None),
    ),
    "BackupStale": (
        Case(
            (
                (f"devops_studio_backup_last_success_timestamp_seconds{{{STUDIO}}}", "0x60"),
                (f"devops_studio_backup_max_age_seconds{{{STUDIO}}}", "600x60"),
                (f"devops_studio_backup_last_drill_ok{{{STUDIO}}}", "1x60"),
            ),
            "45m",
            STUDIO_LABELS,
        ),
        Case(
            (
                (f"devops_studio_backup_last_success_timestamp_seconds{{{STUDIO}}}", "0+60x60"),
                (f"devops_studio_backup_max_age_seconds{{{STUDIO}}}", "600x60"),
                (f"devops_studio_backup_last_drill_ok{{{STUDIO}}}", "1x60"),
            ),
            "45m",
            None,
        ),
    ),
    "DeployRolledBack": (
        Case(
            ((f"devops_studio_deploy_last_rolled_back{{{DEPLOY}}}", "1x5"),),
            "2m",
            {"job": "studio", "app": "todo-auth-app", "release": "20250101T000000Z-v1"},
        ),
        Case(((f"devops_studio_deploy_last_rolled_back{{{DEPLOY}}}", "0x5"),), "2m", None),
    ),
}


def expand(text: str, labels: dict[str, str]) -> str:
    return re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels.get(m.group(1), ""), text)


def test_every_rule_has_a_firing_and_a_quiet_case():
    assert set(CASES) == {rule.alert for rule in rules.RULES}


@pytest.mark.parametrize("fires", [True, False], ids=["fires", "quiet"])
def test_promtool_unit_tests(tmp_path, studio, fires):
    base = runbook_base(studio)
    (tmp_path / "rules.yml").write_text(yaml_text(rules.rules_file(base)))
    tests = []
    for rule in rules.RULES:
        case = CASES[rule.alert][0 if fires else 1]
        expected = []
        if case.labels is not None:
            annotations = rule.as_dict(base)["annotations"]
            expected = [
                {
                    "exp_labels": {**case.labels, "severity": rule.severity},
                    "exp_annotations": {k: expand(v, case.labels) for k, v in annotations.items()},
                }
            ]
        tests.append(
            {
                "name": f"{rule.alert} {'fires' if fires else 'stays quiet'}",
                "interval": "1m",
                "input_series": [{"series": s, "values": v} for s, v in case.series],
                "alert_rule_test": [{"eval_time": case.eval_time, "alertname": rule.alert, "exp_alerts": expected}],
            }
        )
    (tmp_path / "tests.yml").write_text(yaml_text({"rule_files": ["rules.yml"], "tests": tests}))
    proc = subprocess.run(
        [tool("promtool"), "test", "rules", "tests.yml"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout + proc.stderr
