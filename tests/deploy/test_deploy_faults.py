"""A kill at a step before, at and after the switch loses no request and leaves one truth.

The full matrix (every named step x SIGKILL, SIGINT, SIGTERM, SIGHUP) is bench/deploy_faults.py;
this subset keeps CI fast and covers the three places a kill can land: before traffic moves (the
new release's health check), between the rewritten include and nginx's reload, and after the switch
(the drain, with the old release still warm).
"""

from __future__ import annotations

import signal

import pytest

from tests.deploy import faults

pytestmark = [pytest.mark.docker, pytest.mark.xdist_group("deploy-box")]

CASES = [
    ("health", signal.SIGINT),
    ("reload", signal.SIGKILL),
    ("drain", signal.SIGHUP),
]


@pytest.fixture(scope="module")
def fault_app(nginx, base_dir):
    app = faults.fresh_app(base_dir, nginx, "faultapp")
    yield app
    app.destroy()


def test_the_fast_subset_covers_before_at_and_after_the_switch():
    steps = faults.program_steps()
    chosen = [steps.index(step) for step, _ in CASES]
    assert min(chosen) < steps.index("switch") < steps.index("reload") <= max(chosen)
    assert any(i > steps.index("reload") for i in chosen)


@pytest.mark.parametrize(("step", "sig"), CASES, ids=[f"{s}-{g.name}" for s, g in CASES])
def test_a_signal_at_a_step_is_followed_by_a_deploy_and_a_rollback_that_keep_serving(fault_app, nginx, step, sig):
    outcome = faults.run_case(fault_app, nginx, step, sig, serial=f"{step}{int(sig)}")
    assert outcome.failed_requests == 0, str(outcome)
    assert outcome.inconsistent == [], str(outcome)
