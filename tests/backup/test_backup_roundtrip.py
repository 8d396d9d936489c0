"""Backups with the real parts: the Postgres stand-in, restic, and a real sshd on loopback as the target."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from devops_studio import backup_status
from tests.deploy import harness


@pytest.fixture
def app(nginx, base_dir, backup_target):  # noqa: F811
    name = "bk" + secrets.token_hex(3)
    app = harness.make_app(base_dir, name=name, stack="node", database="postgres", proxy="none", nginx=nginx)
    key = backup_target / "client_ed25519"
    app.env.update(
        {
            "DEPLOY_SMOKE_URL": "",  # proxy: none: the published port, no TLS
            # `{app}` is filled in by backup.py, as in the unit node setup writes from the inventory.
            "DEPLOY_BACKUP_REPOSITORY": "sftp://studio-backup@127.0.0.1:2223//srv/studio-backup/{app}",
            "DEPLOY_BACKUP_SFTP_COMMAND": (
                f"ssh -p 2223 -i {key} -o BatchMode=yes -o UserKnownHostsFile={backup_target / 'known_hosts'} "
                "studio-backup@127.0.0.1 -s sftp"
            ),
        }
    )
    config = app.config
    config["backup_checks"] = [{"sql": "SELECT count(*) FROM items", "min": 1000}]
    (app.repo / "deploy" / "deploy.json").write_text(json.dumps(config, indent=2))
    try:
        proc = app.run_deploy(nginx, "deploy", "--ref", "v1")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        yield app
    finally:
        app.destroy()
        # The volumes a live restore kept aside (<volume>-before-restore-<time>).
        kept = harness.sh(["docker", "volume", "ls", "-q", "--filter", f"name={name}_"], check=False).stdout.split()
        if kept:
            harness.sh(["docker", "volume", "rm", "-f", *kept], check=False)
        subprocess.run(["rm", "-rf", f"/srv/studio-backup/{name}"], check=False)


def backup(app, *args, check=True):
    program = ["python3", str(app.repo / "deploy" / "backup.py")]
    proc = harness.sh([*program, *args], env=app.deploy_env_plain(), check=False)
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def plain_dump(app) -> str:
    """pg_dump's plain output less its per-run random \\restrict key (the rest is deterministic)."""
    env = harness._env_file(app.repo / ".env")
    text = app.compose_db("exec", "-T", "db", "pg_dump", "-U", env["POSTGRES_USER"], "-d", env["POSTGRES_DB"]).stdout
    return "\n".join(line for line in text.splitlines() if not line.startswith(("\\restrict", "\\unrestrict")))


def wait_psql(app) -> None:
    """The stand-in's first start initialises, stops and starts the server again: ask until it answers."""
    deadline = time.monotonic() + 60
    while True:
        try:
            app.psql("SELECT 1")
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def snapshot_ids(app) -> list[str]:
    return [s["id"] for s in json.loads(backup(app, "backups", "--json").stdout)]


def test_backup_destroy_restore_kill_and_corrupt(app):
    app.psql("CREATE TABLE items (id int PRIMARY KEY, note text); "
             "INSERT INTO items SELECT g, md5(g::text) FROM generate_series(1, 5000) g")
    backup(app, "init")
    password = app.repo / ".deploy" / "backup" / "restic-password"
    assert password.stat().st_mode & 0o777 == 0o600
    secret = password.read_text().strip()
    first = backup(app, "backup")
    assert Path(f"/srv/studio-backup/{app.name}/config").is_file()  # `{app}` became this app's name
    assert secret not in first.stdout + first.stderr
    before = plain_dump(app)
    assert "md5" not in before and "COPY public.items" in before

    # Destroy the database volume: a fresh, empty database comes up in its place.
    db_ids = app.containers("db")
    harness.sh(["docker", "rm", "-f", *db_ids])
    harness.sh(["docker", "volume", "rm", f"{app.name}_db-data"])
    app.compose_db("up", "-d", "--wait", "db")
    wait_psql(app)
    assert app.psql("SELECT count(*) FROM pg_tables WHERE tablename = 'items'") == "0"
    dry = backup(app, "restore", "--dry-run")
    assert "would restore snapshot latest" in dry.stdout
    assert app.psql("SELECT count(*) FROM pg_tables WHERE tablename = 'items'") == "0"
    restored = backup(app, "restore")
    assert "the app is healthy" in restored.stdout
    assert app.psql("SELECT count(*) FROM items") == "5000"
    assert plain_dump(app) == before  # byte-identical
    port = harness._env_file(app.repo / ".env")["APP_HOST_PORT"]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as reply:
        assert json.loads(reply.read())["version"] == "v1"

    # Kills at several points leave the previous snapshot the newest, and restorable.
    good = snapshot_ids(app)
    for marker in ("db.dump.part", "restic"):
        proc = subprocess.Popen(
            ["python3", str(app.repo / "deploy" / "backup.py"), "backup"],
            env=app.deploy_env_plain(), start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        stage = app.repo / ".deploy" / "backup" / "stage"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if marker == "db.dump.part" and (stage / "db.dump.part").exists():
                break
            if marker == "restic" and (stage / "manifest.json").exists():
                time.sleep(0.3)
                break
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        assert snapshot_ids(app) == good, f"killed at {marker}: a snapshot appeared"
    status = json.loads((app.repo / ".deploy" / "backup" / "status.json").read_text())
    assert [b["ok"] for b in status["backups"]] == [True]

    # The drill restores the latest snapshot into a throwaway database and runs the declared check.
    drill = backup(app, "drill")
    assert "items = 5000" in drill.stdout or "count(*) FROM items = 5000" in drill.stdout
    rows = backup_status.check_backups(app.repo.parent)
    mine = [r for r in rows if r[0] in (f"backup {app.name}", f"restore drill {app.name}")]
    assert len(mine) == 2
    assert all(r[1] == "ok" for r in mine), mine

    # Corrupt the repository: the drill fails and doctor's check turns red, saying why.
    packs = sorted(Path(f"/srv/studio-backup/{app.name}/data").glob("*/*"))
    assert packs
    for pack in packs:
        pack.write_bytes(b"corrupt" + pack.read_bytes()[7:])
    failed = backup(app, "drill", check=False)
    assert failed.returncode == 1
    mine = [r for r in backup_status.check_backups(app.repo.parent) if r[0] == f"restore drill {app.name}"]
    assert mine[0][1] == "fail" and "newest drill failed" in mine[0][2]


def test_deploy_with_migration_dumps_first_and_rollback_offers_the_dump(app, nginx):  # noqa: F811
    app.psql("CREATE TABLE items (id int PRIMARY KEY); INSERT INTO items SELECT generate_series(1, 10)")
    app.env["DEPLOY_MIGRATE_COMMAND"] = "node -e \"console.log('migrating')\""
    harness.bump_version(app, "v2")
    proc = app.run_deploy(nginx, "deploy", "--ref", "v2")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    record = [r for r in app.state()["releases"] if r["ref"] == "v2"][-1]
    dump = Path(record["pre_migration_dump"])
    assert dump.is_file() and dump.stat().st_size > 0
    assert proc.stdout.index("pre-migration dump") < proc.stdout.index("running migrations")
    del app.env["DEPLOY_MIGRATE_COMMAND"]
    back = app.run_deploy(nginx, "rollback")
    assert back.returncode == 0, back.stdout + back.stderr
    assert f"python3 deploy/backup.py restore --dump {dump}" in back.stdout
    app.psql("DELETE FROM items")
    restored = backup(app, "restore", "--dump", str(dump))
    assert "the app is healthy" in restored.stdout
    assert app.psql("SELECT count(*) FROM items") == "10"
