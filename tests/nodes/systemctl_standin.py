"""A stand-in for systemctl, for tests of the units node setup installs (systemd is not PID 1 here).

`write_fake_systemctl` puts the program where DEVOPS_STUDIO_SYSTEMCTL can name it; it records each
call in systemctl.jsonl of a record folder and really starts and stops the units' ExecStart.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from pathlib import Path

FAKE_SYSTEMCTL = r'''#!/usr/bin/env python3
"""systemctl stand-in: records calls and starts/stops ExecStart with the unit's KillMode emulated.

Emulated, not real systemd (systemd is not PID 1 here): the unit's cgroup is stood in for by the
session the main process is started in (systemd also gives each service its own session; a process
that calls setsid() itself would escape this stand-in, not a real cgroup). Stop sends KillSignal to
the main process (KillMode=process/mixed) or the whole session (control-group), waits up to
TimeoutStopSec (capped at 40 s here) for the main process to exit, then SIGKILLs the main process
(process) or every process left in the session (mixed/control-group), as systemd.kill(5) describes.
"""
import json, os, shlex, signal, subprocess, sys, pwd, time
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


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def session_members(sid):
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == sid and fields[0] != "Z":
                members.append(int(entry))
    return members


def signal_all(pids, sig):
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def start(name):
    unit = unit_file(name)
    # DynamicUser=yes: systemd makes a transient unprivileged user; nobody stands in for it.
    user = pwd.getpwnam("nobody" if unit.get("DynamicUser") == "yes" else unit["User"])
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": user.pw_dir, "USER": user.pw_name}
    log = (RECORD / f"{name}.log").open("ab")
    # ExecStart is split on whitespace with shell-like quoting, as systemd.service(5) says.
    main = subprocess.Popen(shlex.split(unit["ExecStart"]), cwd=unit.get("WorkingDirectory", "/"), env=env,
                            user=user.pw_uid,
                            group=user.pw_gid, extra_groups=[], stdin=subprocess.DEVNULL, stdout=log,
                            stderr=log, start_new_session=True)
    state[name] = main.pid


def stop(name):
    main = state.pop(name, None)
    if not main or not alive(main):
        return
    unit = unit_file(name)
    mode = unit.get("KillMode", "control-group")
    sig = getattr(signal, unit.get("KillSignal", "SIGTERM"))
    signal_all(session_members(main) if mode == "control-group" else [main], sig)
    deadline = time.monotonic() + 40
    while alive(main) and time.monotonic() < deadline:
        time.sleep(0.05)
    signal_all(session_members(main) if mode in ("mixed", "control-group") else [main], signal.SIGKILL)


command = args[0]
if command == "is-active":
    sys.exit(0 if all(state.get(u) and alive(state[u]) for u in units) else 3)
if command == "restart":
    for unit in units:
        stop(unit)
        start(unit)
elif command == "start" or (command == "enable" and "--now" in args):
    for unit in units:
        if not (state.get(unit) and alive(state[unit])):
            start(unit)
elif command == "stop" or (command == "disable" and "--now" in args):
    for unit in units:
        stop(unit)
STATE.write_text(json.dumps(state))
'''


def write_fake_systemctl(path: Path, *, api: str, record_dir: Path, systemd_dir: Path) -> Path:
    path.write_text(FAKE_SYSTEMCTL)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    path.with_suffix(".json").write_text(
        json.dumps({"api": api, "record_dir": str(record_dir), "systemd_dir": str(systemd_dir)})
    )
    return path


def systemctl_calls(record_dir: Path) -> list[dict]:
    path = record_dir / "systemctl.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def stop_services(record_dir: Path) -> None:
    """Test clean-up: kill every main process the stand-in started, with its whole group."""
    state = record_dir / "systemctl-state.json"
    for main in json.loads(state.read_text()).values() if state.exists() else []:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(main, 9)  # the stand-in starts each main process as a group leader
