"""A stand-in for the runner release, built by the tests (systemctl's is in systemctl_standin).

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
import tarfile
from pathlib import Path

from tests.nodes.systemctl_standin import stop_services

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
    except OSError:  # no test server (the service tests): the listener keeps running regardless
        return 0, None


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


def listener(args):
    # Runner.Listener: decodes a JIT config as the runner does, then listens until SIGINT/SIGTERM.
    import fcntl, signal, time
    jit = os.environ.get("ACTIONS_RUNNER_INPUT_JITCONFIG")
    record("Runner.Listener", args, jit)
    if jit:
        try:  # base64 of a JSON map {file name: base64 of the file}, written into the runner root
            files = json.loads(base64.b64decode(jit, validate=True))
            for name in (".runner", ".credentials", ".credentials_rsaparams"):
                (HERE / name).write_bytes(base64.b64decode(files[name], validate=True))
        except (ValueError, KeyError, TypeError) as error:
            print(f"Failed to decode the JIT config: {error!r}")
            sys.exit(1)
    runner_id = json.loads((HERE / ".runner").read_text())["agentId"]
    # Stands in for the broker's one-session-per-runner rule: a second listener gets Session Conflict.
    lock = (HERE / ".session.lock").open("a")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        print("A session for this runner already exists.")
        sys.exit(5)
    stop = []
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    pidfile = Path(SETTINGS["record_dir"]) / "listeners" / str(os.getpid())
    pidfile.parent.mkdir(exist_ok=True)
    pidfile.write_text(str(runner_id))
    if (Path(SETTINGS["record_dir"]) / "stay-offline").exists():
        print("Failed to connect to the broker", flush=True)  # runs, but GitHub never sees it online
    else:
        post("/_fake/runner/status", {"id": runner_id, "status": "online"})
        print("Listening for Jobs", flush=True)
    while not stop and not jit:  # a JIT runner takes its one job and exits
        time.sleep(0.05)
    if not jit:
        post("/_fake/runner/status", {"id": runner_id, "status": "offline"})
    pidfile.unlink()


def service(args):
    # RunnerService.js: starts the listener; on SIGINT/SIGTERM sends it SIGINT (SIGKILL after 30 s).
    import signal, subprocess, threading, time
    child, stopping = None, []

    def graceful(*_):
        stopping.append(1)
        if child is not None and child.poll() is None:
            child.send_signal(signal.SIGINT)
            threading.Timer(30, child.kill).start()

    signal.signal(signal.SIGINT, graceful)
    signal.signal(signal.SIGTERM, graceful)
    while not stopping:
        child = subprocess.Popen([str(HERE / "bin" / "Runner.Listener"), "run", "--startuptype", "service"])
        code = child.wait()
        if stopping or code in (0, 1, 5):
            break
        time.sleep(5)
    os._exit(0)


if __name__ == "__main__":
    script, args = sys.argv[1], sys.argv[2:]
    if script == "config":
        config(args)
    elif script == "listener":
        listener(args)
    elif script == "service":
        service(args)
    else:
        record(script, args)
"""


# run.sh, run-helper.sh.template and runsvc.sh keep the signal handling of actions/runner's own scripts
# (src/Misc/layoutroot/run.sh, run-helper.sh.template, src/Misc/layoutbin/runsvc.sh at 258d6c8):
# run.sh forwards nothing unless RUNNER_MANUALLY_TRAP_SIG is set; runsvc.sh turns TERM into INT.
RUN_SH = r"""#!/bin/bash
DIR="$( cd -P "$( dirname "${BASH_SOURCE[0]}" )" && pwd )"
run() {
    while :; do
        cp -f "$DIR"/run-helper.sh.template "$DIR"/run-helper.sh
        "$DIR"/run-helper.sh $*
        returnCode=$?
        if [[ $returnCode -eq 2 ]]; then echo "Restarting runner..."; else echo "Exiting runner..."; exit 0; fi
    done
}
runWithManualTrap() {
    set -m
    trap 'kill -INT -$PID' INT TERM
    while :; do
        cp -f "$DIR"/run-helper.sh.template "$DIR"/run-helper.sh
        "$DIR"/run-helper.sh $* &
        PID=$!
        wait $PID
        returnCode=$?
        if [[ $returnCode -eq 2 ]]; then echo "Restarting runner..."
        else echo "Exiting runner..."; trap - INT TERM; wait $PID; exit $returnCode; fi
    done
}
if [[ -z "$RUNNER_MANUALLY_TRAP_SIG" ]]; then run $*; else runWithManualTrap $*; fi
"""
RUN_HELPER = r"""#!/bin/bash
DIR="$( cd -P "$( dirname "${BASH_SOURCE[0]}" )" && pwd )"
"$DIR"/bin/Runner.Listener run $*
returnCode=$?
if [[ $returnCode == 2 || $returnCode == 3 || $returnCode == 4 ]]; then exit 2; fi
exit 0
"""
RUNSVC_SH = r"""#!/bin/bash
trap 'kill -INT $PID' TERM INT
if [ -f ".path" ]; then export PATH=`cat .path`; fi
nodever="node20"
./externals/$nodever/bin/node ./bin/RunnerService.js &
PID=$!
wait $PID
trap - TERM INT
wait $PID
"""


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
        for script, kind in (("config.sh", "config"), ("svc.sh", "svc")):
            _add(tar, f"./{script}", f'#!/bin/sh\nexec python3 "$(dirname "$0")/fake_runner.py" {kind} "$@"\n')
        _add(tar, "./run.sh", RUN_SH)
        _add(tar, "./run-helper.sh.template", RUN_HELPER)
        _add(tar, "./runsvc.sh", RUNSVC_SH)
        _add(tar, "./bin/RunnerService.js", "// stand-in: externals/node20/bin/node runs fake_runner.py service\n")
        node = '#!/bin/sh\nexec python3 "$(dirname "$0")/../../../fake_runner.py" service\n'
        _add(tar, "./externals/node20/bin/node", node)
        listener = '#!/bin/sh\nexec python3 "$(dirname "$0")/../fake_runner.py" listener "$@"\n'
        _add(tar, "./bin/Runner.Listener", listener)
        # The real one installs libicu & co. with the package manager, as root.
        _add(
            tar,
            "./bin/installdependencies.sh",
            '#!/bin/sh\nexec python3 "$(dirname "$0")/../fake_runner.py" installdependencies "$@"\n',
        )
    return path


def live_listeners(record_dir: Path) -> list[int]:
    """Pids of stand-in listeners that are still running (each writes record/listeners/<pid>)."""
    folder = record_dir / "listeners"
    pids = [int(p.name) for p in folder.iterdir()] if folder.is_dir() else []
    return [pid for pid in pids if _running(pid)]


def _running(pid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z"


def kill_listeners(record_dir: Path) -> None:
    """Test clean-up: no stand-in outlives its test, whatever the test found."""
    stop_services(record_dir)
    for pid in live_listeners(record_dir):
        os.kill(pid, 9)


def calls(record_dir: Path) -> list[dict]:
    path = record_dir / "calls.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def world_writable_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o777)
    return path
