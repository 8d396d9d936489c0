"""Stand-ins for the runner release and for systemctl, built by the tests.

The runner tarball holds real, small scripts (config.sh, run.sh, runsvc.sh, svc.sh) that behave like
the runner's: config.sh refuses root, refuses an already configured folder, registers with the GitHub
test server using the registration token it received, and writes `.runner`; `config.sh remove` uses a
remove token; run.sh reports the runner online. Every call is recorded (argv, the *names* of the
environment variables, the uid and the SHA-256 of any token received) in calls.jsonl of a record
folder, so tests can prove a token arrived through the environment and never through argv, without
writing the token itself anywhere.
"""

from __future__ import annotations

import io
import json
import os
import stat
import tarfile
from pathlib import Path

FAKE_RUNNER = r"""
import base64, hashlib, json, os, sys, urllib.error, urllib.request, uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
SETTINGS = json.loads((HERE / ".fake-settings.json").read_text())
RECORD = Path(SETTINGS["record_dir"]) / "calls.jsonl"


def record(script, argv, secret=None):
    digest = hashlib.sha256(secret.encode()).hexdigest() if secret else None
    entry = {"script": script, "argv": argv, "env_names": sorted(os.environ), "uid": os.getuid(),
             "cwd": os.getcwd(), "secret_sha256": digest}
    with RECORD.open("a") as out:
        out.write(json.dumps(entry) + "\n")
    try:
        RECORD.chmod(0o666)  # root (installdependencies.sh) and the runner user both append here
    except PermissionError:
        pass


def post(path, body):
    req = urllib.request.Request(SETTINGS["api"] + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        return error.code, None


def options(args):
    values, flags, rest = {}, set(), list(args)
    while rest:
        arg = rest.pop(0)
        if arg in ("--unattended", "--replace", "--ephemeral", "--disableupdate", "--no-default-labels"):
            flags.add(arg[2:])
        elif arg.startswith("--") and rest:
            values[arg[2:]] = rest.pop(0)
        else:
            print(f"Unrecognized command-line input arguments: '{arg}'")
            sys.exit(1)
    return values, flags


def value(values, name):
    return values.get(name) or os.environ.get("ACTIONS_RUNNER_INPUT_" + name.upper())


def config(args):
    if os.getuid() == 0 and not os.environ.get("RUNNER_ALLOW_RUNASROOT"):
        print("Must not run with sudo")
        sys.exit(1)
    if args[:1] == ["remove"]:
        values, _ = options(args[1:])
        token = value(values, "token")
        record("config.sh", ["remove", *args[1:]], token)
        if not (HERE / ".runner").exists():
            print("Failed: the runner is not configured.")
            sys.exit(1)
        agent = json.loads((HERE / ".runner").read_text())
        status, _ = post("/_fake/runner/remove", {"token": token, "id": agent["agentId"]})
        if status != 204:
            print("Http response code: NotFound from 'POST .../actions/runner-registration'")
            sys.exit(1)
        for name in (".runner", ".credentials"):
            (HERE / name).unlink()
        print("Runner removed successfully")
        return
    values, flags = options(args)
    token = value(values, "token")
    record("config.sh", args, token)
    if (HERE / ".runner").exists():
        print("Cannot configure the runner because it is already configured. To reconfigure the runner, "
              "run 'config.cmd remove' or './config.sh remove' first.")
        sys.exit(1)
    if not token:
        print("Enter the value for token: (unattended mode, none given)")
        sys.exit(1)
    labels = [x for x in (value(values, "labels") or "").split(",") if x]
    status, body = post("/_fake/runner/register", {
        "token": token, "url": value(values, "url"), "name": value(values, "name"), "labels": labels,
        "os": SETTINGS["os"], "architecture": SETTINGS["architecture"], "replace": "replace" in flags,
        "ephemeral": "ephemeral" in flags})
    if status == 409:
        print(f"A runner exists with the same name {value(values, 'name')}.")
        sys.exit(1)
    if status != 201:
        print("Http response code: NotFound from 'POST .../actions/runner-registration'")
        sys.exit(1)
    (HERE / ".runner").write_text(json.dumps({
        "agentId": body["id"], "agentName": body["name"], "poolId": 1, "gitHubUrl": value(values, "url"),
        "workFolder": value(values, "work") or "_work"}))
    credentials = {"scheme": "OAuth", "data": {"clientId": str(uuid.uuid4())}}
    (HERE / ".credentials").write_text(json.dumps(credentials))
    (HERE / (value(values, "work") or "_work")).mkdir(exist_ok=True)
    print("Runner successfully added")


def run(args):
    jit = os.environ.get("ACTIONS_RUNNER_INPUT_JITCONFIG")
    record("run.sh", args, jit)
    if jit:
        runner_id = json.loads(base64.b64decode(jit))["runner_id"]
    else:
        runner_id = json.loads((HERE / ".runner").read_text())["agentId"]
    if (Path(SETTINGS["record_dir"]) / "stay-offline").exists():
        print("Failed to connect to the broker")  # the service runs, GitHub never sees the runner online
        return
    post("/_fake/runner/status", {"id": runner_id, "status": "online"})
    print("Listening for Jobs")


if __name__ == "__main__":
    script, args = sys.argv[1], sys.argv[2:]
    if script == "config":
        config(args)
    elif script == "run":
        run(args)
    else:
        record(script, args)
"""

FAKE_SYSTEMCTL = r'''#!/usr/bin/env python3
"""systemctl stand-in: records calls; enable --now/start/restart run ExecStart once as the unit's User."""
import json, os, subprocess, sys, pwd, urllib.request
from pathlib import Path

SETTINGS = json.loads(Path(__file__).with_suffix(".json").read_text())
RECORD = Path(SETTINGS["record_dir"])
STATE = RECORD / "systemctl-state.json"
args = sys.argv[1:]
with (RECORD / "systemctl.jsonl").open("a") as out:
    out.write(json.dumps({"argv": args, "env_names": sorted(os.environ)}) + "\n")
state = json.loads(STATE.read_text()) if STATE.exists() else {}
units = [a for a in args[1:] if not a.startswith("-")]


def unit_file(name):
    text = (Path(SETTINGS["systemd_dir"]) / name).read_text()
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))


def start(name):
    unit = unit_file(name)
    user = pwd.getpwnam(unit["User"])
    env = {"PATH": "/usr/bin:/bin", "HOME": user.pw_dir}
    done = subprocess.run([unit["ExecStart"]], cwd=unit["WorkingDirectory"], env=env, user=user.pw_uid,
                          group=user.pw_gid, extra_groups=[], capture_output=True, text=True)
    if done.returncode != 0:
        print(done.stdout + done.stderr, file=sys.stderr)
        sys.exit(1)
    state[name] = True


def stop(name):
    if state.get(name):
        unit = unit_file(name)
        runner = Path(unit["WorkingDirectory"]) / ".runner"
        if runner.exists():
            agent = json.loads(runner.read_text())
            body = json.dumps({"id": agent["agentId"], "status": "offline"}).encode()
            req = urllib.request.Request(SETTINGS["api"] + "/_fake/runner/status", method="POST", data=body,
                                         headers={"Content-Type": "application/json"})
            try:
                urllib.request.urlopen(req, timeout=10).read()
            except OSError:
                pass
    state[name] = False


command = args[0]
if command == "is-active":
    sys.exit(0 if all(state.get(u) for u in units) else 3)
if command in ("start", "restart") or (command == "enable" and "--now" in args):
    for unit in units:
        start(unit)
elif command == "stop" or (command == "disable" and "--now" in args):
    for unit in units:
        stop(unit)
STATE.write_text(json.dumps(state))
'''


def _add(tar: tarfile.TarFile, name: str, text: str, mode: int = 0o755) -> None:
    data = text.encode()
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    tar.addfile(info, io.BytesIO(data))


def build_runner_tarball(
    path: Path, *, api: str, record_dir: Path, os_name: str = "linux", architecture: str = "x64"
) -> Path:
    settings = json.dumps({"api": api, "record_dir": str(record_dir), "os": os_name, "architecture": architecture})
    with tarfile.open(path, "w:gz") as tar:
        _add(tar, "./fake_runner.py", FAKE_RUNNER, 0o644)
        _add(tar, "./.fake-settings.json", settings, 0o644)
        for script, kind in (
            ("config.sh", "config"),
            ("run.sh", "run"),
            ("runsvc.sh", "run"),
            ("svc.sh", "svc"),
        ):
            _add(tar, f"./{script}", f'#!/bin/sh\nexec python3 "$(dirname "$0")/fake_runner.py" {kind} "$@"\n')
        _add(tar, "./bin/Runner.Listener", "#!/bin/sh\necho listener\n")
        # The real one installs libicu & co. with the package manager, as root.
        _add(
            tar,
            "./bin/installdependencies.sh",
            '#!/bin/sh\nexec python3 "$(dirname "$0")/../fake_runner.py" installdependencies "$@"\n',
        )
    return path


def write_fake_systemctl(path: Path, *, api: str, record_dir: Path, systemd_dir: Path) -> Path:
    path.write_text(FAKE_SYSTEMCTL)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    path.with_suffix(".json").write_text(
        json.dumps({"api": api, "record_dir": str(record_dir), "systemd_dir": str(systemd_dir)})
    )
    return path


def calls(record_dir: Path) -> list[dict]:
    path = record_dir / "calls.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def systemctl_calls(record_dir: Path) -> list[dict]:
    path = record_dir / "systemctl.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def world_writable_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o777)
    return path
