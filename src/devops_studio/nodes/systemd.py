"""The systemd units `node setup` installs: where they go, the systemctl to call, and how they are
written, so that a unit systemd-analyze refuses never lands in place.

The environment moves both for the tests (DEVOPS_STUDIO_SYSTEMD_DIR, DEVOPS_STUDIO_SYSTEMCTL).
"""

from __future__ import annotations

import os
import shlex
import shutil
import tempfile
from pathlib import Path

from devops_studio.nodes.process import run

SYSTEM_UNIT_DIR = Path("/etc/systemd/system")


def unit_dir() -> Path:
    return Path(os.environ.get("DEVOPS_STUDIO_SYSTEMD_DIR", str(SYSTEM_UNIT_DIR)))


def systemctl() -> list[str]:
    return shlex.split(os.environ.get("DEVOPS_STUDIO_SYSTEMCTL", "systemctl"))


def stale_units(directory: Path, units: dict[str, str]) -> list[str]:
    """The names of `units` whose file in `directory` is missing or says something else."""
    return [
        name
        for name, text in units.items()
        if not (directory / name).is_file() or (directory / name).read_text() != text
    ]


def install_units(directory: Path, units: dict[str, str]) -> tuple[list[str], str | None]:
    """Write the stale units; returns (the names written, a problem or None).

    All of `units` are checked together with `systemd-analyze verify` in a scratch folder first (a
    timer is checked with its service): on a problem nothing is written. Each file is replaced in one
    rename, so a kill leaves the old unit or the new one."""
    stale = stale_units(directory, units)
    if not stale:
        return [], None
    if shutil.which("systemd-analyze"):
        with tempfile.TemporaryDirectory(prefix="devops-studio-units-") as scratch:
            paths = []
            for name, text in units.items():
                (Path(scratch) / name).write_text(text)
                paths.append(str(Path(scratch) / name))
            code, out = run(["systemd-analyze", "verify", *paths])
            if code != 0:
                return [], f"systemd-analyze verify: {out.replace(scratch + '/', '')[-300:]}"
    directory.mkdir(parents=True, exist_ok=True)
    for name in stale:
        staging = directory / f".{name}.new"  # the dot: systemd does not load it
        staging.write_text(units[name])
        staging.replace(directory / name)
    return stale, None
