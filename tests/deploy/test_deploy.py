"""Zero-downtime deploys of rendered apps on a real Docker Engine behind a real nginx with pebble TLS.

The tests of one app run in file order against the same loopback production box (session fixtures):
each leaves the app serving, as a real production box would be between deploys.
"""

from __future__ import annotations

import re
import subprocess
import time

import pytest

from tests.deploy import harness

# One loopback production box per test session: nginx on pebble's fixed HTTP port, and the apps'
# tests run in file order. Under xdist every deploy test runs in the same worker.
pytestmark = [pytest.mark.docker, pytest.mark.xdist_group("deploy-box")]


def _out(proc: subprocess.CompletedProcess) -> str:
    return (proc.stdout or "") + (proc.stderr or "")


def _running_colours(app: harness.App) -> list[str]:
    names = []
    for colour in ("blue", "green"):
        for cid in app.containers(f"web-{colour}"):
            state = harness.sh(["docker", "inspect", "-f", "{{.State.Status}}", cid]).stdout.strip()
            names.append(f"{colour}:{state}")
    return names


# ───────────────────────────── Python app, no database ─────────────────────────────


def test_first_deploy_python_is_served_over_https_with_a_pebble_certificate(python_app, nginx):
    status, body = python_app.get("/healthz")
    assert status == 200, body
    assert python_app.version() == "v1"
    assert harness.cert_issuer_is_pebble(harness.served_certificate(python_app.https_port, python_app.domain))
    # Port 80 answers ACME and sends everything else to HTTPS.
    proc = harness.sh(
        [
            "curl",
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{redirect_url}",
            "-H",
            f"Host: {python_app.domain}",
            f"http://127.0.0.1:{harness.ACME_HTTP_PORT}/x",
        ]
    )
    assert proc.stdout.startswith("301 https://"), proc.stdout
    state = python_app.state()
    assert state["active"] and state["releases"][-1]["status"] == "active"
    assert _running_colours(python_app) == ["blue:running"]


def test_metrics_answer_the_box_and_refuse_a_stranger(python_app):
    status, body = python_app.get("/metrics")
    assert status == 200, body
    assert 'http_requests_total{method="GET",route="/healthz",status="200"}' in body
    # 127.0.0.2 is loopback too, but no address the block allows: it stands in for the internet.
    stranger = {"port": python_app.https_port, "host": python_app.domain, "source": "127.0.0.2"}
    status, body = harness.https_get(path="/metrics", **stranger)
    assert status == 403, body
    assert harness.https_get(path="/healthz", **stranger)[0] == 200


def test_second_deploy_under_load_has_zero_failed_requests(python_app, nginx):
    harness.bump_version(python_app, "v2")
    # A one-off migration runs in the new release before the switch.
    python_app.env["DEPLOY_MIGRATE_COMMAND"] = (
        "python3 -c \"import os; print('migrating to', os.environ['APP_VERSION'])\""
    )
    try:
        with harness.Load(python_app.https_port, python_app.domain, settle=1) as load:
            proc = python_app.run_deploy(nginx, "deploy", "--ref", "v2")
    finally:
        del python_app.env["DEPLOY_MIGRATE_COMMAND"]
    assert proc.returncode == 0, _out(proc)
    assert "migrate: migrating to v2" in proc.stdout
    assert load.ok > 100, f"the load generator barely ran: {load.ok} ok"
    assert load.failed == 0, load.failures[:10]
    assert python_app.version() == "v2"
    assert load.versions[0] == "v1" and load.versions[-1] == "v2"
    assert _running_colours(python_app) == ["green:running"]


def test_broken_release_keeps_the_old_one_serving(python_app, nginx):
    main_py = python_app.repo / "app" / "main.py"
    original = main_py.read_text()
    python_app.break_health()
    try:
        with harness.Load(python_app.https_port, python_app.domain) as load:
            proc = python_app.run_deploy(nginx, "deploy", "--ref", "v3-broken")
    finally:
        main_py.write_text(original)
    out = _out(proc)
    assert proc.returncode != 0, out
    assert "unhealthy" in out or "did not become healthy" in out
    assert "last log lines of web-blue" in out
    assert load.failed == 0, load.failures[:10]
    assert load.ok > 100
    assert python_app.version() == "v2"
    assert python_app.containers("web-blue") == []
    assert _running_colours(python_app) == ["green:running"]
    assert python_app.state()["releases"][-1]["status"] == "failed"


def test_rollback_returns_the_previous_release_with_zero_failed_requests(python_app, nginx):
    with harness.Load(python_app.https_port, python_app.domain, settle=1) as load:
        proc = python_app.run_deploy(nginx, "rollback")
    assert proc.returncode == 0, _out(proc)
    assert load.failed == 0, load.failures[:10]
    assert python_app.version() == "v1"
    status = python_app.run_deploy(nginx, "status")
    assert status.returncode == 0
    assert "live release" in status.stdout and "v1" in status.stdout


def test_two_deploys_started_together_never_interleave(python_app, nginx):
    harness.bump_version(python_app, "concurrent")
    first = python_app.popen_deploy(nginx, "deploy", "--ref", "c1")
    second = python_app.popen_deploy(nginx, "deploy", "--ref", "c2")
    out1, _ = first.communicate(timeout=900)
    out2, _ = second.communicate(timeout=900)
    assert first.returncode == 0, out1
    assert second.returncode == 0, out2

    def window(out: str) -> tuple[str, str]:
        acquired = re.search(r"\[deploy (\S+)\] lock acquired", out)
        released = re.search(r"\[deploy (\S+)\] lock released", out)
        assert acquired and released, out
        return acquired.group(1), released.group(1)

    (a1, r1), (a2, r2) = window(out1), window(out2)
    assert r1 <= a2 or r2 <= a1, f"lock windows overlap: {a1}-{r1} and {a2}-{r2}"
    assert "waiting for the running deploy" in out1 + out2
    later = "c2" if a2 > a1 else "c1"
    assert python_app.version() == later
    assert len(_running_colours(python_app)) == 1


def test_second_deploy_with_no_wait_fails_clearly_while_one_runs(python_app, nginx):
    first = python_app.popen_deploy(nginx, "deploy", "--ref", "c3")
    time.sleep(2)
    proc = python_app.run_deploy(nginx, "deploy", "--ref", "c4", "--no-wait")
    out1, _ = first.communicate(timeout=900)
    assert first.returncode == 0, out1
    assert proc.returncode != 0
    assert "another deploy of this app is running" in _out(proc)
    assert python_app.version() == "c3"


def test_certificate_renewal_reloads_nginx_and_the_new_certificate_is_served(python_app, nginx):
    before = harness.served_certificate(python_app.https_port, python_app.domain)
    proc = harness.sh(
        [
            "certbot",
            "renew",
            "--force-renewal",
            "--no-random-sleep-on-renew",
            "--cert-name",
            python_app.domain,
            *nginx.certbot_args().split(),
        ],
        env=nginx.tls_env(),
        check=False,
        timeout=300,
    )
    assert proc.returncode == 0, _out(proc)
    # No reload by the test: the deploy hook tls.py installed must have done it.
    deadline = time.monotonic() + 10
    after = before
    while after == before and time.monotonic() < deadline:
        time.sleep(0.5)
        after = harness.served_certificate(python_app.https_port, python_app.domain)
    assert after != before
    assert harness.cert_issuer_is_pebble(after)
    assert python_app.get()[0] == 200


def test_tls_helper_puts_the_previous_server_block_back_when_nginx_rejects_the_new_one(python_app, nginx):
    site = nginx.sites / f"{python_app.name}.conf"
    before = site.read_text()
    broken = python_app.repo / "broken.loopback.conf"
    broken.write_text(before.replace("server_tokens off;", "server_tokens maybe;", 1))
    proc = subprocess.run(
        [
            "python3",
            str(python_app.repo / "deploy" / "tls.py"),
            "issue",
            "--site-source",
            str(broken),
            "--site-file",
            str(site),
            "--webroot",
            str(nginx.webroot),
            "--certbot-args",
            nginx.certbot_args(),
        ],
        env=dict(python_app.deploy_env(nginx), REQUESTS_CA_BUNDLE=str(harness.PEBBLE_CA)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    assert "test failed" in proc.stderr and f"{python_app.name}.conf" in proc.stderr  # nginx -t output
    assert "already present" in proc.stdout  # the certificate was kept, not requested again
    assert site.read_text() == before
    assert python_app.get()[0] == 200


def test_only_the_last_releases_keep_their_images(python_app):
    # By now: v1, v2, v3-broken (failed), rollback to v1, c1, c2, c3; keep_releases is 3.
    state = python_app.state()
    good = [r for r in state["releases"] if r["status"] in ("active", "previous")]
    assert sorted(r["ref"] for r in good) == ["c1", "c2", "c3"]  # c1 and c2 race for the lock
    assert {r["ref"] for r in state["releases"] if r["status"] == "pruned"} >= {"v1", "v2"}

    def present(tag: str) -> bool:
        return harness.sh(["docker", "images", "-q", f"pyapp:{tag}"]).stdout.strip() != ""

    assert [present(t) for t in ("c1", "c2", "c3")] == [True, True, True]
    assert [present(t) for t in ("v1", "v2")] == [False, False]
    releases_dir = python_app.repo / ".deploy" / "releases"
    assert sorted(p.name.split("-", 1)[1] for p in releases_dir.iterdir()) == ["c1", "c2", "c3"]


# ───────────────────────────── Node app with PostgreSQL ─────────────────────────────


def test_env_missing_a_required_key_is_refused_before_any_change(node_app, nginx):
    env_file = node_app.repo / ".env"
    original = env_file.read_text()
    secret = re.search(r"^POSTGRES_PASSWORD=(.+)$", original, re.M).group(1)
    before = {
        cid: harness.sh(["docker", "inspect", "-f", "{{.State.StartedAt}}", cid]).stdout
        for cid in node_app.containers()
    }
    env_file.write_text(re.sub(r"^POSTGRES_PASSWORD=.*\n", "", original, flags=re.M))
    try:
        proc = node_app.run_deploy(nginx, "deploy", "--ref", "n-refused")
        proc_empty = None
        env_file.write_text(re.sub(r"^POSTGRES_PASSWORD=.*$", "POSTGRES_PASSWORD=", original, flags=re.M))
        proc_empty = node_app.run_deploy(nginx, "deploy", "--ref", "n-refused")
    finally:
        env_file.write_text(original)
    for p, word in ((proc, "missing: POSTGRES_PASSWORD"), (proc_empty, "empty: POSTGRES_PASSWORD")):
        out = _out(p)
        assert p.returncode != 0
        assert word in out, out
        assert secret not in out
        assert "lock acquired" not in out and "building" not in out
    after = {
        cid: harness.sh(["docker", "inspect", "-f", "{{.State.StartedAt}}", cid]).stdout
        for cid in node_app.containers()
    }
    assert after == before
    assert harness.sh(["docker", "images", "-q", "nodeapp:n-refused"]).stdout.strip() == ""
    assert node_app.version() == "n1"


def test_first_deploy_node_with_postgres_is_healthy_over_https(node_app):
    status, body = node_app.get("/healthz")
    assert status == 200, body
    assert '"database":"ok"' in body.replace(" ", "")
    assert node_app.version() == "n1"
    assert harness.cert_issuer_is_pebble(harness.served_certificate(node_app.https_port, node_app.domain))


def test_database_data_survives_a_deploy_and_a_rollback(node_app, nginx):
    node_app.psql("CREATE TABLE IF NOT EXISTS notes (body text); INSERT INTO notes VALUES ('kept across releases')")
    harness.bump_version(node_app, "n2")
    with harness.Load(node_app.https_port, node_app.domain) as load:
        proc = node_app.run_deploy(nginx, "deploy", "--ref", "n2")
    assert proc.returncode == 0, _out(proc)
    assert load.failed == 0, load.failures[:10]
    assert node_app.version() == "n2"
    assert node_app.psql("SELECT body FROM notes") == "kept across releases"
    with harness.Load(node_app.https_port, node_app.domain) as load:
        proc = node_app.run_deploy(nginx, "rollback")
    assert proc.returncode == 0, _out(proc)
    assert load.failed == 0, load.failures[:10]
    assert node_app.version() == "n1"
    assert node_app.psql("SELECT body FROM notes") == "kept across releases"
    assert '"database":"ok"' in node_app.get()[1].replace(" ", "")
