"""Release downloads that are verified before anything is unpacked: one way for every package we install.

`download` streams to a file and returns its SHA-256; `unpack` refuses archive members that would land
outside the target folder. Callers compare the digest with the one the publisher gives and only then
unpack into a staging folder they rename into place.
"""

from __future__ import annotations

import hashlib
import tarfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path


class DownloadError(Exception):
    pass


def download(url: str, target: Path, token: str | None = None) -> str:
    """Write `url` to `target`; returns the hex SHA-256 of what was written."""
    digest = hashlib.sha256()
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=120) as resp, target.open("wb") as out:
            while chunk := resp.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
    except (urllib.error.URLError, OSError) as error:
        raise DownloadError(f"downloading {url} failed: {getattr(error, 'reason', error)}") from None
    return digest.hexdigest()


def fetch_text(url: str, limit: int = 1 << 20) -> str:
    """A small text file (a checksum list), at most `limit` bytes."""
    try:
        with urllib.request.urlopen(url, timeout=60) as resp:
            data = resp.read(limit + 1)
    except (urllib.error.URLError, OSError) as error:
        raise DownloadError(f"downloading {url} failed: {getattr(error, 'reason', error)}") from None
    if len(data) > limit:
        raise DownloadError(f"{url} is larger than {limit} bytes; refusing to read it")
    return data.decode("utf-8", "replace")


def unpack(archive: Path, target: Path) -> None:
    """Unpack a .zip or .tar.gz into `target`; a member that points outside it is refused."""
    if archive.name.endswith(".zip"):
        with zipfile.ZipFile(archive) as zipped:
            for member in zipped.namelist():
                resolved = (target / member).resolve()
                if not resolved.is_relative_to(target.resolve()):
                    raise DownloadError(f"the archive holds a path outside its folder: {member}")
            zipped.extractall(target)
        return
    with tarfile.open(archive, "r:gz") as tar:
        if hasattr(tarfile, "data_filter"):
            try:
                tar.extractall(target, filter="data")
            except tarfile.FilterError as error:
                raise DownloadError(f"the archive holds a member that is refused: {error}") from None
        else:  # pragma: no cover - Python < 3.11.4
            for member in tar.getmembers():
                if member.name.startswith("/") or ".." in Path(member.name).parts:
                    raise DownloadError(f"the archive holds a path outside its folder: {member.name}")
            tar.extractall(target)
