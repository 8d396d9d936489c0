"""`fleet update` loses nothing in any cell of the loss matrix (tests/fleet/loss_matrix.py).

Every cell must come out `kept` (the owner's bytes and mode are in the update branch) or `flagged`
(the report names the path as a conflict or as deleted-but-edited, and the owner's version is still
on the base branch). Plain `copier update` runs over the same cells; docs/updates.md documents both
cell by cell, and the table there is checked against what the two actually did.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.fleet import loss_matrix as lm
from tests.fleet.helpers import git, run_fleet

CELLS = lm.cells()
BRANCH = "template-update/v2.0.0"


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory):
    """The matrix template, the owner's repo (pushed to a bare remote) and a copy for plain Copier."""
    root = tmp_path_factory.mktemp("loss-matrix")
    template = lm.build_matrix_template(root / "template", CELLS)
    owner = lm.make_owner_repo(template, root / "apps" / "matrix", CELLS)
    main_before = git(owner, "rev-parse", "HEAD").strip()
    plain = root / "plain" / "matrix"
    shutil.copytree(owner, plain, symlinks=True)
    return {"template": template, "owner": owner, "plain": plain, "main_before": main_before}


def _fleet_outcomes(matrix, capsys) -> tuple[dict[str, str], dict]:
    code, report, out = run_fleet(capsys, "update", "--repos", str(matrix["owner"]), "--to", "v2.0.0", "--push",
                                  "--json")
    (result,) = report["repos"]
    assert result["classification"] in ("updated", "conflicted"), out
    remote = matrix["owner"].parent / "matrix.git"
    tree = lm.Tree.at(remote, BRANCH)
    flagged = set(result["conflicts"]) | set(result["deleted_but_edited"]) | set(result["binary_edits_reverted"])
    # The owner's version stays recoverable: the base branch is untouched.
    assert git(remote, "rev-parse", "main").strip() == matrix["main_before"]
    return {cell.path: lm.outcome(cell, tree, flagged) for cell in CELLS}, result


def _plain_outcomes(matrix) -> dict[str, str]:
    repo = matrix["plain"]
    lm.plain_copier_update(repo)
    tree = lm.Tree.at(repo, "HEAD")
    flagged = {
        path.removesuffix(".rej")
        for path, (content, _) in tree.files.items()
        if path.endswith(".rej") or (isinstance(content, bytes) and b"\n>>>>>>> " in content)
    }
    return {cell.path: lm.outcome(cell, tree, flagged) for cell in CELLS}


def test_fleet_update_loses_nothing_in_any_cell_and_copier_is_measured_on_the_same_cells(matrix, capsys):
    ours, result = _fleet_outcomes(matrix, capsys)
    plain = _plain_outcomes(matrix)
    lost = [path for path, found in ours.items() if found == lm.LOST]
    assert lost == [], f"silent losses: {lost}"
    # Every flagged cell is named in the report the pull request is built from.
    flagged = [path for path, found in ours.items() if found == lm.FLAGGED]
    assert result["classification"] == ("conflicted" if result["conflicts"] else "updated")
    assert set(flagged) <= set(result["conflicts"]) | set(result["deleted_but_edited"])
    documented = documented_table()
    measured = {path: (ours[path], plain[path]) for path in ours if ours[path] != lm.NOT_APPLICABLE}
    assert documented == measured, "docs/updates.md's loss matrix no longer matches what the tools do:\n" + "\n".join(
        f"| `{p}` | {o} | {c} |" for p, (o, c) in sorted(measured.items())
    )


def test_the_matrix_covers_every_kind_template_event_and_owner_event():
    assert {c.kind for c in CELLS} == set(lm.KINDS)
    assert {c.template for c in CELLS} == set(lm.TEMPLATE_EVENTS)
    assert {c.owner for c in CELLS} == set(lm.OWNER_EVENTS)
    owner_cells = [c for c in CELLS if c.owner != "untouched"]
    assert len(owner_cells) >= 70


ROW = re.compile(r"^\| `(cells/[^`]+)` \| (\w+|n/a) \| (\w+|n/a) \|$")


def documented_table() -> dict[str, tuple[str, str]]:
    text = (REPO_ROOT / "docs" / "updates.md").read_text()
    return {m[1]: (m[2], m[3]) for line in text.splitlines() if (m := ROW.match(line))}


def test_a_cell_outcome_is_read_from_the_committed_tree(tmp_path: Path):
    """The reader itself: a kept edit, a lost one and a flagged one are told apart."""
    cell = lm.Cell("text", "changed", "edited")
    repo = tmp_path / "r"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "cells").mkdir()
    (repo / cell.path).write_bytes(lm.owner_content("text", cell))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "x")
    assert lm.outcome(cell, lm.Tree.at(repo, "HEAD"), set()) == lm.KEPT
    (repo / cell.path).write_bytes(b"the template's version\n")
    git(repo, "commit", "-q", "-am", "y")
    assert lm.outcome(cell, lm.Tree.at(repo, "HEAD"), set()) == lm.LOST
    assert lm.outcome(cell, lm.Tree.at(repo, "HEAD"), {cell.path}) == lm.FLAGGED
