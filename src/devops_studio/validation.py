"""Full-string checks of inventory values, and the paths that may reach units, shells and PowerShell.

Python's `$` also matches before a final newline (`re.match(r"^[a-z]+$", "abc\n")` succeeds), so every
pattern check in the project goes through `full_match`, which uses `re.fullmatch`.
"""

from __future__ import annotations

import posixpath
import re

# Characters a path may hold to be written raw into a systemd unit, a launchd plist or a shell line.
POSIX_PATH_RE = re.compile(r"/[A-Za-z0-9._/-]*")
WINDOWS_PATH_RE = re.compile(r"[A-Za-z]:\\[A-Za-z0-9._ \\-]*")
# Folders a runner or an apps folder must never be (nor be inside of, for the first group).
SYSTEM_ROOTS = ("/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/proc", "/sbin", "/sys", "/usr", "/var")
SYSTEM_EXACT = ("/", "/home", "/opt", "/root", "/srv", "/tmp", "/Users", "/Library", "/System", "/Applications")


def full_match(pattern: re.Pattern[str] | str, value: str) -> bool:
    """True when the whole of `value` matches `pattern` (no trailing-newline loophole)."""
    return re.fullmatch(pattern, value) is not None


def path_problem(value: str, windows: bool = False) -> str | None:
    """Why `value` cannot be a runner or apps folder; None when it can."""
    if windows:
        if not full_match(WINDOWS_PATH_RE, value) or ".." in value.split("\\"):
            return "must be an absolute Windows path such as C:\\actions-runner (letters, digits, . _ - space)"
        if value.rstrip("\\").count("\\") < 1 or len(value.rstrip("\\")) <= 3:
            return "must not be a drive root; use a folder such as C:\\actions-runner"
        return None
    if not full_match(POSIX_PATH_RE, value):
        return "must be an absolute path of letters, digits and . _ - / (no spaces, quotes or newlines)"
    if ".." in value.split("/") or posixpath.normpath(value) != value:
        return f"must be normalised, without '..', '.', '//' or a trailing '/'; write {posixpath.normpath(value)!r}"
    if value in SYSTEM_EXACT or any(value == root or value.startswith(root + "/") for root in SYSTEM_ROOTS):
        return "is / or a system folder; use a folder of its own such as /opt/actions-runner or /home/chronos/apps"
    return None


HOST_RE = re.compile(r"[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\]")
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")


def url_problem(value: str, *, https_unless_loopback: bool) -> str | None:
    """Why `value` cannot be an API address; None when it can. Credentials never belong in a URL."""
    match = re.fullmatch(r"(https?)://([^/?#]*)(/[A-Za-z0-9._~/-]*)?", value)
    if match is None:
        return "must be http(s)://HOST[:PORT][/PATH] with no query, fragment, spaces or newlines"
    scheme, authority, _ = match.groups()
    if "@" in authority:
        return "must not hold credentials (user:password@); give tokens through GH_TOKEN or `gh auth login`"
    host, _, port = authority.rpartition(":") if not authority.endswith("]") else (authority, "", "")
    if not host:
        host, port = authority, ""
    if not full_match(HOST_RE, host) or (port and not (port.isdigit() and 0 < int(port) < 65536)):
        return "has an invalid host or port"
    loopback = host in LOOPBACK_HOSTS or host.startswith("127.")
    if https_unless_loopback and scheme == "http" and not loopback:
        return "must use https (plain http is allowed only for 127.0.0.1, ::1 and localhost)"
    return None
