"""prometheus.yml and the blackbox exporter's modules, from the inventory and the monitoring section."""

from __future__ import annotations

from devops_studio.inventory import Inventory
from devops_studio.monitoring.config import Monitoring
from devops_studio.monitoring.rules import Timing
from devops_studio.monitoring.targets import Endpoints, node_targets, ollama_targets

RULES_GLOB = "rules/*.yml"


def _probe_job(name: str, module: str, targets: list[dict], blackbox: str, timing: Timing) -> dict:
    """A blackbox job: each target's URL goes to the exporter as ?target=, and stays as `instance`."""
    return {
        "job_name": name,
        "metrics_path": "/probe",
        "params": {"module": [module]},
        "scrape_interval": timing.scrape_interval,
        "static_configs": targets,
        "relabel_configs": [
            {"source_labels": ["__address__"], "target_label": "__param_target"},
            {"source_labels": ["__param_target"], "target_label": "instance"},
            {"target_label": "__address__", "replacement": blackbox},
        ],
    }


def prometheus_config(
    inventory: Inventory, monitoring: Monitoring, endpoints: Endpoints | None = None, timing: Timing | None = None
) -> dict:
    endpoints = endpoints or Endpoints()
    timing = timing or Timing()
    nodes = node_targets(inventory, monitoring, endpoints)
    unix = [t for t in nodes if t.os != "windows"]
    windows = [t for t in nodes if t.os == "windows"]

    def node_group(target) -> dict:
        return {"targets": [target.address], "labels": {"node": target.node, "os": target.os}}

    jobs: list[dict] = [
        {"job_name": "prometheus", "static_configs": [{"targets": [endpoints.prometheus]}]},
        {"job_name": "alertmanager", "static_configs": [{"targets": [endpoints.alertmanager]}]},
    ]
    if unix:
        jobs.append({"job_name": "node", "static_configs": [node_group(t) for t in unix]})
    if windows:
        jobs.append({"job_name": "windows", "static_configs": [node_group(t) for t in windows]})
    here = {"node": monitoring.node}
    jobs += [
        {"job_name": "cadvisor", "static_configs": [{"targets": [endpoints.cadvisor], "labels": here}]},
        {"job_name": "docker", "static_configs": [{"targets": [endpoints.docker], "labels": here}]},
        # The facts name their own node (a runner's, an Ollama's): those labels win over the target's.
        {
            "job_name": "studio",
            "honor_labels": True,
            "static_configs": [{"targets": [endpoints.facts], "labels": here}],
        },
    ]
    sites = [{"targets": [f"{app.url}/healthz"], "labels": {"app": app.name}} for app in monitoring.apps]
    if sites:
        jobs.append(_probe_job("site", "healthz", sites, endpoints.blackbox, timing))
    ollamas = [
        {"targets": [f"{t.url}/api/version"], "labels": {"node": t.node, "review": str(t.review).lower()}}
        for t in ollama_targets(inventory, monitoring)
    ]
    if ollamas:
        jobs.append(_probe_job("ollama", "http_ok", ollamas, endpoints.blackbox, timing))
    for app in monitoring.apps:
        if not app.metrics:
            continue
        scheme, _, address = app.url.partition("://")
        jobs.append(
            {
                "job_name": f"app-{app.name}",
                "scheme": scheme,
                "metrics_path": "/metrics",
                "static_configs": [{"targets": [address], "labels": {"app": app.name, "job": "app"}}],
            }
        )
    return {
        "global": {
            "scrape_interval": timing.scrape_interval,
            "evaluation_interval": timing.evaluation_interval,
            "external_labels": {"lab": inventory.owner},
        },
        "rule_files": [RULES_GLOB],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [endpoints.alertmanager]}]}]},
        "scrape_configs": jobs,
    }


def blackbox_config() -> dict:
    """healthz: an app's public /healthz over https (the certificate's expiry comes with it); http_ok: Ollama."""
    return {
        "modules": {
            "healthz": {
                "prober": "http",
                "timeout": "10s",
                "http": {
                    "valid_status_codes": [200],
                    "preferred_ip_protocol": "ip4",
                    "follow_redirects": False,
                },
            },
            "http_ok": {
                "prober": "http",
                "timeout": "5s",
                "http": {"valid_status_codes": [200], "preferred_ip_protocol": "ip4"},
            },
        }
    }
