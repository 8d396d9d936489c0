"""A production box on loopback for the deploy tests and bench/deploy_downtime.py.

Real parts only: apps rendered by Copier from this repository's template, the Docker Engine with
Compose v2 (tests/infra/docker.sh), stand-in base images (tests/infra/standin-images.sh), a private
nginx instance, certbot against pebble and docker-registry (tests/infra/edge.sh). What differs from
the production box is only where things listen: nginx serves the rendered server block on
127.0.0.1:ACME_HTTP_PORT (pebble validates HTTP-01 challenges there) and 127.0.0.1:<https port>,
and certbot keeps its files under the test directory instead of /etc/letsencrypt.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shlex
import shutil
import socket
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "tests" / "infra"
EDGE = Path("/var/lib/devops-studio/edge")
PEBBLE_CA = EDGE / "ca" / "ca.pem"
PEBBLE_DIRECTORY = "https://127.0.0.1:14000/dir"
PEBBLE_MANAGEMENT = "https://127.0.0.1:15000"
ACME_HTTP_PORT = 5002  # pebble's httpPort (tests/infra/edge.sh)
REGISTRY = "127.0.0.1:5000"
STANDIN = {
    "python": "devops-studio-standin/python:3.12",
    "node": "devops-studio-standin/node:22",
    "postgres": "devops-studio-standin/postgres:16",
    "nginx": "devops-studio-standin/nginx:1",
}


def sh(
    cmd: list[str] | str,
    *,
    check: bool = True,
    env: dict | None = None,
    cwd: Path | None = None,
    timeout: float = 900,
) -> subprocess.CompletedProcess:
    if isinstance(cmd, str):
        cmd = shlex.split(cmd)
    proc = subprocess.run(cmd, text=True, capture_output=True, env=env, cwd=cwd, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def ensure_infra() -> None:
    """Run the idempotent infra scripts (they return at once when everything already runs)."""
    for script in ("docker.sh", "edge.sh", "standin-images.sh"):
        proc = subprocess.run(["bash", str(INFRA / script)], text=True, capture_output=True, timeout=1800)
        if proc.returncode != 0:
            raise RuntimeError(f"tests/infra/{script} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    # The upstream images the template's compose files name for services the app does not build
    # are tagged locally from the stand-ins, so `docker compose up` finds them without a registry.
    # (certbot's container only needs a shell in these tests: its renew loop finds nothing to do.)
    for compose_file in (ROOT / "template").glob("*compose*.jinja"):
        for image in re.findall(r"^\s*image:\s*([\w./-]+:[\w.-]+)\s*$", compose_file.read_text(), re.M):
            kind = image.split("/")[-1].split(":")[0]
            standin = STANDIN.get(kind, STANDIN["nginx"] if kind == "certbot" else None)
            if standin:
                sh(["docker", "tag", standin, image])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ───────────────────────────── rendered apps ─────────────────────────────


def render_app(dest: Path, **data) -> Path:
    from copier import run_copy

    answers = {
        "github_owner": "example",
        "letsencrypt_email": "ops@example.com",
        **data,
    }
    run_copy(str(ROOT), str(dest), data=answers, defaults=True, unsafe=True, quiet=True, vcs_ref="HEAD")
    return dest


@dataclass
class App:
    """A rendered app repo installed on the loopback production box."""

    name: str
    stack: str
    repo: Path  # the app directory: a copy of the release plus .env, like the deploy workflow makes
    domain: str
    https_port: int
    env: dict = field(default_factory=dict)

    @property
    def config(self) -> dict:
        return json.loads((self.repo / "deploy" / "deploy.json").read_text())

    def deploy_env(self, nginx: Nginx) -> dict:
        env = dict(os.environ)
        env.update(
            {
                "DEPLOY_NGINX_TEST_COMMAND": f"nginx -q -c {nginx.conf} -t",
                "DEPLOY_NGINX_RELOAD_COMMAND": f"nginx -c {nginx.conf} -s reload",
                "DEPLOY_SMOKE_URL": f"https://127.0.0.1:{self.https_port}/healthz",
                "DEPLOY_DRAIN_SECONDS": "2",
                # Short watch windows keep the suite fast; the watch tests set their own.
                "DEPLOY_WATCH_SECONDS": "2",
                "DEPLOY_HEALTH_TIMEOUT": "150",
            }
        )
        env.update(self.env)
        return env

    def deploy_cmd(self, *args: str) -> list[str]:
        base = ["python3", str(self.repo / "deploy" / "deploy.py")]
        if args and args[0] == "deploy":
            return [*base, *args, "--build-arg", f"BASE_IMAGE={STANDIN[self.stack]}"]
        return [*base, *args]

    def deploy_env_plain(self) -> dict:
        return dict(os.environ, **self.env)

    def run_deploy(self, nginx: Nginx, *args: str, check: bool = False) -> subprocess.CompletedProcess:
        return sh(self.deploy_cmd(*args), env=self.deploy_env(nginx), check=check, timeout=900)

    def popen_deploy(self, nginx: Nginx, *args: str) -> subprocess.Popen:
        return subprocess.Popen(
            self.deploy_cmd(*args),
            env=self.deploy_env(nginx),
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )

    def state(self) -> dict:
        return json.loads((self.repo / ".deploy" / "state.json").read_text())

    def containers(self, service: str | None = None) -> list[str]:
        cmd = ["docker", "ps", "-a", "-q", "--filter", f"label=com.docker.compose.project={self.name}"]
        if service:
            cmd += ["--filter", f"label=com.docker.compose.service={service}"]
        return sh(cmd).stdout.split()

    def get(self, path: str = "/healthz") -> tuple[int, str]:
        return https_get(self.https_port, self.domain, path)

    def version(self) -> str | None:
        status, body = self.get()
        return json.loads(body).get("version") if status == 200 else None

    def break_health(self) -> None:
        """Make the next release's health check fail (the app starts, /healthz answers 503)."""
        if self.stack == "python":
            path = self.repo / "app" / "main.py"
            text = path.read_text()
            new = text.replace(
                "status_code, body = health(settings)",
                'status_code, body = 503, {"status": "broken on purpose"}',
            )
        else:
            path = self.repo / "src" / "app.ts"
            text = path.read_text()
            new = text.replace("statusCode: healthy ? 200 : 503", "statusCode: 503")
        assert new != text, f"could not break {path}"
        path.write_text(new)

    def break_health_after(self, seconds: float) -> None:
        """The next release starts healthy and answers 500 from /healthz `seconds` after it starts
        (python stack): a release that breaks after the switch."""
        path = self.repo / "app" / "main.py"
        text = path.read_text()
        new = text.replace(
            "status_code, body = health(settings)",
            "status_code, body = (\n"
            '        health(settings) if _time.monotonic() < BREAK_AT else (500, {"status": "broken"})\n'
            "    )",
        )
        assert new != text, f"could not break {path}"
        path.write_text(new + f"\n\nimport time as _time  # noqa: E402\n\nBREAK_AT = _time.monotonic() + {seconds}\n")

    def compose_db(self, *args: str) -> subprocess.CompletedProcess:
        return sh(
            [
                "docker",
                "compose",
                "-p",
                self.name,
                "--project-directory",
                str(self.repo),
                "--env-file",
                str(self.repo / ".env"),
                "-f",
                str(self.repo / "compose.yaml"),
                "-f",
                str(self.repo / "compose.db.yaml"),
                *args,
            ]
        )

    def psql(self, sql: str) -> str:
        env = _env_file(self.repo / ".env")
        return self.compose_db(
            "exec",
            "-T",
            "db",
            "psql",
            "-U",
            env["POSTGRES_USER"],
            "-d",
            env["POSTGRES_DB"],
            "-At",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            sql,
        ).stdout.strip()

    def destroy(self) -> None:
        ids = self.containers()
        if ids:
            sh(["docker", "rm", "-f", *ids], check=False)
        sh(["docker", "volume", "rm", "-f", f"{self.name}_db-data"], check=False)
        sh(["docker", "network", "rm", f"{self.name}_default"], check=False)
        images = sh(["docker", "images", "-q", "--filter", f"reference={self.name}"], check=False).stdout.split()
        if images:
            sh(["docker", "rmi", "-f", *images], check=False)


def _env_file(path: Path) -> dict:
    out = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            k, v = line.split("=", 1)
            out[k.strip()] = v.strip()
    return out


def make_app(base: Path, *, name: str, stack: str, database: str = "none", nginx: Nginx, **data) -> App:
    """Render an app with apps_dir=base and lay its directory out as the deploy workflow does.

    The Docker engine outlives a test run: a run that was killed left this name's containers and
    its database volume (initialised with another password), so they go first."""
    render_dir = base / f"render-{name}"
    domain = f"{name}.deploy.test"
    App(name=name, stack=stack, repo=base / name, domain=domain, https_port=0).destroy()
    render_app(render_dir, app_name=name, stack=stack, database=database, domain=domain, apps_dir=str(base), **data)
    app_dir = base / name
    shutil.copytree(render_dir, app_dir, ignore=shutil.ignore_patterns(".env"))
    example = (render_dir / ".env.example").read_text()
    port = free_port_block()
    values = {"APP_HOST_PORT": str(port)}
    if database == "postgres":
        values["POSTGRES_PASSWORD"] = "test-" + os.urandom(8).hex()
    lines = []
    for line in example.splitlines():
        m = re.match(r"^([A-Z_][A-Z0-9_]*)=(.*)$", line)
        if m and m.group(1) in values:
            line = f"{m.group(1)}={values[m.group(1)]}"
        lines.append(line)
    (app_dir / ".env").write_text("\n".join(lines) + "\n")
    (app_dir / ".env").chmod(0o600)
    https_port = free_port()
    app = App(name=name, stack=stack, repo=app_dir, domain=domain, https_port=https_port)
    nginx.add_site(app)
    return app


_port_lock = threading.Lock()
_blocks_taken = [0]


def _port_region() -> tuple[int, int]:
    """This process's own range of port blocks (first port, number of blocks), below Linux's
    ephemeral ports: each pytest-xdist worker has its own, a bench beside them a pid-chosen one."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if worker.startswith("gw") and worker[2:].isdigit() and int(worker[2:]) < 2:
        return 21000 + int(worker[2:]) * 2500, 25
    return 26000 + (os.getpid() % 6) * 1000, 10


def free_port_block() -> int:
    """A base port with 100 ports above it, different for each app of this process and from
    other workers' apps; a block whose first ports are bound is passed over."""
    first, count = _port_region()
    with _port_lock:
        for _ in range(count):
            base = first + (_blocks_taken[0] % count) * 100
            _blocks_taken[0] += 1
            if all(_port_free(port) for port in range(base, base + 4)):
                return base
    raise RuntimeError(f"no free block of 100 loopback ports in {first}-{first + count * 100 - 1}")


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def install_self_signed_site(nginx: Nginx, app: App, upstream_port: int | None) -> None:
    """Serve the app's block with a self-signed certificate (no ACME: for benches beside tests)."""
    from tests import certificates

    certificates.self_signed(nginx.letsencrypt / "live" / app.domain, app.domain)
    upstream = app.repo / ".deploy" / "upstream.conf"
    upstream.parent.mkdir(exist_ok=True)
    if upstream_port:
        upstream.write_text(f"server 127.0.0.1:{upstream_port};\n")
    elif not upstream.exists():
        upstream.write_text("server 127.0.0.1:9;\n")
    (nginx.sites / f"{app.name}.conf").write_text(nginx.site_text(app))
    nginx.reload()


def bump_version(app: App, marker: str) -> None:
    """A code change that makes a new release (the version comes from --ref)."""
    target = app.repo / ("app/main.py" if app.stack == "python" else "src/app.ts")
    prefix = "#" if app.stack == "python" else "//"
    target.write_text(target.read_text() + f"\n{prefix} release {marker}\n")


# ───────────────────────────── nginx on loopback ─────────────────────────────


class Nginx:
    """A private nginx (own config, pid, logs) that serves rendered server blocks on loopback ports."""

    def __init__(self, root: Path, http_port: int = ACME_HTTP_PORT):
        self.root = root
        self.http_port = http_port
        self.conf = root / "nginx.conf"
        self.sites = root / "sites"
        self.webroot = root / "acme-webroot"
        self.letsencrypt = root / "letsencrypt"

    def start(self) -> None:
        for d in (self.sites, self.webroot, self.letsencrypt, self.root / "tmp"):
            d.mkdir(parents=True, exist_ok=True)
        self.conf.write_text(f"""
user root;
worker_processes 1;
pid {self.root}/nginx.pid;
error_log {self.root}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log {self.root}/access.log;
    client_body_temp_path {self.root}/tmp/body;
    proxy_temp_path {self.root}/tmp/proxy;
    fastcgi_temp_path {self.root}/tmp/fastcgi;
    uwsgi_temp_path {self.root}/tmp/uwsgi;
    scgi_temp_path {self.root}/tmp/scgi;
    include /etc/nginx/mime.types;
    include {self.sites}/*.conf;
}}
""")
        sh(["nginx", "-c", str(self.conf), "-t", "-q"])
        sh(["nginx", "-c", str(self.conf)])

    def reload(self) -> None:
        sh(["nginx", "-c", str(self.conf), "-t", "-q"])
        sh(["nginx", "-c", str(self.conf), "-s", "reload"])

    def stop(self) -> None:
        sh(["nginx", "-c", str(self.conf), "-s", "quit"], check=False)

    def site_text(self, app: App) -> str:
        """The rendered server block with this machine's ports and certificate paths."""
        text = (app.repo / "deploy" / "nginx" / f"{app.name}.conf").read_text()
        text = re.sub(r"^\s*listen \[::\]:\d+.*;\n", "", text, flags=re.M)
        text = re.sub(r"listen 80;", f"listen 127.0.0.1:{self.http_port};", text)
        text = re.sub(r"listen 443 ssl", f"listen 127.0.0.1:{app.https_port} ssl", text)
        text = text.replace("/etc/letsencrypt", str(self.letsencrypt))
        text = text.replace("/var/www/letsencrypt", str(self.webroot))
        return text

    def add_site(self, app: App) -> None:
        """Stage the adapted block next to the app; deploy/tls.py installs it."""
        if not (app.repo / "deploy" / "nginx" / f"{app.name}.conf").exists():
            return  # proxy: none
        (app.repo / ".deploy").mkdir(exist_ok=True)
        (app.repo / f"{app.name}.loopback.conf").write_text(self.site_text(app))

    def tls_env(self) -> dict:
        return dict(os.environ, REQUESTS_CA_BUNDLE=str(PEBBLE_CA))

    def certbot_args(self) -> str:
        return (
            f"--server {PEBBLE_DIRECTORY} --config-dir {self.letsencrypt} "
            f"--work-dir {self.root}/certbot-work --logs-dir {self.root}/certbot-logs"
        )

    def issue(self, app: App) -> subprocess.CompletedProcess:
        """Obtain the certificate with the rendered repo's TLS helper, then serve the real block."""
        return sh(
            [
                "python3",
                str(app.repo / "deploy" / "tls.py"),
                "issue",
                "--site-source",
                str(app.repo / f"{app.name}.loopback.conf"),
                "--site-file",
                str(self.sites / f"{app.name}.conf"),
                "--webroot",
                str(self.webroot),
                "--http-listen",
                f"127.0.0.1:{ACME_HTTP_PORT}",
                "--certbot-args",
                self.certbot_args(),
            ],
            env=dict(app.deploy_env(self), **{"REQUESTS_CA_BUNDLE": str(PEBBLE_CA)}),
            timeout=300,
        )


# ───────────────────────────── HTTPS clients and load ─────────────────────────────


def _client_context() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def https_get(port: int, host: str, path: str = "/", timeout: float = 5, source: str | None = None) -> tuple[int, str]:
    """GET over TLS from 127.0.0.1, or from `source` (another loopback address) when given."""
    conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout, context=_client_context())
    conn._tunnel_host = None
    try:
        raw = socket.create_connection(("127.0.0.1", port), timeout, source_address=(source, 0) if source else None)
        conn.sock = _client_context().wrap_socket(raw, server_hostname=host)
        conn.request("GET", path, headers={"Host": host})
        resp = conn.getresponse()
        return resp.status, resp.read().decode(errors="replace")
    except OSError as exc:
        return 0, str(exc)
    finally:
        conn.close()


def served_certificate(port: int, host: str) -> bytes:
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    with _client_context().wrap_socket(raw, server_hostname=host) as tls:
        return tls.getpeercert(binary_form=True)


def cert_issuer_is_pebble(der: bytes) -> bool:
    pem = ssl.DER_cert_to_PEM_cert(der)
    out = subprocess.run(["openssl", "x509", "-noout", "-issuer"], input=pem, text=True, capture_output=True)
    return "Pebble" in out.stdout or "pebble" in out.stdout


class Load:
    """Steady HTTPS load (about `rate` requests/s) through nginx on 127.0.0.1, bounded in time."""

    def __init__(
        self,
        port: int,
        host: str,
        path: str = "/healthz",
        rate: int = 100,
        threads: int = 4,
        max_seconds: float = 600,
        settle: float = 0,
    ):
        # settle: seconds of load before the block runs and after it ends, so a switch happens
        # under traffic and anything that breaks just after it is still counted.
        self.settle = settle
        self.port, self.host, self.path = port, host, path
        self.rate, self.threads, self.max_seconds = rate, threads, max_seconds
        self.ok = 0
        self.failed = 0
        self.failures: list[str] = []
        self.failure_times: list[float] = []  # wall-clock time of each failure
        self.versions: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._workers: list[threading.Thread] = []

    def __enter__(self) -> Load:
        self.started = time.monotonic()
        for _ in range(self.threads):
            t = threading.Thread(target=self._work, daemon=True)
            t.start()
            self._workers.append(t)
        time.sleep(self.settle)
        return self

    def __exit__(self, *exc) -> None:
        time.sleep(self.settle)
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        for t in self._workers:
            t.join(timeout=15)

    def _connect(self) -> http.client.HTTPSConnection:
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=10, context=_client_context())
        conn.sock = _client_context().wrap_socket(
            socket.create_connection(("127.0.0.1", self.port), 10), server_hostname=self.host
        )
        return conn

    def _request(self, conn: http.client.HTTPSConnection) -> tuple[int, bytes, bool]:
        conn.request("GET", self.path, headers={"Host": self.host})
        resp = conn.getresponse()
        body = resp.read()
        return resp.status, body, resp.getheader("connection", "").lower() == "close"

    def _work(self) -> None:
        """One keep-alive connection per thread, like a browser tab.

        A request on a reused connection that the server closed while idle (nginx does so for its
        old workers on every reload) is retried once on a new connection, as browsers and HTTP
        libraries do for idempotent requests (RFC 9112, section 9.3.1). Everything else counts:
        a 5xx, a refused or reset new connection, a timeout.
        """
        interval = self.threads / self.rate
        conn = None
        next_at = time.monotonic()
        while not self._stop.is_set() and time.monotonic() - self.started < self.max_seconds:
            try:
                reused = conn is not None
                if conn is None:
                    conn = self._connect()
                try:
                    status, body, close = self._request(conn)
                except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                    conn.close()
                    conn = None
                    if not reused:
                        raise
                    conn = self._connect()
                    status, body, close = self._request(conn)
                if status == 200:
                    with self._lock:
                        self.ok += 1
                        try:
                            v = json.loads(body).get("version")
                        except ValueError:
                            v = None
                        if v and (not self.versions or self.versions[-1] != v):
                            self.versions.append(v)
                else:
                    with self._lock:
                        self.failed += 1
                        self.failures.append(f"status {status}")
                        self.failure_times.append(time.time())
                if close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as exc:
                with self._lock:
                    self.failed += 1
                    self.failures.append(repr(exc))
                    self.failure_times.append(time.time())
                if conn is not None:
                    conn.close()
                conn = None
            next_at += interval
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                next_at = time.monotonic()
        if conn is not None:
            conn.close()
