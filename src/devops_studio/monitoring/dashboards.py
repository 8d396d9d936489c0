"""Grafana dashboards as code (grafanalib), and the provisioning that loads them with the data source.

Each panel is declared once in PANELS-style tuples below; `panel_queries` lists every query so the
tests can run each one against a real Prometheus. The JSON is generated, never edited by hand.
"""

from __future__ import annotations

import json

from grafanalib import core as g
from grafanalib._gen import DashboardEncoder

from devops_studio.monitoring.config import Studio
from devops_studio.monitoring.targets import Endpoints

DATASOURCE_UID = "prometheus"
DATASOURCE = {"type": "prometheus", "uid": DATASOURCE_UID}
DASHBOARD_FOLDER = "/var/lib/grafana-dashboards"

# (title, query, legend, unit, kind): kind "stat" shows the newest value, "series" a graph.
Panel = tuple[str, str, str, str, str]

SITES: tuple[Panel, ...] = (
    ("Sites up", 'probe_success{job="site"}', "{{app}}", "none", "stat"),
    ("/healthz answer time", 'probe_duration_seconds{job="site"}', "{{app}}", "s", "series"),
    ("Certificate days left", '(probe_ssl_earliest_cert_expiry{job="site"} - time()) / 86400', "{{app}}", "d", "stat"),
    ("Requests per second", 'sum by (app) (rate(http_requests_total{job="app"}[5m]))', "{{app}}", "reqps", "series"),
    (
        "Request time, 95th percentile",
        'histogram_quantile(0.95, sum by (app, le) (rate(http_request_duration_seconds_bucket{job="app"}[5m])))',
        "{{app}}",
        "s",
        "series",
    ),
    ("Scrape targets up", "up", "{{job}} {{instance}}", "none", "series"),
)
MACHINES: tuple[Panel, ...] = (
    (
        "Disk used",
        '1 - node_filesystem_avail_bytes{fstype!~"tmpfs|overlay|squashfs|ramfs"}'
        ' / node_filesystem_size_bytes{fstype!~"tmpfs|overlay|squashfs|ramfs"}',
        "{{node}} {{mountpoint}}",
        "percentunit",
        "series",
    ),
    (
        "Memory available",
        "node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes",
        "{{node}}",
        "percentunit",
        "series",
    ),
    ("Load (1 min)", "node_load1", "{{node}}", "none", "series"),
    (
        "Containers: CPU",
        'sum by (name) (rate(container_cpu_usage_seconds_total{job="cadvisor",name!=""}[5m]))',
        "{{name}}",
        "none",
        "series",
    ),
    (
        "Docker Engine: running containers",
        'engine_daemon_container_states_containers{state="running"}',
        "{{node}}",
        "none",
        "stat",
    ),
)
LAB: tuple[Panel, ...] = (
    ("Runners online", "devops_studio_runner_online", "{{node}} {{runner}}", "none", "stat"),
    ("Models per node", "devops_studio_ollama_models", "{{node}}", "none", "stat"),
    ("Ollama on the review node", 'probe_success{job="ollama",review="true"}', "{{node}}", "none", "stat"),
    ("Last deploy went live", "devops_studio_deploy_last_success", "{{app}}", "none", "stat"),
    ("Rollbacks in the journal", "devops_studio_deploy_rollbacks", "{{app}}", "none", "stat"),
    ("Newest backup age", "time() - devops_studio_backup_last_success_timestamp_seconds", "{{app}}", "s", "stat"),
    ("Newest verified backup age", "time() - devops_studio_backup_verified_timestamp_seconds", "{{app}}", "s", "stat"),
    ("Template behind", "devops_studio_template_behind", "{{repo}}", "none", "stat"),
)
BOARDS: dict[str, tuple[str, tuple[Panel, ...]]] = {
    "sites": ("Sites", SITES),
    "machines": ("Machines", MACHINES),
    "lab": ("Lab facts", LAB),
}


def _panel(panel: Panel, index: int):
    title, query, legend, unit, kind = panel
    target = g.Target(expr=query, legendFormat=legend, refId="A", datasource=DATASOURCE)
    pos = g.GridPos(h=8, w=12, x=12 * (index % 2), y=8 * (index // 2))
    if kind == "stat":
        return g.Stat(
            title=title, dataSource=DATASOURCE, targets=[target], format=unit, gridPos=pos, reduceCalc="lastNotNull"
        )
    return g.TimeSeries(title=title, dataSource=DATASOURCE, targets=[target], unit=unit, gridPos=pos)


def _dashboard(uid: str, title: str, panels: tuple[Panel, ...], owner: str) -> dict:
    board = g.Dashboard(
        title=f"{owner} · {title}",
        uid=f"studio-{uid}",
        tags=["devops-studio"],
        timezone="browser",
        refresh="1m",
        panels=[_panel(p, i) for i, p in enumerate(panels)],
    ).auto_panel_ids()
    return json.loads(json.dumps(board.to_json_data(), cls=DashboardEncoder))


def dashboards(studio: Studio) -> dict[str, dict]:
    return {uid: _dashboard(uid, title, panels, studio.inventory.owner) for uid, (title, panels) in BOARDS.items()}


def panel_queries() -> list[tuple[str, str, str]]:
    """(dashboard, panel title, query) of every panel."""
    return [(uid, p[0], p[1]) for uid, (_, panels) in BOARDS.items() for p in panels]


def provisioning_files(endpoints: Endpoints) -> dict[str, str]:
    from devops_studio.monitoring.render import yaml_text

    datasource = {
        "apiVersion": 1,
        "datasources": [
            {
                "name": "Prometheus",
                "uid": DATASOURCE_UID,
                "type": "prometheus",
                "access": "proxy",
                "url": f"http://{endpoints.prometheus}",
                "isDefault": True,
                "editable": False,
            }
        ],
    }
    provider = {
        "apiVersion": 1,
        "providers": [
            {
                "name": "devops-studio",
                "folder": "devops-studio",
                "type": "file",
                "disableDeletion": True,
                "allowUiUpdates": False,
                "options": {"path": DASHBOARD_FOLDER},
            }
        ],
    }
    return {
        "grafana/provisioning/datasources/prometheus.yml": yaml_text(datasource),
        "grafana/provisioning/dashboards/devops-studio.yml": yaml_text(provider),
    }
