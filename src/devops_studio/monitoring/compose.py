"""compose.yaml of the stack: pinned images, named volumes, a healthcheck each, loopback only.

Every service runs in the host's network namespace and listens on 127.0.0.1 (a flag of its own,
below): Prometheus reaches the host's node exporter, the Docker Engine's metrics and the probes the
same way it would without Docker, and nothing of the stack is reachable from the network. Reach
Grafana through an SSH tunnel (ssh -L 3000:127.0.0.1:3000 chronos) or the host nginx with
authentication.
"""

from __future__ import annotations

from devops_studio.monitoring.config import Studio
from devops_studio.monitoring.targets import Endpoints

# Pinned versions; a bump is a reviewed change of this file.
IMAGES = {
    "prometheus": "prom/prometheus:v3.5.0",
    "alertmanager": "prom/alertmanager:v0.28.1",
    "blackbox": "prom/blackbox-exporter:v0.27.0",
    "cadvisor": "gcr.io/cadvisor/cadvisor:v0.52.1",
    "grafana": "grafana/grafana:12.0.2",
    "facts": "python:3.13.5-alpine3.22",
}
GRAFANA_PASSWORD_FILE = "/etc/devops-studio/monitoring/grafana-admin-password"
PROJECT = "devops-studio-monitoring"


def _wget(url: str) -> dict:
    return {
        "test": ["CMD", "wget", "-q", "-O", "/dev/null", url],
        "interval": "30s",
        "timeout": "5s",
        "retries": 3,
        "start_period": "20s",
    }


def _ro(path: str) -> str:
    return f"{path}:{path}:ro"


def _hardened(service: dict) -> dict:
    return {
        **service,
        "network_mode": "host",
        "restart": "unless-stopped",
        "security_opt": ["no-new-privileges:true"],
    }


def compose_config(studio: Studio, endpoints: Endpoints | None = None) -> dict:
    endpoints = endpoints or Endpoints()
    mon = studio.monitoring
    apps_dir = studio.inventory.nodes[mon.node].apps_dir or "/home/chronos/apps"
    channels = mon.channels
    am_secrets = [w.url_file for w in (channels.slack, channels.discord) if w]
    if channels.email and channels.email.password and channels.email.password.file:
        am_secrets.append(channels.email.password.file)
    facts_secrets = [f for f in mon.secret_files if f not in am_secrets]
    env_names = sorted(
        {
            s.env
            for s in (
                mon.github_token,
                getattr(channels.ntfy, "token", None),
                getattr(channels.github_issue, "token", None),
            )
            if s and s.env
        }
    )
    scrape_hosts = [f"{app.domain}:127.0.0.1" for app in mon.apps if app.metrics]
    services = {
        "prometheus": _hardened(
            {
                "image": IMAGES["prometheus"],
                "command": [
                    "--config.file=/etc/prometheus/prometheus.yml",
                    "--storage.tsdb.path=/prometheus",
                    "--storage.tsdb.retention.time=30d",
                    f"--web.listen-address={endpoints.prometheus}",
                ],
                "volumes": ["./prometheus:/etc/prometheus:ro", "prometheus-data:/prometheus"],
                "healthcheck": _wget(f"http://{endpoints.prometheus}/-/ready"),
                "depends_on": ["alertmanager", "blackbox"],
                # Each app's /metrics answers only from loopback and private addresses (the rendered
                # nginx block): Prometheus reaches the apps' nginx on this box's loopback, by name.
                **({"extra_hosts": scrape_hosts} if scrape_hosts else {}),
            }
        ),
        "alertmanager": _hardened(
            {
                "image": IMAGES["alertmanager"],
                "command": [
                    "--config.file=/etc/alertmanager/alertmanager.yml",
                    "--storage.path=/alertmanager",
                    f"--web.listen-address={endpoints.alertmanager}",
                    "--cluster.listen-address=",
                ],
                "volumes": [
                    "./alertmanager:/etc/alertmanager:ro",
                    "alertmanager-data:/alertmanager",
                    *[_ro(f) for f in am_secrets],
                ],
                "healthcheck": _wget(f"http://{endpoints.alertmanager}/-/ready"),
            }
        ),
        "blackbox": _hardened(
            {
                "image": IMAGES["blackbox"],
                "command": ["--config.file=/etc/blackbox/blackbox.yml", f"--web.listen-address={endpoints.blackbox}"],
                "volumes": ["./blackbox:/etc/blackbox:ro"],
                "healthcheck": _wget(f"http://{endpoints.blackbox}/-/healthy"),
            }
        ),
        "cadvisor": _hardened(
            {
                "image": IMAGES["cadvisor"],
                "command": [
                    f"-listen_ip={endpoints.cadvisor.rsplit(':', 1)[0]}",
                    f"-port={endpoints.cadvisor.rsplit(':', 1)[1]}",
                    "-docker_only=true",
                ],
                "volumes": [
                    "/:/rootfs:ro",
                    "/var/run:/var/run:ro",
                    "/sys:/sys:ro",
                    "/var/lib/docker:/var/lib/docker:ro",
                ],
                "healthcheck": _wget(f"http://{endpoints.cadvisor}/healthz"),
            }
        ),
        "grafana": _hardened(
            {
                "image": IMAGES["grafana"],
                "environment": {
                    "GF_SERVER_HTTP_ADDR": endpoints.grafana.rsplit(":", 1)[0],
                    "GF_SERVER_HTTP_PORT": endpoints.grafana.rsplit(":", 1)[1],
                    "GF_SECURITY_ADMIN_PASSWORD__FILE": GRAFANA_PASSWORD_FILE,
                    "GF_USERS_ALLOW_SIGN_UP": "false",
                    "GF_ANALYTICS_REPORTING_ENABLED": "false",
                },
                "volumes": [
                    "./grafana/provisioning:/etc/grafana/provisioning:ro",
                    "./grafana/dashboards:/var/lib/grafana-dashboards:ro",
                    "grafana-data:/var/lib/grafana",
                    _ro(GRAFANA_PASSWORD_FILE),
                ],
                "healthcheck": _wget(f"http://{endpoints.grafana}/api/health"),
                "depends_on": ["prometheus"],
            }
        ),
        "facts": _hardened(
            {
                "image": IMAGES["facts"],
                "command": ["python3", "/facts/facts.py", "--config", "/facts/facts.json"],
                "read_only": True,
                "cap_drop": ["ALL"],
                "cap_add": ["DAC_READ_SEARCH"],  # read the apps' .deploy files whoever owns them
                "volumes": ["./facts:/facts:ro", _ro(apps_dir), *[_ro(f) for f in facts_secrets]],
                "healthcheck": {
                    "test": [
                        "CMD",
                        "python3",
                        "-c",
                        f"import urllib.request; urllib.request.urlopen('http://{endpoints.facts}/healthz', timeout=4)",
                    ],
                    "interval": "30s",
                    "timeout": "5s",
                    "retries": 3,
                },
            }
        ),
    }
    if env_names:
        services["facts"]["environment"] = {name: f"${{{name}:-}}" for name in env_names}
    return {
        "name": PROJECT,
        "services": services,
        "volumes": {"prometheus-data": {}, "alertmanager-data": {}, "grafana-data": {}},
    }


def up_command(out_dir: str) -> list[str]:
    """The one command that brings the stack up and waits until every healthcheck passes."""
    return ["docker", "compose", "--project-directory", out_dir, "up", "-d", "--wait"]
