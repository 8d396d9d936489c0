"""Rendering app repos with Copier, all or nothing."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from devops_studio.answers import load_questions, read_answers
from devops_studio.redact import redact_url
from devops_studio.render_errors import RenderError
from devops_studio.template_source import is_git_checkout, template_root

__all__ = ["RenderError", "render_new"]


class UntrustedTemplateError(RenderError):
    """The template runs code (tasks, migrations, Jinja extensions) and was not trusted."""

    def __init__(self, template: str, features: list[str]) -> None:
        self.template = template
        self.features = features
        super().__init__(
            f"the template {template} uses {', '.join(features)}, which run code on this machine; "
            "pass --trust if you trust it (as with `copier copy --trust`)"
        )


def _is_bundled(source: str) -> bool:
    """True when `source` is the template this package ships, however it was named."""
    try:
        return Path(source).resolve() == template_root().resolve()
    except OSError:
        return False


def render_new(
    dest: Path,
    *,
    data: dict[str, Any] | None = None,
    defaults: bool = True,
    vcs_ref: str | None = None,
    template: str | Path | None = None,
    trust: bool = False,
) -> Path:
    """Render the template into `dest`, which must not exist or be empty.

    Copier writes into a temporary folder first; only a complete render is moved into place, so a bad
    answer leaves nothing behind. The bundled template is trusted; any other `template` runs its
    tasks, migrations and Jinja extensions only with `trust` (or when Copier's own settings trust
    it), like `copier copy`: otherwise UntrustedTemplateError and nothing is written.
    """
    import copier
    from copier.errors import CopierAnswersInterrupt, UnsafeTemplateError, UserMessageError

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
            unsafe=trust or _is_bundled(source),
            vcs_ref=vcs_ref,
            quiet=True,
        )
        if dest.exists():
            dest.rmdir()
        staging.rename(dest)
    except UnsafeTemplateError as error:
        # Copier names the features only in its message: "...unsafe feature(s): tasks, migrations.\n..."
        named = str(error).partition(": ")[2].partition(".\n")[0]
        raise UntrustedTemplateError(redact_url(source), named.split(", ") if named else ["code"]) from error
    except (UserMessageError, ValueError, CopierAnswersInterrupt) as error:
        raise RenderError.from_copier(str(error).strip()) from error
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return dest
