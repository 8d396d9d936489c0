"""How node setup writes systemd units: checked by systemd-analyze before anything lands in place."""

from __future__ import annotations

import shutil

import pytest

from devops_studio.nodes import systemd
from tests.conftest import IN_CI

needs_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None and not IN_CI, reason="systemd-analyze comes from tests/infra/nodes.sh"
)
GOOD = "[Unit]\nDescription=good\n\n[Service]\nExecStart=/bin/true\n"
BAD = "[Unit]\nDescription=bad\n\n[Service]\nExecStart=relative/path\n"


@needs_analyze
def test_a_unit_systemd_analyze_refuses_is_not_written_and_the_old_one_stays(tmp_path):
    (tmp_path / "demo.service").write_text(GOOD)
    written, problem = systemd.install_units(tmp_path, {"demo.service": BAD})
    assert written == [] and problem and "systemd-analyze verify" in problem
    assert (tmp_path / "demo.service").read_text() == GOOD
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.service"]


@needs_analyze
def test_only_stale_units_are_written_and_a_second_run_writes_nothing(tmp_path):
    (tmp_path / "a.service").write_text(GOOD)
    units = {"a.service": GOOD, "b.service": GOOD.replace("good", "b")}
    assert systemd.install_units(tmp_path, units) == (["b.service"], None)
    assert systemd.install_units(tmp_path, units) == ([], None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.service", "b.service"]
