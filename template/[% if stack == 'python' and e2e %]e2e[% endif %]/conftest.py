"""Browser settings of the end-to-end tests.

CI installs Playwright's own Chromium (`playwright install`). Where a Chromium is already installed
(Debian's `chromium` package, for instance), PLAYWRIGHT_CHROMIUM_EXECUTABLE names it instead.
"""

from __future__ import annotations

import os
from typing import Any

import pytest


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    executable = os.environ.get("PLAYWRIGHT_CHROMIUM_EXECUTABLE")
    if not executable:
        return browser_type_launch_args
    return {**browser_type_launch_args, "executable_path": executable}
