"""Throwaway self-signed certificates for tests and benches (nginx, doctor, the proxy volume)."""

from __future__ import annotations

import subprocess
from pathlib import Path


def self_signed(
    folder: Path, common_name: str, *, days: int = 2, cert_name: str = "fullchain.pem", san: str | None = None
) -> Path:
    """Write `privkey.pem` and `cert_name` (Let's Encrypt's names) into `folder`; return the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            str(days),
            "-subj",
            f"/CN={common_name}",
            *(["-addext", f"subjectAltName={san}"] if san else []),
            "-keyout",
            str(folder / "privkey.pem"),
            "-out",
            str(folder / cert_name),
        ],
        check=True,
        capture_output=True,
    )
    return folder
