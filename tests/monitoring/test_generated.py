"""What `monitoring render` writes for examples/studio.yml passes the real tools' own checks."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from ruamel.yaml import YAML

from devops_studio.cli import main
from devops_studio.lint.base import LintContext
from devops_studio.lint.checks import Actionlint, Parses, Yamllint, Zizmor, compose_command
from devops_studio.lint.runner import run_checks
from devops_studio.monitoring import dashboards, rules, workflow
from tests.monitoring.conftest import EXAMPLE, tool


def run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def load(path: Path):
    return YAML(typ="safe").load(path.read_text())


def test_promtool_accepts_the_config_and_the_rules(rendered):
    proc = run([tool("promtool"), "check", "config", "prometheus/prometheus.yml"], rendered)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 rule files found" in proc.stdout
    proc = run([tool("promtool"), "check", "rules", "prometheus/rules/devops-studio.yml"], rendered)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{len(rules.RULES)} rules found" in proc.stdout


def test_amtool_and_the_blackbox_exporter_accept_their_configs(rendered):
    proc = run([tool("amtool"), "check-config", "alertmanager/alertmanager.yml"], rendered)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = run([tool("blackbox"), "--config.check", "--config.file", "blackbox/blackbox.yml"], rendered)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_rule_has_a_runbook_and_the_doc_has_its_section():
    doc = (EXAMPLE.parents[1] / "docs" / "monitoring.md").read_text()
    for rule in rules.RULES:
        assert rule.runbook and rule.summary
        assert f'<a id="{rule.anchor()}"></a>' in doc, rule.alert


def test_the_scrape_jobs_cover_the_inventory_and_the_apps(rendered):
    jobs = {job["job_name"]: job for job in load(rendered / "prometheus/prometheus.yml")["scrape_configs"]}
    node_targets = {g["labels"]["node"]: g["targets"][0] for g in jobs["node"]["static_configs"]}
    assert node_targets == {"chronos": "127.0.0.1:9100", "astraeus": "astraeus.lan:9100", "selene": "selene.lan:9100"}
    assert jobs["windows"]["static_configs"][0]["targets"] == ["windows.lan:9182"]
    assert {"cadvisor", "docker", "studio", "site", "ollama", "app-todo-auth-app"} <= set(jobs)
    assert "app-some-api" not in jobs  # metrics: false
    sites = [g["targets"][0] for g in jobs["site"]["static_configs"]]
    assert sites == ["https://todo.example.com/healthz", "https://api.example.com/healthz"]
    review = [g for g in jobs["ollama"]["static_configs"] if g["labels"]["review"] == "true"]
    assert [g["targets"][0] for g in review] == ["http://selene.lan:11434/api/version"]


def test_alertmanager_routes_to_each_channel_without_a_secret_in_the_file(rendered, studio):
    text = (rendered / "alertmanager/alertmanager.yml").read_text()
    receiver = load(rendered / "alertmanager/alertmanager.yml")["receivers"][0]
    assert receiver["email_configs"][0]["auth_password_file"] == "/etc/devops-studio/monitoring/smtp-password"
    assert receiver["slack_configs"][0]["api_url_file"] == "/etc/devops-studio/monitoring/discord-webhook"
    hooks = [h["url"] for h in receiver["webhook_configs"]]
    assert hooks == ["http://127.0.0.1:9469/notify/ntfy", "http://127.0.0.1:9469/notify/github"]
    assert all(h["send_resolved"] for h in receiver["webhook_configs"])
    assert "password:" not in text and "api_url:" not in text


def test_the_compose_file_pins_images_names_volumes_checks_health_and_stays_on_loopback(rendered):
    proc = run([*compose_command(), "--project-directory", str(rendered), "config", "--quiet"], rendered)
    assert proc.returncode == 0, proc.stderr
    spec = load(rendered / "compose.yaml")
    assert set(spec["volumes"]) == {"prometheus-data", "alertmanager-data", "grafana-data"}
    for name, service in spec["services"].items():
        image = service["image"]
        assert ":" in image and not image.endswith(":latest"), name
        assert "healthcheck" in service, name
        assert "ports" not in service, name  # host network, each listening on 127.0.0.1 only
        assert service["network_mode"] == "host", name
        listen = json.dumps(service.get("command", [])) + json.dumps(service.get("environment", {}))
        assert "0.0.0.0" not in listen, name
    assert "--web.listen-address=127.0.0.1:9090" in spec["services"]["prometheus"]["command"]
    assert spec["services"]["grafana"]["environment"]["GF_SERVER_HTTP_ADDR"] == "127.0.0.1"
    assert "-listen_ip=127.0.0.1" in spec["services"]["cadvisor"]["command"]
    # Secrets reach the containers as read-only files or pass-through variables, never as values.
    assert (
        "/etc/devops-studio/monitoring/smtp-password:/etc/devops-studio/monitoring/smtp-password:ro"
        in (spec["services"]["alertmanager"]["volumes"])
    )
    assert spec["services"]["facts"]["environment"] == {"GH_TOKEN": "${GH_TOKEN:-}"}
    # Apps' /metrics answer only from loopback and private addresses: Prometheus reaches them by name
    # on this box's loopback. some-api has metrics: false and is not scraped at all.
    assert spec["services"]["prometheus"]["extra_hosts"] == ["todo.example.com:127.0.0.1"]


def test_dashboards_are_generated_and_provisioned(rendered):
    boards = sorted((rendered / "grafana/dashboards").glob("*.json"))
    assert [b.stem for b in boards] == ["lab", "machines", "sites"]
    queries = {q for _, _, q in dashboards.panel_queries()}
    for board in boards:
        data = json.loads(board.read_text())
        assert data["uid"] == f"studio-{board.stem}"
        for panel in data["panels"]:
            assert panel["datasource"]["uid"] == dashboards.DATASOURCE_UID
            assert panel["targets"][0]["expr"] in queries
    provider = load(rendered / "grafana/provisioning/dashboards/devops-studio.yml")
    assert provider["providers"][0]["options"]["path"] == dashboards.DASHBOARD_FOLDER


def test_the_outside_in_workflow_passes_the_lint_bar(tmp_path, studio):
    (tmp_path / ".github/workflows").mkdir(parents=True)
    (tmp_path / workflow.PATH).write_text(workflow.workflow_text(studio))
    results = run_checks(LintContext.load(tmp_path), [Parses, Actionlint, Zizmor, Yamllint])
    assert set(results) == {"parses", "actionlint", "zizmor", "yamllint"}
    assert all(not findings for findings in results.values()), results
    spec = load(tmp_path / workflow.PATH)
    job = spec["jobs"]["probe"]
    assert job["runs-on"] == "ubuntu-24.04" and spec["permissions"] == {}
    assert [row["app"] for row in job["strategy"]["matrix"]["include"]] == ["todo-auth-app", "some-api"]


def test_the_cli_renders_the_stack_and_prints_the_command_that_starts_it(tmp_path, capsys):
    out, flow = tmp_path / "stack", tmp_path / "repo" / "outside-in.yml"
    assert main(["monitoring", "render", "-i", str(EXAMPLE), "--out", str(out), "--workflow", str(flow)]) == 0
    assert (out / "compose.yaml").is_file() and (out / "facts/facts.py").is_file() and flow.is_file()
    capsys.readouterr()
    assert main(["monitoring", "up", "--out", str(out), "--print"]) == 0
    assert capsys.readouterr().out.strip() == f"docker compose --project-directory {out} up -d --wait"
    assert main(["monitoring", "up", "--out", str(tmp_path / "nothing"), "--print"]) == 2
