"""Every job lands on the machine of its role in examples/studio.yml, and on no other machine.

GitHub gives a job to any online runner that carries every label the job asks for, so the check is
a subset test against each machine's full label set (the labels GitHub adds itself plus the
inventory's own), rendered with every machine role chosen.
"""

from __future__ import annotations

from ruamel.yaml import YAML

from devops_studio.render import render_new
from tests.conftest import REPO_ROOT

from .helpers import answers

OS_LABELS = {"linux": "Linux", "macos": "macOS", "windows": "Windows"}
# Which inventory role serves which rendered job.
JOB_ROLES = {"deploy": "production", "image": "production", "e2e-push": "review", "load": "build"}


def runner_labels() -> dict[str, list[str]]:
    """Each machine's runner labels as GitHub lists them: self-hosted, OS, architecture, then its own."""
    inventory = YAML(typ="safe").load((REPO_ROOT / "examples/studio.yml").read_text())
    return {
        name: ["self-hosted", OS_LABELS[node["os"]], node["arch"].upper(), *node["runner"]["labels"]]
        for name, node in inventory["nodes"].items()
        if node.get("runner")
    }


def machines_for(job_labels: list[str], machines: dict[str, list[str]]) -> set[str]:
    wanted = {label.lower() for label in job_labels}
    return {name for name, labels in machines.items() if wanted <= {label.lower() for label in labels}}


def test_each_job_runs_on_the_machine_of_its_role(tmp_path):
    inventory = YAML(typ="safe").load((REPO_ROOT / "examples/studio.yml").read_text())
    machines = runner_labels()
    by_role = {role: name for name, node in inventory["nodes"].items() for role in node["roles"]}
    repo = render_new(
        tmp_path / "app",
        data=answers(
            e2e=True,
            test_runner="self-hosted",
            test_runner_labels=machines[by_role["review"]],
            deploy_method="registry",
            deploy_runner_labels=machines[by_role["production"]],
            build_runner="self-hosted",
            build_runner_labels=machines[by_role["build"]],
        ),
    )
    placed: dict[str, set[str]] = {}
    for path in sorted((repo / ".github/workflows").glob("*.yml")):
        for job_id, job in YAML(typ="safe").load(path.read_text())["jobs"].items():
            runs_on = job["runs-on"]
            if isinstance(runs_on, list) and "self-hosted" in runs_on:
                placed[job_id] = machines_for(runs_on, machines)
            else:
                assert job_id not in JOB_ROLES, f"{job_id} should run on a self-hosted runner"
    assert placed == {job: {by_role[role]} for job, role in JOB_ROLES.items()}
    # Every machine the jobs use exists in the inventory with a runner.
    assert set().union(*placed.values()) <= set(machines)
