#!/usr/bin/env python3
"""Backup and restore cost of deploy/backup.py against a plain `pg_dump | gzip`, in one run.

With the real parts (the Postgres stand-in, restic, a real sshd on loopback as the backup machine),
it fills a database of --rows rows (about 100 bytes each), then measures:
  baseline: `pg_dump | gzip -6` inside the db container, to a file on this box (no encryption,
            nothing off the box, no retention): its time and size;
  first:    `backup.py backup` (dump, restic over SFTP, retention): time and bytes added;
  second:   the same again with the data unchanged: deduplication should make it cheap;
  restore:  `backup.py restore --to-dir` of the latest snapshot, checked against its manifest.
Last line, exactly:
  rows=N baseline_s=S first_ratio=R second_ratio=R restore_ratio=R first_size_ratio=R second_added_fraction=F

Ratios are against the baseline's time (size ratio: bytes restic added against the gzip file).
Needs root and the test infrastructure (tests/infra/*.sh; idempotent, run first).
Usage: python3 bench/backup.py [--rows 200000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.deploy import harness  # noqa: E402

TARGET = Path("/var/lib/devops-studio/backup-target")


def timed(action):
    start = time.monotonic()
    result = action()
    return result, time.monotonic() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000, help="rows in the benchmark table")
    args = parser.parse_args()
    harness.ensure_infra()
    subprocess.run(["bash", str(ROOT / "tests" / "infra" / "backup.sh")], check=True, capture_output=True)

    with tempfile.TemporaryDirectory(prefix="backup-bench-") as tmp:
        base = Path(tmp)
        base.chmod(0o755)
        nginx = harness.Nginx(base / "nginx", http_port=harness.free_port())
        nginx.start()
        name = "bench-backup"
        app = harness.make_app(base, name=name, stack="node", database="postgres", proxy="none", nginx=nginx)
        key = TARGET / "client_ed25519"
        app.env.update(
            {
                "DEPLOY_SMOKE_URL": "",
                "DEPLOY_BACKUP_REPOSITORY": f"sftp:studio-backup@127.0.0.1:/srv/studio-backup/{name}",
                "DEPLOY_BACKUP_SFTP_COMMAND": (
                    f"ssh -p 2223 -i {key} -o BatchMode=yes -o UserKnownHostsFile={TARGET / 'known_hosts'} "
                    "studio-backup@127.0.0.1 -s sftp"
                ),
            }
        )
        program = ["python3", str(app.repo / "deploy" / "backup.py")]

        def backup(*argv: str) -> subprocess.CompletedProcess:
            proc = harness.sh([*program, *argv], env=app.deploy_env_plain(), check=False)
            if proc.returncode != 0:
                raise SystemExit(f"backup.py {' '.join(argv)} failed:\n{proc.stdout}\n{proc.stderr}")
            return proc

        try:
            proc = app.run_deploy(nginx, "deploy", "--ref", "v1")
            assert proc.returncode == 0, proc.stdout + proc.stderr
            app.psql(
                "CREATE TABLE items (id int PRIMARY KEY, note text, body text); "
                f"INSERT INTO items SELECT g, md5(g::text), repeat(md5((g * 7)::text), 2) "
                f"FROM generate_series(1, {args.rows}) g"
            )
            env = harness._env_file(app.repo / ".env")
            baseline_file = base / "baseline.sql.gz"

            def baseline() -> None:
                with baseline_file.open("wb") as out:
                    dump = f'pg_dump -U "{env["POSTGRES_USER"]}" -d "{env["POSTGRES_DB"]}" | gzip -6'
                    cmd = ["docker", "compose", "-p", name, "--project-directory", str(app.repo)]
                    cmd += ["--env-file", str(app.repo / ".env")]
                    cmd += ["-f", str(app.repo / "compose.yaml"), "-f", str(app.repo / "compose.db.yaml")]
                    subprocess.run([*cmd, "exec", "-T", "db", "sh", "-c", dump], stdout=out, check=True)

            _, baseline_s = timed(baseline)
            baseline_size = baseline_file.stat().st_size
            backup("init")
            _, first_s = timed(lambda: backup("backup"))
            first = json.loads(backup("backups", "--json").stdout)[-1]
            _, second_s = timed(lambda: backup("backup"))
            status = json.loads((app.repo / ".deploy" / "backup" / "status.json").read_text())
            entries = [e for e in status.get("backups", []) if e.get("ok")]
            first_added, second_added = entries[-2]["added_bytes"], entries[-1]["added_bytes"]
            _, restore_s = timed(lambda: backup("restore", "--to-dir", str(base / "restored")))
            print(f"baseline: {baseline_s:6.2f} s  {baseline_size} bytes (gzip)")
            print(f"first:    {first_s:6.2f} s  {first_added} bytes added (snapshot {first['id'][:8]})")
            print(f"second:   {second_s:6.2f} s  {second_added} bytes added")
            print(f"restore:  {restore_s:6.2f} s")
            print(
                f"rows={args.rows} baseline_s={baseline_s:.2f} first_ratio={first_s / baseline_s:.2f} "
                f"second_ratio={second_s / baseline_s:.2f} restore_ratio={restore_s / baseline_s:.2f} "
                f"first_size_ratio={first_added / baseline_size:.2f} "
                f"second_added_fraction={second_added / max(first_added, 1):.4f}"
            )
        finally:
            app.destroy()
            nginx.stop()
            subprocess.run(["rm", "-rf", f"/srv/studio-backup/{name}"], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
