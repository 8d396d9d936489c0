"""A throwaway nginx configuration around one rendered server block, for `nginx -t` and gixy.

The rendered block points at files that only exist on the production box (Let's Encrypt
certificates, the upstream file the deploy writes). The sandbox copies the block, points those
paths at stand-ins in a temporary folder and wraps it in a minimal nginx.conf, so the real nginx
parses exactly what production would.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

_CERT_LINE = re.compile(r"^(\s*ssl_certificate(?:_key)?\s+)(\S+)(;.*)$", re.MULTILINE)
_INCLUDE_LINE = re.compile(r"^(\s*include\s+)(\S+)(;.*)$", re.MULTILINE)


class NginxSandbox:
    def __init__(self, workdir: Path, server_conf: Path):
        self.workdir = workdir
        self.site = workdir / "site.conf"
        self.nginx_conf = workdir / "nginx.conf"
        self.cert, self.key = workdir / "stand-in.crt", workdir / "stand-in.key"
        self.upstream = workdir / "upstream.conf"
        self._write(server_conf.read_text())

    def _write(self, text: str) -> None:
        self._make_certificate()
        self.upstream.write_text("server 127.0.0.1:8000;\n")

        def cert(match: re.Match[str]) -> str:
            path = self.key if "ssl_certificate_key" in match[1] else self.cert
            return f"{match[1]}{path}{match[3]}"

        def include(match: re.Match[str]) -> str:
            # Only the files the deploy writes on the production box are replaced.
            if match[2].endswith("upstream.conf"):
                return f"{match[1]}{self.upstream}{match[3]}"
            return match[0]

        text = _INCLUDE_LINE.sub(include, _CERT_LINE.sub(cert, text))
        self.site.write_text(text)
        temp = self.workdir / "temp"
        temp.mkdir(exist_ok=True)
        self.nginx_conf.write_text(
            f"pid {self.workdir}/nginx.pid;\n"
            f"error_log {self.workdir}/error.log;\n"
            "worker_rlimit_nofile 4096;\n"
            "events {\n    worker_connections 1024;\n}\n"
            "http {\n"
            "    access_log off;\n"
            f"    client_body_temp_path {temp}/body;\n"
            f"    proxy_temp_path {temp}/proxy;\n"
            f"    fastcgi_temp_path {temp}/fastcgi;\n"
            f"    uwsgi_temp_path {temp}/uwsgi;\n"
            f"    scgi_temp_path {temp}/scgi;\n"
            f"    include {self.site};\n"
            "}\n"
        )

    def _make_certificate(self) -> None:
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=stand-in.invalid",
                "-keyout",
                str(self.key),
                "-out",
                str(self.cert),
            ],
            check=True,
            capture_output=True,
        )

    def test_args(self) -> list[str]:
        return [
            "-t",
            "-q",
            "-p",
            str(self.workdir),
            "-c",
            str(self.nginx_conf),
            "-e",
            str(self.workdir / "error.log"),
        ]

    def explain(self, stderr: str) -> str:
        """nginx's message, with the sandbox's paths turned back into the rendered file's name."""
        return stderr.replace(str(self.site), "server block").strip()
