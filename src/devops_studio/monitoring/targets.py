"""What the stack scrapes and probes, derived from the inventory's `nodes:` and the section's apps.

Every service of the stack listens on the production box's loopback only; `Endpoints` says where,
and the tests move them to free ports.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

from devops_studio.inventory import Inventory, Node
from devops_studio.monitoring.config import Monitoring

NODE_EXPORTER_PORT = 9100  # prometheus-node-exporter (Linux), node_exporter (macOS)
WINDOWS_EXPORTER_PORT = 9182  # windows_exporter
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


@dataclass(frozen=True)
class Endpoints:
    """host:port of each part of the stack, as Prometheus and Alertmanager reach them."""

    prometheus: str = "127.0.0.1:9090"
    alertmanager: str = "127.0.0.1:9093"
    grafana: str = "127.0.0.1:3000"
    blackbox: str = "127.0.0.1:9115"
    cadvisor: str = "127.0.0.1:9338"
    docker: str = "127.0.0.1:9323"  # dockerd "metrics-addr"
    facts: str = "127.0.0.1:9469"  # the lab-facts exporter and notification relay
    node_exporter: str = f"127.0.0.1:{NODE_EXPORTER_PORT}"  # the stack's own node


@dataclass(frozen=True)
class NodeTarget:
    node: str
    os: str
    address: str
    roles: tuple[str, ...]


@dataclass(frozen=True)
class OllamaTarget:
    node: str
    url: str  # probed: <url>/api/version
    review: bool


def _host(node: Node) -> str:
    return node.host or node.name


def node_targets(inventory: Inventory, monitoring: Monitoring, endpoints: Endpoints) -> list[NodeTarget]:
    targets = []
    for node in inventory.nodes.values():
        if node.name == monitoring.node:
            address = endpoints.node_exporter
        else:
            port = WINDOWS_EXPORTER_PORT if node.os == "windows" else NODE_EXPORTER_PORT
            address = f"{_host(node)}:{port}"
        targets.append(NodeTarget(node.name, node.os, address, node.roles))
    return targets


def ollama_targets(inventory: Inventory, monitoring: Monitoring) -> list[OllamaTarget]:
    """Each Ollama of the inventory, reached from the stack: a loopback address means the node's host."""
    review_node = inventory.review.node if inventory.review else None
    targets = []
    for node in inventory.nodes.values():
        if node.ollama is None:
            continue
        parts = urllib.parse.urlsplit(node.ollama.url)
        url = node.ollama.url.rstrip("/")
        if node.name != monitoring.node and parts.hostname in LOOPBACK_HOSTS:
            url = parts._replace(netloc=f"{_host(node)}:{parts.port or 11434}").geturl().rstrip("/")
        targets.append(OllamaTarget(node.name, url, node.name == review_node))
    return targets
