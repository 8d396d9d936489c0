"""The inventory loader accepts the example and rejects bad files with file, line, key and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from devops_studio.inventory import InventoryError, ReviewPolicy, load_inventory, review_policy_violations

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "studio.yml"


def test_example_loads():
    inv = load_inventory(EXAMPLE)
    assert set(inv.nodes) == {"chronos", "astraeus", "selene", "windows"}
    assert inv.nodes["chronos"].runner.labels == ("chronos", "chronos-deploy")
    assert inv.nodes["chronos"].apps_dir == "/home/chronos/apps"
    assert inv.profiles["llm-dev-jp-fast"].definition()["parameters"]["num_ctx"] == 32768
    assert inv.review.model == "olmo-3"
    assert inv.models["gpt-oss:120b"].fallback == "gpt-oss:20b"


def line_of(text: str, needle: str) -> int:
    for number, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(needle)


# (name, text to replace, replacement, line marker in the result, key, words the message must contain)
BAD = [
    (
        "deploy user differs from the runner user",
        "deploy_user: github-runner",
        "deploy_user: chronos",
        "deploy_user: chronos",
        "nodes.chronos.deploy_user",
        ["deploy jobs run as the runner's user", "'github-runner'"],
    ),
    (
        "unknown os",
        "os: linux                 # AlmaLinux 10",
        "os: almalinux",
        "os: almalinux",
        "nodes.chronos.os",
        ["'almalinux' is not allowed", "linux, macos, windows"],
    ),
    (
        "unknown role",
        "roles: [dev]",
        "roles: [dev, wizard]",
        "roles: [dev, wizard]",
        "nodes.astraeus.roles[1]",
        ["'wizard'", "production"],
    ),
    (
        "memory not a number",
        "memory_gb: 128",
        "memory_gb: lots",
        "memory_gb: lots",
        "nodes.windows.memory_gb",
        ["must be"],
    ),
    (
        "unknown node key",
        "    apps_dir: /home/chronos/apps\n",
        "    apps_dir: /home/chronos/apps\n    colour: blue\n",
        "colour: blue",
        "nodes.chronos.colour",
        ["unknown key", "allowed keys"],
    ),
    (
        "model not in catalog",
        "models: [olmo-3]",
        "models: [olmo-4]",
        "models: [olmo-4]",
        "nodes.selene.ollama.models[0]",
        ["'olmo-4'", "gpt-oss:20b"],
    ),
    (
        "profile from unknown model",
        "from: gpt-oss:20b",
        "from: llama9",
        "from: llama9",
        "profiles.llm-dev-deep.from",
        ["'llama9'", "devstral-small-2"],
    ),
    (
        "num_ctx missing",
        "    num_ctx: 65536\n",
        "",
        "  llm-dev-deep:",
        "profiles.llm-dev-deep.num_ctx",
        ["required"],
    ),
    (
        "runner repo not listed",
        "repo: todo-auth-app\n      labels: [chronos, chronos-deploy]",
        "repo: other-app\n      labels: [chronos, chronos-deploy]",
        "repo: other-app",
        "nodes.chronos.runner.repo",
        ["not in github.repos", "todo-auth-app"],
    ),
    (
        "runner as root",
        "labels: [chronos, chronos-deploy]\n      user: github-runner",
        "labels: [chronos, chronos-deploy]\n      user: root",
        "user: root",
        "nodes.chronos.runner.user",
        ["must not run as root"],
    ),
    (
        "default label repeated",
        "labels: [chronos, chronos-deploy]",
        "labels: [chronos, chronos-deploy, self-hosted]",
        "labels: [chronos, chronos-deploy, self-hosted]",
        "nodes.chronos.runner.labels[2]",
        ["default label"],
    ),
    (
        "review with same family",
        "  model: olmo-3\n",
        "  model: gpt-oss:20b\n",
        "  model: gpt-oss:20b",
        "review.model",
        ["same model that writes"],
    ),
    (
        "review node unknown",
        "  node: selene\n",
        "  node: luna\n",
        "  node: luna",
        "review.node",
        ["'luna'", "chronos"],
    ),
    ("bad version", "version: 1", "version: 2", "version: 2", "version", ["not supported"]),
    (
        "production on macos",
        "os: linux                 # AlmaLinux 10",
        "os: macos",
        "roles: [production, runner]",
        "nodes.chronos.roles",
        ["needs os: linux"],
    ),
    (
        "duplicate key",
        "    arch: arm64\n    memory_gb: 64\n    roles: [dev]",
        "    arch: arm64\n    arch: x64  # twice\n    memory_gb: 64\n    roles: [dev]",
        "arch: x64  # twice",
        "arch",
        ["duplicate key", "arch"],
    ),
    (
        "yaml syntax",
        "apps_dir: /home/chronos/apps",
        "apps_dir: /home/chronos/apps: x",
        "apps: x",
        "",
        ["YAML syntax error", "mapping values"],
    ),
    (
        "num_ctx under parameters",
        "      temperature: 0.4\n",
        "      temperature: 0.4\n      num_ctx: 4096\n",
        "num_ctx: 4096",
        "profiles.llm-dev-deep.parameters.num_ctx",
        ["on the profile itself"],
    ),
    (
        "dev node without ollama",
        "    roles: [dev]\n    ollama:\n      models: [devstral-small-2, gpt-oss:20b]\n"
        "      profiles: [llm-dev-jp-fast, llm-dev-deep]\n",
        "    roles: [dev]\n",
        "  astraeus:",
        "nodes.astraeus.ollama",
        ["required"],
    ),
    # hostile values (issue 11 and issue 9's boundaries): each is refused naming the field
    ("repo named ..", "    - some-api", "    - '..'", "    - '..'", "github.repos[1]", ["is not valid"]),
    (
        "repo with a trailing newline",
        "    - some-api",
        '    - "some-api\\n"',
        "some-api",
        "github.repos[1]",
        ["not valid"],
    ),
    (
        "api_url over plain http",
        "  owner: chronos-lab          #",
        "  api_url: http://ghe.example.com/api/v3\n  owner: chronos-lab          #",
        "api_url:",
        "github.api_url",
        ["must use https", "127.0.0.1"],
    ),
    (
        "credentials inside api_url",
        "  owner: chronos-lab          #",
        "  api_url: https://octo:hunter2@ghe.example.com/api/v3\n  owner: chronos-lab          #",
        "api_url:",
        "github.api_url",
        ["must not hold credentials", "GH_TOKEN"],
    ),
    (
        "memory .nan",
        "    memory_gb: 18",
        "    memory_gb: .nan",
        "memory_gb: .nan",
        "models.devstral-small-2.memory_gb",
        ["finite"],
    ),
    (
        "memory .inf",
        "    memory_gb: 8",
        "    memory_gb: .inf",
        "memory_gb: .inf",
        "models.olmo-3.memory_gb",
        ["finite"],
    ),
    (
        "runner directory in /etc",
        "directory: /opt/actions-runner",
        "directory: /etc/actions-runner",
        "directory: /etc",
        "nodes.chronos.runner.directory",
        ["system folder"],
    ),
    (
        "runner directory /",
        "directory: /opt/actions-runner",
        "directory: /",
        "directory: /",
        "nodes.chronos.runner.directory",
        ["system folder"],
    ),
    (
        "runner directory with ..",
        "directory: /opt/actions-runner",
        "directory: /opt/../etc/x",
        "directory: /opt/..",
        "nodes.chronos.runner.directory",
        ["normalised", "'..'"],
    ),
    (
        "runner directory relative",
        "directory: /opt/actions-runner",
        "directory: actions-runner",
        "directory: actions-runner",
        "nodes.chronos.runner.directory",
        ["absolute"],
    ),
    (
        "runner directory with a newline and a unit line",
        "directory: /opt/actions-runner",
        'directory: "/opt/r\\nExecStartPre=/bin/sh"',
        'directory: "/opt/r',
        "nodes.chronos.runner.directory",
        ["absolute path of letters"],
    ),
    (
        "apps_dir in /var",
        "apps_dir: /home/chronos/apps",
        "apps_dir: /var/lib/apps",
        "apps_dir: /var",
        "nodes.chronos.apps_dir",
        ["system folder"],
    ),
    (
        "work_folder ..",
        "directory: /opt/actions-runner",
        "directory: /opt/actions-runner\n      work_folder: '..'",
        "work_folder:",
        "nodes.chronos.runner.work_folder",
        ["not valid"],
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "marker", "key", "words"), [case[1:] for case in BAD], ids=[case[0] for case in BAD]
)
def test_bad_inventory_names_file_line_key(tmp_path, old, new, marker, key, words):
    text = EXAMPLE.read_text(encoding="utf-8")
    assert old in text
    bad = text.replace(old, new, 1)
    path = tmp_path / "studio.yml"
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    problems = caught.value.problems
    matching = [p for p in problems if p.key == key and all(w in p.message for w in words)]
    assert matching, "\n".join(str(p) for p in problems)
    problem = matching[0]
    assert problem.file == str(path)
    expected_line = line_of(bad, marker)
    assert problem.line == expected_line, str(problem)
    assert str(problem).startswith(f"{path}:{problem.line}: ")


def test_missing_file_and_non_mapping(tmp_path):
    with pytest.raises(InventoryError, match="file not found"):
        load_inventory(tmp_path / "nope.yml")
    path = tmp_path / "list.yml"
    path.write_text("- a\n- b\n")
    with pytest.raises(InventoryError, match="must be a YAML mapping"):
        load_inventory(path)


def test_policy_uses_live_families():
    inv = load_inventory(EXAMPLE)
    assert review_policy_violations(inv.review, inv.models, inv.profiles) == []
    problems = review_policy_violations(inv.review, inv.models, inv.profiles, families={"olmo-3": "gptoss"})
    assert problems and "family 'gptoss'" in problems[0]


def test_policy_falls_back_to_the_family_the_name_implies():
    policy = ReviewPolicy(node="selene", model="qwen2.5-coder:7b", author_models=("qwen3:14b",), language="en")
    problems = review_policy_violations(policy, {}, {})
    assert problems and "family 'qwen'" in problems[0]
    same = ReviewPolicy(
        node="selene", model="hf.co/unsloth/gpt-oss-20b-GGUF", author_models=("gpt-oss:20b",), language="en"
    )
    assert "the same model that writes code" in review_policy_violations(same, {}, {})[0]
    fine = ReviewPolicy(node="selene", model="olmo-3", author_models=("devstral-small-2",), language="en")
    assert review_policy_violations(fine, {}, {}) == []


def test_deep_nesting_is_refused_not_a_recursion_error(tmp_path):
    path = tmp_path / "studio.yml"
    path.write_text("version: 1\nnodes: " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(InventoryError, match="nests deeper than"):
        load_inventory(path)


def test_huge_file_is_refused_before_parsing(tmp_path):
    path = tmp_path / "studio.yml"
    path.write_text("version: 1\n" + "# padding\n" * 120_000)
    with pytest.raises(InventoryError, match="at most 1048576"):
        load_inventory(path)


def test_loopback_api_url_may_use_http(tmp_path):
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        "  owner: chronos-lab          #", "  api_url: http://127.0.0.1:8080/api\n  owner: chronos-lab          #", 1
    )
    path = tmp_path / "studio.yml"
    path.write_text(text)
    assert load_inventory(path).api_url == "http://127.0.0.1:8080/api"


CI_RUNNER = """
  ci-box:
    os: linux
    arch: x64
    memory_gb: 16
    roles: [runner]
    runner:
      scope: repo
      repo: todo-auth-app
      role: ci
      labels: [{labels}]
      user: {user}
"""


@pytest.mark.parametrize(
    ("labels", "user", "key", "words"),
    [
        ("CHRONOS-DEPLOY", "studio-ci", "nodes.ci-box.runner.labels[0]", ["label of the deploy runner"]),
        ("ci, chronos-deploy", "studio-ci", "nodes.ci-box.runner.labels[1]", ["label of the deploy runner"]),
        ("ci", "github-runner", "nodes.ci-box.runner.user", ["deploy user", "Docker socket"]),
    ],
    ids=["deploy-runner-label", "deploy-label", "deploy-user"],
)
def test_ci_runner_that_could_take_deploy_jobs_is_refused(tmp_path, labels, user, key, words):
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        "\nnodes:\n", "\nnodes:" + CI_RUNNER.format(labels=labels, user=user), 1
    )
    path = tmp_path / "studio.yml"
    path.write_text(text)
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    matching = [p for p in caught.value.problems if p.key == key and all(w in p.message for w in words)]
    assert matching and matching[0].line > 0, "\n".join(map(str, caught.value.problems))


def test_ci_runner_of_its_own_is_an_ephemeral_ci_runner(tmp_path):
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        "\nnodes:\n", "\nnodes:" + CI_RUNNER.format(labels="ci", user="studio-ci"), 1
    )
    path = tmp_path / "studio.yml"
    path.write_text(text)
    spec = load_inventory(path).node("ci-box").runner
    assert spec.role == "ci" and spec.ephemeral and spec.user == "studio-ci"
