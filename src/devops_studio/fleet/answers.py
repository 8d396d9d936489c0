"""Read a repo's Copier answers file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

ANSWERS_FILE = ".copier-answers.yml"


class AnswersError(ValueError):
    """The answers file is missing or unreadable; the message says what to do."""


@dataclass(frozen=True)
class Answers:
    """The answers of one repo: the template it came from, the version, the user's answers."""

    src_path: str
    commit: str
    values: dict[str, Any]


def parse_answers(text: str, where: str) -> Answers:
    try:
        data = YAML(typ="safe").load(text) or {}
    except YAMLError as exc:
        raise AnswersError(f"{where}: {ANSWERS_FILE} is not valid YAML ({exc}); fix the file") from exc
    if not isinstance(data, dict):
        raise AnswersError(f"{where}: {ANSWERS_FILE} must be a mapping; regenerate it with copier")
    src = data.get("_src_path")
    commit = data.get("_commit")
    if not src:
        raise AnswersError(
            f"{where}: {ANSWERS_FILE} has no _src_path; the repo was not made with `copier copy` from a git template"
        )
    if not commit:
        raise AnswersError(
            f"{where}: {ANSWERS_FILE} has no _commit; the repo was made from an untagged, "
            "non-git template and cannot be updated"
        )
    values = {k: v for k, v in data.items() if not str(k).startswith("_")}
    return Answers(src_path=str(src), commit=str(commit), values=values)


def read_answers(repo: Path) -> Answers:
    """Read the answers file from the work tree of `repo`."""
    path = repo / ANSWERS_FILE
    if not path.is_file():
        raise AnswersError(f"{repo}: no {ANSWERS_FILE}; only repos generated with `copier copy` can be updated")
    return parse_answers(path.read_text(), str(repo))


def read_repo_answers(location: str, local: bool, scratch: Path, work_tree_ok: bool = False) -> Answers:
    """The committed answers of a repo: from HEAD of a local clone, or a shallow clone of a URL.

    `work_tree_ok`: read a local clone's work-tree copy instead, which costs no git process; for
    callers that re-read the committed file later anyway.
    """
    from devops_studio.fleet.gitcmd import GitError, git

    if local:
        work_tree_copy = Path(location, ANSWERS_FILE)
        try:
            if work_tree_ok and work_tree_copy.is_file():
                return parse_answers(work_tree_copy.read_text(), location)
            text = git("show", f"HEAD:{ANSWERS_FILE}", cwd=location)
        except GitError as exc:
            raise AnswersError(
                f"{location}: no committed {ANSWERS_FILE}; only repos generated with `copier copy` can be updated"
            ) from exc
        return parse_answers(text, location)
    scratch.mkdir(parents=True, exist_ok=True)
    target = scratch / "answers-probe"
    import shutil

    shutil.rmtree(target, ignore_errors=True)
    try:
        git("clone", "--quiet", "--depth", "1", "--no-checkout", "--", location, str(target))
        text = git("show", f"HEAD:{ANSWERS_FILE}", cwd=target)
    except GitError as exc:
        raise AnswersError(f"{location}: cannot read {ANSWERS_FILE} ({exc.stderr})") from exc
    finally:
        shutil.rmtree(target, ignore_errors=True)
    return parse_answers(text, location)
