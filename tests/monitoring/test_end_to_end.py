"""End to end on loopback: the real Prometheus, Alertmanager, blackbox and node exporters (Debian's
packages) run what `monitoring render` generates, with short intervals, against a rendered app's real
container behind a real nginx (the site that goes down is that container stopping). An alert must reach the
webhook receiver within the rule's `for` plus one evaluation interval (plus one scrape, which is when
the change is first seen, and a delivery margin), and its resolve must follow.

Grafana itself cannot be started here (no package in the distribution, no image registry): the
dashboards' queries are run against the real Prometheus instead, and Grafana is not claimed to run.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from devops_studio.monitoring import config, dashboards, render
from devops_studio.monitoring.rules import Timing
from devops_studio.monitoring.targets import Endpoints
from tests.monitoring import lab
from tests.monitoring.conftest import EXAMPLE, tool

pytestmark = pytest.mark.xdist_group("monitoring")

SCRAPE = EVALUATION = 1.0
FOR = 3.0
DELIVERY = 3.0  # Alertmanager's group_wait (0s) and the HTTP round trips, with room for a busy machine
FAST = {"SiteDown": "3s", "CertificateExpiresSoon": "3s", "BackupStale": "3s"}
# Panels whose source cannot run on this machine: no cAdvisor package in the distribution and no
# registry for its image, and the shared Docker Engine exposes no metrics-addr. Their queries still run.
NOT_HERE = {"Containers: CPU": "cAdvisor", "Docker Engine: running containers": "cAdvisor"}


def _studio_yml(tmp: Path, site_port: int, services: int, receiver: int, apps_dir: Path) -> Path:
    text = EXAMPLE.read_text().split("\nmonitoring:\n")[0]
    text = text.replace("owner: chronos-lab ", f"owner: chronos-lab\n  api_url: http://127.0.0.1:{services}\n  #")
    text = text.replace("apps_dir: /home/chronos/apps", f"apps_dir: {apps_dir}")
    text = text.replace("host: selene.lan", "host: 127.0.0.1")
    text = text.replace("      models: [olmo-3]\n", f"      url: http://127.0.0.1:{services}\n      models: [olmo-3]\n")
    (tmp / "github-token").write_text("test-token\n")
    text += f"""
monitoring:
  apps:
    demo:
      url: https://127.0.0.1:{site_port}
  github_token_file: {tmp / "github-token"}
  fleet_status_file: {tmp / "fleet-status.json"}
  notify:
    ntfy:
      url: http://127.0.0.1:{receiver}/lab-alerts
"""
    path = tmp / "studio.yml"
    path.write_text(text)
    return path


class Lab:
    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.procs: list[subprocess.Popen] = []
        self.site = lab.Site(tmp, lab.free_port())
        self.good_cert = lab.certificate(tmp / "cert-good", days=60)
        self.short_cert = lab.certificate(tmp / "cert-short", days=2)
        self.services = lab.Services("chronos-lab", "todo-auth-app")
        self.receiver = lab.Receiver()
        self.apps = tmp / "apps"
        self.status_dir = self.apps / "todo-auth-app" / ".deploy" / "backup"
        lab.backup_status(self.status_dir, dt.timedelta(hours=1))
        journal = {
            "version": 1,
            "active": "r2",
            "releases": [
                {"id": "r1", "kind": "deploy", "status": "previous", "time": "2025-01-01T00:00:00Z"},
                {"id": "r2", "kind": "deploy", "status": "active", "time": "2025-01-02T00:00:00Z"},
            ],
        }
        (self.apps / "todo-auth-app" / ".deploy" / "state.json").write_text(json.dumps(journal))
        (tmp / "fleet-status.json").write_text(json.dumps({"repos": [{"repo": "todo-auth-app", "behind": False}]}))
        self.endpoints = Endpoints(
            **{
                name: f"127.0.0.1:{lab.free_port()}"
                for name in ("prometheus", "alertmanager", "blackbox", "facts", "node_exporter", "cadvisor", "docker")
            }
        )
        path = _studio_yml(tmp, self.site.port, self.services.port, self.receiver.port, self.apps)
        self.studio = config.load(path)
        self.out = tmp / "stack"
        options = render.Options(
            self.endpoints,
            Timing(f"{SCRAPE:g}s", f"{EVALUATION:g}s", FAST),
            (f"http://127.0.0.1:{self.receiver.port}/alertmanager",),
        )
        render.render(self.studio, self.out, options)
        self._trust_the_test_certificate()

    def _edit(self, relative: str, change) -> None:
        yaml = YAML(typ="safe", pure=True)
        path = self.out / relative
        data = yaml.load(path.read_text())
        change(data)
        with path.open("w") as handle:
            yaml.dump(data, handle)

    def _trust_the_test_certificate(self) -> None:
        ca = str(self.good_cert[0])

        def blackbox(data):
            data["modules"]["healthz"]["http"]["tls_config"] = {"ca_file": ca}

        def prometheus(data):
            for job in data["scrape_configs"]:
                if job["job_name"] == "app-demo":
                    job["tls_config"] = {"ca_file": ca}

        def alertmanager(data):
            data["route"] |= {"group_wait": "0s", "group_interval": "1s", "repeat_interval": "1h"}

        self._edit("blackbox/blackbox.yml", blackbox)
        self._edit("prometheus/prometheus.yml", prometheus)
        self._edit("alertmanager/alertmanager.yml", alertmanager)
        facts = self.out / "facts/facts.json"
        facts.write_text(json.dumps(json.loads(facts.read_text()) | {"refresh_seconds": 1}))

    def use_certificate(self, cert) -> None:
        """Serve `cert` from now on (the blackbox exporter trusts either: both are in its CA file)."""
        self.site.use_certificate(cert)

    def spawn(self, argv: list[str], name: str) -> None:
        log = (self.tmp / f"{name}.log").open("w")
        self.procs.append(subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=self.tmp))

    def start(self) -> None:
        # One CA file with both test certificates, so swapping them changes only the expiry.
        bundle = self.tmp / "ca.pem"
        bundle.write_text(self.good_cert[0].read_text() + self.short_cert[0].read_text())
        for relative in ("blackbox/blackbox.yml", "prometheus/prometheus.yml"):
            path = self.out / relative
            path.write_text(path.read_text().replace(str(self.good_cert[0]), str(bundle)))
        self.site.build(self.good_cert)
        e = self.endpoints
        self.spawn(
            [
                tool("node_exporter"),
                f"--web.listen-address={e.node_exporter}",
                "--collector.disable-defaults",
                "--collector.filesystem",
                "--collector.meminfo",
                "--collector.loadavg",
            ],
            "node-exporter",
        )
        self.spawn(
            [
                tool("blackbox"),
                f"--config.file={self.out / 'blackbox/blackbox.yml'}",
                f"--web.listen-address={e.blackbox}",
            ],
            "blackbox",
        )
        self.spawn(
            [sys.executable, str(self.out / "facts/facts.py"), "--config", str(self.out / "facts/facts.json")], "facts"
        )
        self.spawn(
            [
                tool("alertmanager"),
                f"--config.file={self.out / 'alertmanager/alertmanager.yml'}",
                f"--storage.path={self.tmp / 'am-data'}",
                f"--web.listen-address={e.alertmanager}",
                "--cluster.listen-address=",
            ],
            "alertmanager",
        )
        self.spawn(
            [
                tool("prometheus"),
                f"--config.file={self.out / 'prometheus/prometheus.yml'}",
                f"--storage.tsdb.path={self.tmp / 'prom-data'}",
                f"--web.listen-address={e.prometheus}",
            ],
            "prometheus",
        )
        for address, path in (
            (e.prometheus, "/-/ready"),
            (e.alertmanager, "/-/ready"),
            (e.facts, "/healthz"),
            (e.blackbox, "/-/healthy"),
            (e.node_exporter, "/metrics"),
        ):
            lab.wait_http(f"http://{address}{path}", timeout=60)

    def stop(self) -> None:
        self.site.close()
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()

    def targets(self) -> str:
        with urllib.request.urlopen(f"http://{self.endpoints.prometheus}/api/v1/targets", timeout=10) as response:
            active = json.loads(response.read())["data"]["activeTargets"]
        return "\n".join(f"{t['labels']['job']} {t['scrapeUrl']} {t['health']} {t['lastError']}" for t in active)

    def facts_text(self) -> str:
        with urllib.request.urlopen(f"http://{self.endpoints.facts}/metrics", timeout=10) as response:
            return response.read().decode()

    def logs(self) -> str:
        return "\n".join(f"== {p.name}\n{p.read_text()[-2000:]}" for p in sorted(self.tmp.glob("*.log")))

    def until(self, expr: str, timeout: float = 30) -> list[dict]:
        deadline = time.monotonic() + timeout
        while True:
            result = lab.query(self.endpoints.prometheus, expr)
            if result or time.monotonic() > deadline:
                return result
            time.sleep(0.5)


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    lab_ = Lab(tmp_path_factory.mktemp("monitoring-lab"))
    try:
        lab_.start()
        # Everything scraped at least twice (rate() needs two samples).
        assert lab_.until('probe_success{job="site"} == 1'), lab_.logs()
        time.sleep(3 * SCRAPE)
        yield lab_
    finally:
        lab_.stop()


def test_every_dashboard_panel_query_returns_data(running):
    empty = []
    for board, title, expr in dashboards.panel_queries():
        result = running.until(expr, timeout=10 if title not in NOT_HERE else 0)
        if title in NOT_HERE:
            continue  # the query ran (status success); its source does not run here, see NOT_HERE
        if not result:
            empty.append(f"{board}/{title}: {expr}")
    assert not empty, "panels without data:\n" + "\n".join(empty) + "\n" + running.logs()


def test_the_lab_facts_are_exported(running):
    online = {r["metric"]["runner"]: r["value"][1] for r in running.until("devops_studio_runner_online")}
    assert online == {"chronos": "1", "selene": "0", "windows": "1"}
    present = running.until('devops_studio_ollama_model_present{node="selene",model="olmo-3"}')
    assert present and present[0]["value"][1] == "1", running.targets()
    assert running.until('devops_studio_deploy_last_success{app="todo-auth-app"} == 1')
    assert running.until('devops_studio_template_behind{repo="todo-auth-app"} == 0')
    assert running.until('probe_success{job="ollama",review="true",node="selene"} == 1')


def _round_trip(running, alert: str, break_it, mend_it):
    since = time.monotonic()
    break_it()
    fired = running.receiver.wait_for(lab.alert_is(alert, "firing"), since, timeout=60)
    assert fired, f"{alert} never reached the receiver\n{running.logs()}"
    elapsed = fired["at"] - since
    assert elapsed <= FOR + EVALUATION + SCRAPE + DELIVERY, f"{alert} took {elapsed:.1f} s"
    since = time.monotonic()
    mend_it()
    resolved = running.receiver.wait_for(lab.alert_is(alert, "resolved"), since, timeout=60)
    assert resolved, f"{alert} never resolved\n{running.logs()}"
    return fired, resolved


def test_a_stopped_site_pages_and_its_return_resolves(running):
    fired, _ = _round_trip(running, "SiteDown", running.site.stop, lambda: running.site.start(running.good_cert))
    assert fired["labels"]["app"] == "demo" and fired["labels"]["severity"] == "page"
    # The same alert went through the relay to ntfy, and so did its resolve.
    relayed = running.receiver.wait_for(
        lambda e: e["via"] == "ntfy" and e["title"] == "RESOLVED [alert] SiteDown demo", 0, timeout=10
    )
    assert relayed and "Runbook:" in relayed["text"]


def test_a_certificate_about_to_expire_pages(running):
    fired, _ = _round_trip(
        running,
        "CertificateExpiresSoon",
        lambda: running.use_certificate(running.short_cert),
        lambda: running.use_certificate(running.good_cert),
    )
    assert fired["labels"]["app"] == "demo"


def test_a_stale_backup_pages_and_a_fresh_one_resolves(running):
    fired, _ = _round_trip(
        running,
        "BackupStale",
        lambda: lab.backup_status(running.status_dir, dt.timedelta(hours=30)),
        lambda: lab.backup_status(running.status_dir, dt.timedelta(minutes=1)),
    )
    assert fired["labels"]["app"] == "todo-auth-app"
