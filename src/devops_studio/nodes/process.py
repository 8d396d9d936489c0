"""Running one outside command for a setup step: output captured, no tokens in its environment,
and a missing program or a hang is an answer (127, 124) instead of a traceback."""

from __future__ import annotations

import subprocess

from devops_studio.github_api import env_without_tokens


def run(argv: list[str], timeout: float = 60) -> tuple[int, str]:
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, check=False, timeout=timeout, env=env_without_tokens()
        )
    except FileNotFoundError:
        return 127, f"{argv[0]}: not found"
    except subprocess.TimeoutExpired:
        return 124, f"{' '.join(argv)} did not answer within {timeout:.0f}s"
    return done.returncode, (done.stdout + done.stderr).strip()
