"""Benchmark: a serial loop of plain `copier update` against `devops-studio fleet update`.

Builds a template repo from this project's real template (copier.yml, template/, extensions/),
tagged v1.0.0, plus a v2.0.0 with a small change; makes 50 app repos from v1.0.0 with varied
answers and local edits, each pushed to a bare remote on disk; then, in one run:

(a) serial: in a clone of each repo, `copier update --defaults --trust`, one repo after another;
(b) fleet: `devops-studio fleet update --folder ... --jobs N` over other clones of the same repos.

Both must end with the same file tree per repo (git tree ids of the serial work tree and of the
fleet's update branch). The last line is exactly:

    repos=50 serial_s=S fleet_s=F speedup=R failures=N identical=yes|no
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fleet.template_factory import build_project_template, git  # noqa: E402

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Bench Owner",
    "GIT_AUTHOR_EMAIL": "owner@example.invalid",
    "GIT_COMMITTER_NAME": "Bench Owner",
    "GIT_COMMITTER_EMAIL": "owner@example.invalid",
}
BRANCH = "template-update/v2.0.0"


def answers_for(index: int) -> dict[str, object]:
    """Varied answers: stacks, databases, proxies, ports, triggers, review on/off."""
    return {
        "app_name": f"app-{index:02d}",
        "stack": ("python", "node")[index % 2],
        "database": ("none", "postgres")[(index // 2) % 2],
        "proxy": ("host-nginx", "compose-nginx", "none")[index % 3],
        "app_port": 8000 + index,
        "deploy_trigger": ("main", "tag")[(index // 3) % 2],
        "llm_review": index % 4 != 0,
        "github_owner": "bench-owner",
        "domain": f"app-{index:02d}.home.example.org",
        "letsencrypt_email": "ops@example.org",
    }


def local_edits(repo: Path, index: int) -> None:
    """Owner edits away from what v2 changes, in several file types."""
    readme = repo / "README.md"
    first, rest = readme.read_text().split("\n", 1)
    readme.write_text(f"{first}\n\nOwned by team {index % 5}; ask in #app-{index:02d}.\n{rest}")
    compose = repo / "compose.yaml"
    compose.write_text(compose.read_text() + f"# owner note {index}\n")
    (repo / "NOTES.md").write_text(f"Notes of app {index}.\n")


def make_app(args: tuple[str, int, str]) -> str:
    template, index, root = args
    import copier

    name = f"app-{index:02d}"
    work = Path(root, "origin", name)
    copier.run_copy(template, work, data=answers_for(index), vcs_ref="v1.0.0", defaults=True, unsafe=True, quiet=True)
    git(work, "init", "-q", "-b", "main")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "Generated from the template v1.0.0")
    local_edits(work, index)
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "Owner's edits")
    for side in ("serial", "fleet"):
        bare = Path(root, f"remotes-{side}", f"{name}.git")
        git(Path(root), "clone", "-q", "--bare", str(work), str(bare))
        git(Path(root), "clone", "-q", str(bare), str(Path(root, side, name)))
    return name


def _children_cpu() -> float:
    """CPU seconds used by finished child processes (and their children) so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def tree_of_worktree(repo: Path) -> str:
    """Tree id of the work tree as git sees it (ignored files such as .env left out)."""
    git(repo, "add", "-A")
    return git(repo, "write-tree").strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()
    os.environ.update(GIT_ENV)
    root = Path(tempfile.mkdtemp(prefix="bench-fleet."))
    os.environ["COPIER_CACHE_DIR"] = str(root / "copier-cache")
    try:
        template = build_project_template(root / "template")
        for side in ("origin", "serial", "fleet", "remotes-serial", "remotes-fleet"):
            (root / side).mkdir()
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            names = list(pool.map(make_app, [(str(template), i, str(root)) for i in range(args.repos)]))
        print(f"made {len(names)} app repos from {template} v1.0.0", file=sys.stderr)

        copier_cmd = shutil.which("copier", path=str(Path(sys.executable).parent)) or "copier"
        serial_failures = 0
        cpu_before = _children_cpu()
        started = time.perf_counter()
        for name in names:
            proc = subprocess.run(
                [copier_cmd, "update", "--defaults", "--trust", "--quiet"],
                cwd=root / "serial" / name,
                capture_output=True,
                text=True,
            )
            if proc.returncode != 0:
                serial_failures += 1
                print(f"serial {name} failed: {proc.stderr.strip()[-300:]}", file=sys.stderr)
        serial_s = time.perf_counter() - started
        serial_cpu = _children_cpu() - cpu_before

        cpu_before = _children_cpu()
        started = time.perf_counter()
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "devops_studio",
                "fleet",
                "update",
                "--folder",
                str(root / "fleet"),
                "--jobs",
                str(args.jobs),
                "--trust-template",  # the bench's own copy of the project's template
                str(root / "**"),
                "--json",
            ],
            capture_output=True,
            text=True,
        )
        fleet_s = time.perf_counter() - started
        fleet_cpu = _children_cpu() - cpu_before
        try:
            report = json.loads(proc.stdout)
        except ValueError:
            print(proc.stdout[-2000:], proc.stderr[-2000:], file=sys.stderr)
            report = {"repos": []}
        results = {r["name"]: r for r in report["repos"]}
        fleet_failures = 0
        for name in names:
            result = results.get(name)
            if result is None or result["classification"] not in ("updated", "conflicted"):
                fleet_failures += 1
                print(f"fleet {name}: {result and (result['classification'], result['error'])}", file=sys.stderr)
        conflicted = sum(1 for r in results.values() if r["classification"] == "conflicted")

        identical = True
        for name in names:
            serial_tree = tree_of_worktree(root / "serial" / name)
            try:
                fleet_tree = git(root / "fleet" / name, "rev-parse", f"{BRANCH}^{{tree}}").strip()
            except subprocess.CalledProcessError:
                fleet_tree = "missing"
            if serial_tree != fleet_tree:
                identical = False
                print(f"trees differ for {name}: serial {serial_tree} fleet {fleet_tree}", file=sys.stderr)
        failures = serial_failures + fleet_failures
        print(
            f"serial: {serial_s / len(names):.2f} s per repo; fleet: {fleet_s / len(names):.2f} s per repo "
            f"with {args.jobs} jobs; conflicted: {conflicted}; CPU time (user+sys) serial "
            f"{serial_cpu:.1f} s, fleet {fleet_cpu:.1f} s",
            file=sys.stderr,
        )
        same = "yes" if identical else "no"
        print(
            f"repos={len(names)} serial_s={serial_s:.1f} fleet_s={fleet_s:.1f} "
            f"speedup={serial_s / fleet_s:.2f} failures={failures} identical={same}"
        )
        return 0 if failures == 0 and identical else 1
    finally:
        if args.keep:
            print(f"kept {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
