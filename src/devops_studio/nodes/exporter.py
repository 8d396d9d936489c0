"""`node setup` step "metrics exporter": every machine of the inventory serves its metrics to the stack.

Installed only when `studio.yml` has a `monitoring:` section (docs/monitoring.md).

- Linux and macOS: Prometheus's node_exporter release for the node's architecture, checked against the
  `sha256sums.txt` published with the release, unpacked into `<prefix>/<version>/` and run as a service:
  a hardened systemd unit with a dynamic user (Linux), a launchd daemon running as nobody (macOS).
- Windows: windows_exporter's MSI, checked against the digest GitHub gives for the release asset; the
  MSI installs its own service. Printed as PowerShell lines, as the runner's plan is.

The stack's own node listens on 127.0.0.1 only (Prometheus runs in the host's network there); the
others listen on the LAN, since the stack scrapes them from the production box. The endpoint serves
read-only metrics and has no write path.

A node exporter that already answers on the port and was not installed by us (a distribution package,
say) is left as it is: two would fight over the port.
"""

from __future__ import annotations

import os
import plistlib
import shutil
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from devops_studio.downloads import DownloadError, download, fetch_text, unpack
from devops_studio.inventory import Node
from devops_studio.monitoring.targets import NODE_EXPORTER_PORT as PORT
from devops_studio.monitoring.targets import WINDOWS_EXPORTER_PORT as WINDOWS_PORT
from devops_studio.nodes import systemd
from devops_studio.nodes.process import run
from devops_studio.nodes.report import CHANGED, DONE, FAILED, PLANNED, SKIPPED, Report
from devops_studio.runner.service import powershell_quote

NODE_EXPORTER_VERSION = "1.9.1"
WINDOWS_EXPORTER_VERSION = "0.31.3"
RELEASES = "https://github.com/prometheus/node_exporter/releases/download"
WINDOWS_RELEASE_API = "repos/prometheus-community/windows_exporter/releases/tags"
UNIT = "devops-studio-node-exporter.service"
LAUNCHD_LABEL = "io.devops-studio.node-exporter"
GO_ARCH = {"x64": "amd64", "arm64": "arm64"}  # the inventory's architectures, as Go's releases name them
STALE_STAGING_SECONDS = 3600  # a staging folder this old was left by a killed run
STEP = "metrics exporter"


@dataclass(frozen=True)
class Placement:
    """Where this node's exporter lives and listens; the environment moves it for the tests."""

    prefix: Path
    launchd_dir: Path
    listen: str
    releases: str

    @classmethod
    def for_node(cls, node: Node, stack_node: str) -> Placement:
        default = f"127.0.0.1:{PORT}" if node.name == stack_node else f":{PORT}"
        return cls(
            prefix=Path(os.environ.get("DEVOPS_STUDIO_EXPORTER_PREFIX", "/usr/local/lib/devops-studio/node-exporter")),
            launchd_dir=Path(os.environ.get("DEVOPS_STUDIO_LAUNCHD_DIR", "/Library/LaunchDaemons")),
            listen=os.environ.get("DEVOPS_STUDIO_EXPORTER_LISTEN", default),
            releases=os.environ.get("DEVOPS_STUDIO_EXPORTER_RELEASES", RELEASES).rstrip("/"),
        )

    @property
    def probe_url(self) -> str:
        host, _, port = self.listen.rpartition(":")
        return f"http://{host or '127.0.0.1'}:{port}/metrics"

    def binary(self, version: str = NODE_EXPORTER_VERSION) -> Path:
        return self.prefix / version / "node_exporter"

    def service_file(self, node: Node) -> Path:
        return systemd.unit_dir() / UNIT if node.os == "linux" else self.launchd_dir / f"{LAUNCHD_LABEL}.plist"

    def service_text(self, node: Node) -> bytes:
        """What the service file must say for this node: the systemd unit or the launchd plist."""
        if node.os == "linux":
            return systemd_unit(self.binary(), self.listen).encode()
        return launchd_plist(self.binary(), self.listen)


def archive_name(node: Node, version: str = NODE_EXPORTER_VERSION) -> str:
    system = "darwin" if node.os == "macos" else "linux"
    return f"node_exporter-{version}.{system}-{GO_ARCH[node.arch]}.tar.gz"


def systemd_unit(binary: Path, listen: str) -> str:
    """A unit that can read /proc and /sys and write nothing: node_exporter needs no more."""
    return "\n".join(
        [
            "# Managed by devops-studio (`devops-studio node setup`): the monitoring stack scrapes it.",
            "[Unit]",
            "Description=Prometheus node exporter (devops-studio)",
            "Wants=network-online.target",
            "After=network-online.target",
            "",
            "[Service]",
            # node_exporter's default mount-point filter already leaves out /proc, /sys and Docker's layers.
            f"ExecStart={binary} --web.listen-address={listen}",
            "DynamicUser=yes",
            "Restart=on-failure",
            "RestartSec=5",
            "NoNewPrivileges=yes",
            "ProtectSystem=strict",
            "ProtectHome=read-only",
            "PrivateTmp=yes",
            "PrivateDevices=yes",
            "ProtectKernelTunables=yes",
            "ProtectControlGroups=yes",
            "RestrictSUIDSGID=yes",
            "CapabilityBoundingSet=",
            "",
            "[Install]",
            "WantedBy=multi-user.target",
            "",
        ]
    )


def launchd_plist(binary: Path, listen: str) -> bytes:
    return plistlib.dumps(
        {
            "Label": LAUNCHD_LABEL,
            "ProgramArguments": [str(binary), f"--web.listen-address={listen}"],
            "UserName": "nobody",
            "GroupName": "nobody",
            "RunAtLoad": True,
            "KeepAlive": True,
            "StandardErrorPath": f"/Library/Logs/{LAUNCHD_LABEL}.log",
        }
    )


def windows_plan(node: Node, version: str = WINDOWS_EXPORTER_VERSION) -> list[str]:
    """PowerShell lines: the MSI checked against GitHub's digest of the asset, then installed quietly."""
    q = powershell_quote
    asset = f"windows_exporter-{version}-{GO_ARCH[node.arch]}.msi"
    return [
        f"$release = gh api {q(f'{WINDOWS_RELEASE_API}/v{version}')} | ConvertFrom-Json",
        f"$asset = $release.assets | Where-Object {{ $_.name -eq {q(asset)} }}",
        "Invoke-WebRequest -Uri $asset.browser_download_url -OutFile $asset.name",
        "if (('sha256:' + (Get-FileHash $asset.name -Algorithm SHA256).Hash.ToLower()) -ne $asset.digest) "
        "{ Remove-Item $asset.name; throw 'SHA-256 mismatch: refusing the windows_exporter download' }",
        "Start-Process msiexec.exe -Wait -ArgumentList '/i', $asset.name, '/qn', "
        f"'ADDLOCAL=FirewallException', 'LISTEN_PORT={WINDOWS_PORT}'",
        "Remove-Item $asset.name",
        "Get-Service windows_exporter",
    ]


def answering(url: str, timeout: float = 2) -> bool:
    """Whether a node exporter answers at `url` (its build-info metric is in the page)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return b"node_exporter_build_info" in resp.read(4 << 20)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def expected_digest(place: Placement, name: str, version: str = NODE_EXPORTER_VERSION) -> str:
    listing = fetch_text(f"{place.releases}/v{version}/sha256sums.txt")
    for line in listing.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("*") == name:
            return parts[0].lower()
    raise DownloadError(f"{name} is not listed in the release's sha256sums.txt; refusing to install it")


def install_release(node: Node, place: Placement, version: str = NODE_EXPORTER_VERSION) -> bool:
    """Make <prefix>/<version>/node_exporter exist, verified; returns whether it was installed now.

    Nothing half-installed is left: the archive goes to a temporary file, is unpacked into a staging
    folder, and only a checked binary is renamed into place."""
    final = place.prefix / version
    if (final / "node_exporter").is_file():
        return False
    name = archive_name(node, version)
    place.prefix.mkdir(parents=True, exist_ok=True)
    _prune_stale_staging(place.prefix)
    staging = Path(tempfile.mkdtemp(prefix=f".unpack-{version}-", dir=place.prefix))
    try:
        archive = staging / name
        wanted = expected_digest(place, name, version)
        digest = download(f"{place.releases}/v{version}/{name}", archive)
        if digest != wanted:
            raise DownloadError(
                f"{name}: SHA-256 mismatch (the release lists {wanted}, the download is {digest}); "
                "refusing to install it. Retry later; if it persists, the download was tampered with"
            )
        unpack(archive, staging / "tree")
        binary = staging / "tree" / name.removesuffix(".tar.gz") / "node_exporter"
        if not binary.is_file() or binary.is_symlink():
            raise DownloadError(f"{name} holds no node_exporter program; refusing to install it")
        target = staging / "release"
        target.mkdir()
        shutil.move(str(binary), target / "node_exporter")
        (target / "node_exporter").chmod(0o755)
        target.chmod(0o755)
        target.rename(final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return True


def _prune_stale_staging(prefix: Path) -> None:
    """Staging folders a killed run left behind (a younger one may belong to a run going on now)."""
    for leftover in prefix.glob(".unpack-*"):
        if leftover.is_dir() and time.time() - leftover.stat().st_mtime > STALE_STAGING_SECONDS:
            shutil.rmtree(leftover, ignore_errors=True)


def _wait_answering(url: str, seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if answering(url):
            return True
        time.sleep(0.25)
    return False


def _service_linux(text: str) -> str | None:
    """Install the unit when it differs and (re)start it; returns a problem or None."""
    written, problem = systemd.install_units(systemd.unit_dir(), {UNIT: text})
    if problem:
        return problem
    for args in (["daemon-reload"], ["enable", UNIT], ["restart" if written else "start", UNIT]):
        code, out = run([*systemd.systemctl(), *args], timeout=120)
        if code != 0:
            return f"systemctl {' '.join(args)}: {out[-300:]}"
    return None


def _service_macos(path: Path, data: bytes) -> str | None:
    if path.exists() and path.read_bytes() == data:
        commands = [["launchctl", "kickstart", f"system/{LAUNCHD_LABEL}"]]
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        path.chmod(0o644)
        run(["launchctl", "bootout", f"system/{LAUNCHD_LABEL}"])  # not loaded yet: nothing to stop
        commands = [["launchctl", "bootstrap", "system", str(path)], ["launchctl", "enable", f"system/{LAUNCHD_LABEL}"]]
    for argv in commands:
        code, out = run(argv, timeout=120)
        if code != 0:
            return f"{' '.join(argv)}: {out[-300:]}"
    return None


def ensure_exporter(node: Node, stack_node: str | None, report: Report, dry_run: bool) -> None:
    if stack_node is None:
        return  # no monitoring: section, nothing scrapes it
    if node.os == "windows":
        head = f"windows_exporter {WINDOWS_EXPORTER_VERSION} on port {WINDOWS_PORT}; in an elevated PowerShell:"
        report.add(STEP, PLANNED, "\n".join([head, *windows_plan(node)]))
        return
    place = Placement.for_node(node, stack_node)
    ours, wanted = place.service_file(node), place.service_text(node)
    up = answering(place.probe_url)
    if up and not ours.exists():
        report.add(STEP, DONE, f"a node exporter already answers at {place.probe_url} (not ours; left as it is)")
        return
    if up and ours.exists() and ours.read_bytes() == wanted and place.binary().is_file():
        report.add(STEP, DONE, f"node_exporter {NODE_EXPORTER_VERSION} answers at {place.probe_url}")
        return
    service = UNIT if node.os == "linux" else LAUNCHD_LABEL
    summary = f"node_exporter {NODE_EXPORTER_VERSION} as {service}, listening on {place.listen}"
    if dry_run:
        report.add(STEP, PLANNED, f"install {summary}")
        return
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        report.add(
            STEP,
            SKIPPED,
            f"installing the exporter service needs root: run `sudo devops-studio node setup {node.name}`",
        )
        return
    try:
        installed = install_release(node, place)
    except DownloadError as error:
        report.add(STEP, FAILED, str(error))
        return
    problem = _service_linux(wanted.decode()) if node.os == "linux" else _service_macos(ours, wanted)
    if problem is None and not _wait_answering(place.probe_url):
        problem = f"the service started but nothing answers at {place.probe_url} within 15 s"
    if problem:
        report.add(STEP, FAILED, problem)
        return
    report.add(STEP, CHANGED, ("installed " if installed else "started ") + summary)
