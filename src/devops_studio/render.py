"""Rendering app repos with Copier, all or nothing."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from devops_studio.answers import load_questions, read_answers
from devops_studio.render_errors import RenderError
from devops_studio.template_source import is_git_checkout, template_root

__all__ = ["RenderError", "render_new"]


def render_new(
    dest: Path,
    *,
    data: dict[str, Any] | None = None,
    defaults: bool = True,
    vcs_ref: str | None = None,
    template: str | Path | None = None,
) -> Path:
    """Render the template into `dest`, which must not exist or be empty.

    Copier writes into a temporary folder first; only a complete render is moved into place, so a bad
    answer leaves nothing behind.
    """
    import copier
    from copier.errors import CopierAnswersInterrupt, UserMessageError

    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise RenderError("folder not empty", str(dest), "choose a new folder")
    source = str(template) if template else str(template_root())
    if (Path(source) / "copier.yml").is_file():
        # A local template: read the answers strictly against its questions before Copier casts them.
        data = read_answers(data or {}, load_questions(Path(source)))
    if vcs_ref is None and is_git_checkout(Path(source)):
        # From a checkout, render the working tree (uncommitted edits included), not the last tag.
        vcs_ref = "HEAD"
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    try:
        copier.run_copy(
            source,
            str(staging),
            data=data or {},
            defaults=defaults,
            unsafe=True,
            vcs_ref=vcs_ref,
            quiet=True,
        )
        if dest.exists():
            dest.rmdir()
        staging.rename(dest)
    except (UserMessageError, ValueError, CopierAnswersInterrupt) as error:
        raise RenderError.from_copier(str(error).strip()) from error
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return dest
