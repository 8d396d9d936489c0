"""Download the runner release GitHub publishes, verify its SHA-256 and unpack it into a versioned folder.

Layout under the runner directory::

    versions/<version>/     one unpacked release each (config.sh, run.sh, bin/ ...)
    current -> versions/<version>

Nothing is left behind on a failure: the download goes to a temporary file, the archive is unpacked into a
temporary folder, and only a verified, fully unpacked release is renamed into versions/.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from devops_studio.downloads import DownloadError, download, unpack
from devops_studio.github_api import GitHub, GitHubError

GITHUB_OS = {"linux": "linux", "macos": "osx", "windows": "win"}
VERSION_RE = re.compile(r"actions-runner-[a-z]+-[a-z0-9]+-(\d+\.\d+\.\d+)\.(?:tar\.gz|zip)$")


class PackageError(Exception):
    pass


@dataclass(frozen=True)
class Asset:
    os: str
    architecture: str
    filename: str
    download_url: str
    sha256: str
    # GitHub's description marks it optional: when listed, the download must present it as a bearer token.
    temp_download_token: str | None = None

    @property
    def version(self) -> str:
        match = VERSION_RE.search(self.filename)
        if not match:
            raise PackageError(f"cannot read the runner version from {self.filename!r}")
        return match.group(1)


def pick_asset(client: GitHub, scope_path: str, os_name: str, arch: str) -> Asset:
    assets = client.request("GET", f"/{scope_path}/actions/runners/downloads")
    wanted_os = GITHUB_OS[os_name]
    for item in assets or []:
        if item.get("os") == wanted_os and item.get("architecture") == arch:
            checksum = item.get("sha256_checksum")
            if not checksum:
                raise PackageError(
                    f"GitHub lists {item.get('filename')} without a sha256_checksum; refusing to "
                    "install an unverifiable runner"
                )
            return Asset(
                wanted_os,
                arch,
                item["filename"],
                item["download_url"],
                checksum.lower(),
                item.get("temp_download_token") or None,
            )
    available = ", ".join(f"{a.get('os')}/{a.get('architecture')}" for a in assets or []) or "none"
    raise PackageError(f"GitHub publishes no runner for {wanted_os}/{arch} (available: {available})")


def installed_versions(directory: Path) -> list[str]:
    versions = directory / "versions"
    if not versions.is_dir():
        return []
    return sorted(
        (p.name for p in versions.iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=lambda v: tuple(int(x) for x in v.split(".")),
    )


def ensure_package(
    directory: Path, asset: Asset, *, owner_uid: int | None = None, owner_gid: int | None = None
) -> tuple[Path, bool]:
    """Make versions/<version> exist and verified; returns (folder, whether it was installed now)."""
    version = asset.version
    final = directory / "versions" / version
    if final.is_dir() and ((final / "config.sh").exists() or (final / "config.cmd").exists()):
        return final, False
    created_root = not directory.exists()
    directory.mkdir(parents=True, exist_ok=True)
    versions = directory / "versions"
    versions.mkdir(exist_ok=True)
    handle, partial_name = tempfile.mkstemp(prefix=".download-", dir=directory)
    os.close(handle)
    partial = Path(partial_name)
    staging = Path(tempfile.mkdtemp(prefix=f".unpack-{version}-", dir=versions))
    try:
        try:
            digest = download(asset.download_url, partial, asset.temp_download_token)
        except DownloadError as error:
            raise PackageError(str(error)) from None
        if digest != asset.sha256:
            raise PackageError(
                f"{asset.filename}: SHA-256 mismatch (GitHub publishes {asset.sha256}, the download "
                f"is {digest}); refusing to install it. Retry later; if it persists, the download "
                "was tampered with on the way"
            )
        try:
            unpack(partial, staging)
        except DownloadError as error:
            raise PackageError(str(error)) from None
        if owner_uid is not None:
            for root, dirs, files in os.walk(staging):
                for name in dirs + files:
                    os.lchown(os.path.join(root, name), owner_uid, owner_gid if owner_gid is not None else -1)
            os.chown(staging, owner_uid, owner_gid if owner_gid is not None else -1)
        os.chmod(staging, 0o750)
        staging.rename(final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if created_root:
            shutil.rmtree(directory, ignore_errors=True)
        elif not any(versions.iterdir()):
            versions.rmdir()
        raise
    finally:
        partial.unlink(missing_ok=True)
    return final, True


def point_current(directory: Path, version_dir: Path) -> bool:
    """Make `current` point at version_dir; returns whether it changed."""
    link = directory / "current"
    target = os.path.relpath(version_dir, directory)
    if link.is_symlink() and os.readlink(link) == target:
        return False
    tmp = directory / ".current.tmp"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(target)
    tmp.replace(link)
    return True


__all__ = [
    "Asset",
    "GitHubError",
    "PackageError",
    "ensure_package",
    "installed_versions",
    "pick_asset",
    "point_current",
]
