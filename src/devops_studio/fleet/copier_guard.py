"""Run `copier update` inside a fleet worker process, with Copier's sharp edges guarded.

Copier 9.x renders the old template version into a temporary copy, renders the new version over
the repo, re-applies the owner's diff, and finally deletes every file the old version had and the
new one lacks. Two owner edits do not survive that on their own:

- a file the new version drops is deleted even when the owner edited it;
- an edited binary file is silently reset, because the owner's diff of a binary cannot be
  re-applied as a text patch.

Both need the old rendering to tell "edited by the owner" from "as generated", and Copier holds it
only while it runs. So `guarded_update` wraps Copier's internal `_remove_old_files` for the duration
of one update: right before the deletion it records, for every file of the old rendering, whether
it is binary and whether the new rendering changed it, and it keeps the owner's edited files that
would be deleted. The worker then restores or reports binary edits (see `checks`).

The worker process also skips repeated work whose result cannot differ within a run
(`install_speedups`): template checkouts, copier.yml parsing and Jinja compilation.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from devops_studio.fleet.checks import looks_binary


@dataclass
class OldRendering:
    """What the guard learnt about the old rendering during one update."""

    # Relative path -> (sha256 of the old rendering or None if the new version adds the file,
    # sha256 of the new rendering or None if dropped), for binary files only.
    binary_files: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    # Files the new version drops that the owner edited; kept in the repo.
    dropped_but_edited: list[str] = field(default_factory=list)
    # Files the new version drops that were as generated; Copier deleted them.
    dropped: list[str] = field(default_factory=list)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _executable(path: Path) -> bool:
    return bool(path.stat().st_mode & 0o100)


def _files_under(root: Path) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames:
            path = Path(dirpath, name)
            if path.is_symlink():
                continue
            files[path.relative_to(root).as_posix()] = path
    return files


def _file_mode_ignored(dst: Path) -> bool:
    """Whether git is told to ignore file modes, in the clone or outside any repo."""
    from devops_studio.fleet.gitcmd import git

    for cwd in (dst, Path(os.path.abspath(os.sep))):
        value = git("config", "--type=bool", "--get", "core.fileMode", cwd=cwd, check=False).strip()
        if value == "false":
            return True
    return False


def _no_index_sync(self, dst_relpath, src_mode) -> None:  # noqa: ANN001
    """Copier's executable-bit index sync when core.fileMode is not false: nothing to do."""


@contextlib.contextmanager
def template_code_disabled():
    """Copier sees every template as one without tasks, migrations or Jinja extensions.

    Rendering then uses only Copier's sandboxed Jinja environment; with `unsafe=False` Copier
    itself refuses to go on should any of the three still be found.
    """
    from copier._template import Template

    saved = {name: Template.__dict__[name] for name in ("jinja_extensions", "tasks", "migration_tasks")}
    Template.jinja_extensions = property(lambda self: ())  # type: ignore[assignment]
    Template.tasks = property(lambda self: [])  # type: ignore[assignment]
    Template.migration_tasks = lambda self, stage, from_template: []  # type: ignore[assignment]
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(Template, name, value)


def guarded_update(dst: Path, vcs_ref: str, *, run_template_code: bool = True) -> OldRendering:
    """Run `copier.run_update` in `dst` to `vcs_ref` with defaults; return what the guard saw.

    `run_template_code=False` (dry runs): no `_tasks`, no migrations, no `_jinja_extensions`; a
    template that cannot render without its extensions fails with Copier's own error.

    Raises whatever Copier raises (a failing `_tasks` command raises `TaskError`); the caller
    treats any exception as an `error` and throws the clone away.
    """
    import copier
    from copier import _main as copier_main

    check_copier_internals()
    seen = OldRendering()
    original = copier_main._remove_old_files
    depth = {"n": 0}

    def remove_old_files_keeping_edits(prefix, cmp, rm_common=False):  # noqa: ANN001, ANN202
        if depth["n"]:
            return original(prefix, cmp, rm_common)
        depth["n"] += 1
        try:
            old_files = _files_under(Path(cmp.left))
            new_files = _files_under(Path(cmp.right))
            kept: dict[str, tuple[bytes, int]] = {}
            for rel, new_path in new_files.items():
                if rel not in old_files:
                    # Added by the new version: if the owner added a binary at the same path, the
                    # worker must not let Copier's text merge decide between the two.
                    new_bytes = new_path.read_bytes()
                    if looks_binary(new_bytes):
                        seen.binary_files[rel] = (None, hashlib.sha256(new_bytes).hexdigest())
            for rel, old_path in old_files.items():
                old_bytes = old_path.read_bytes()
                new_path = new_files.get(rel)
                new_bytes = new_path.read_bytes() if new_path else None
                # Binary on either side. Copier puts an empty file in the old rendering for a path
                # that the owner and the new version both added, so "old" may be empty here.
                if looks_binary(old_bytes) or (new_bytes is not None and looks_binary(new_bytes)):
                    new_digest = hashlib.sha256(new_bytes).hexdigest() if new_bytes is not None else None
                    seen.binary_files[rel] = (hashlib.sha256(old_bytes).hexdigest(), new_digest)
                if new_path is not None:
                    continue
                current = Path(prefix, rel)
                if current.is_file() and not current.is_symlink():
                    current_bytes = current.read_bytes()
                    # A changed executable bit is an edit too (`chmod +x` of a script).
                    if current_bytes != old_bytes or _executable(current) != _executable(old_path):
                        kept[rel] = (current_bytes, current.stat().st_mode & 0o777)
                        seen.dropped_but_edited.append(rel)
                    else:
                        seen.dropped.append(rel)
            result = original(prefix, cmp, rm_common)
            for rel, (content, mode) in kept.items():
                target = Path(prefix, rel)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(content)
                target.chmod(mode)
            return result
        finally:
            depth["n"] -= 1

    copier_main._remove_old_files = remove_old_files_keeping_edits
    original_sync = copier_main.Worker._sync_git_index_executable_bit
    if not _file_mode_ignored(dst):
        # Copier asks git for core.fileMode once per rendered file (a process each) and does
        # nothing unless it is false; it cannot change during one update, so ask once.
        copier_main.Worker._sync_git_index_executable_bit = _no_index_sync
    code_guard = contextlib.nullcontext() if run_template_code else template_code_disabled()
    try:
        with code_guard:
            copier.run_update(
                dst_path=dst,
                vcs_ref=vcs_ref,
                defaults=True,
                overwrite=True,
                skip_answered=True,
                unsafe=run_template_code,
                skip_tasks=not run_template_code,
                quiet=True,
                conflict="inline",
            )
    finally:
        copier_main._remove_old_files = original
        copier_main.Worker._sync_git_index_executable_bit = original_sync
    seen.dropped_but_edited.sort()
    seen.dropped.sort()
    return seen


def install_speedups(cache_root: Path) -> None:
    """Make repeated updates in one worker process skip work whose result cannot differ.

    Measured on the project's template, a plain update spends most of its time on five template
    checkouts, on parsing copier.yml four times, and on compiling the same Jinja sources again for
    every one of its three renders. Each of these is a pure function of content that is fixed for
    the run (the template mirror is fetched once), so each is done once per process:

    - `install_checkout_cache`: one checkout per (template URL, ref), used in place;
    - `install_config_cache`: copier.yml parsed once per file content;
    - `install_jinja_compile_cache`: Jinja source compiled once per (environment settings, source).

    They hook Copier internals (Copier is pinned below 10); a Copier without them just runs slower.
    """
    from copier import _template as copier_template

    if hasattr(copier_template, "clone"):
        install_checkout_cache(cache_root)
    if hasattr(copier_template, "load_template_config"):
        install_config_cache()
    install_jinja_compile_cache()


# Copier internals the guard cannot work without; tests/fleet checks they exist.
REQUIRED_COPIER_INTERNALS = ("copier._main._remove_old_files", "copier._main.Worker._sync_git_index_executable_bit")


def check_copier_internals() -> None:
    """Fail clearly, before any repo is touched, when this Copier lacks what the guard hooks."""
    import importlib

    missing = []
    for dotted in REQUIRED_COPIER_INTERNALS:
        module, _, rest = dotted.removeprefix("copier.").partition(".")
        target: object = importlib.import_module(f"copier.{module}")
        for attr in rest.split("."):
            target = getattr(target, attr, None)
            if target is None:
                missing.append(dotted)
                break
    if missing:
        import copier

        raise RuntimeError(
            f"Copier {getattr(copier, '__version__', '?')} lacks {', '.join(missing)}, which the fleet "
            "uses to keep owners' edits; install the Copier version of pyproject.toml (>=9.19,<10)"
        )


def install_checkout_cache(cache_root: Path) -> None:
    """Make Copier reuse one checkout per (template URL, ref) in this process.

    The first request clones with Copier's own `clone` into `cache_root`; every request gets that
    directory back. Copier only reads a template checkout, and its cleanup deletes the (empty)
    placeholder it allocated, not the directory returned. Every URL reaches the run's mirror,
    fetched once before the workers start, so a ref names the same commit for the whole run.
    `HEAD` is not cached: for a local template Copier folds uncommitted changes into it.
    """
    from copier import _template as copier_template

    original_clone = copier_template.clone
    if getattr(original_clone, "__fleet_cached__", False):
        return
    cache_root.mkdir(parents=True, exist_ok=True)
    made: dict[tuple[str, str], str] = {}

    def cached_clone(url: str, ref: str = "HEAD", location: str | None = None) -> str:
        if ref == "HEAD" or not ref:
            return original_clone(url, ref, location)
        key = (str(url), ref)
        if key not in made:
            slot = cache_root / hashlib.sha256(repr(key).encode()).hexdigest()[:16]
            if slot.exists():
                shutil.rmtree(slot)
            slot.mkdir()
            made[key] = original_clone(url, ref, str(slot))
        return made[key]

    cached_clone.__fleet_cached__ = True  # type: ignore[attr-defined]
    copier_template.clone = cached_clone


def install_config_cache() -> None:
    """Parse each copier.yml content once per process (Copier parses it for each of 4 templates)."""
    import copy

    from copier import _template as copier_template

    original = copier_template.load_template_config
    if getattr(original, "__fleet_cached__", False):
        return
    parsed: dict[tuple[str, str], object] = {}

    def cached_load(conf_path: Path, quiet: bool = False):  # noqa: ANN202
        key = (str(Path(conf_path).resolve()), _digest(Path(conf_path)))
        if key not in parsed:
            parsed[key] = original(conf_path, quiet)
        return copy.deepcopy(parsed[key])

    cached_load.__fleet_cached__ = True  # type: ignore[attr-defined]
    copier_template.load_template_config = cached_load


def _jinja_env_signature(env) -> tuple:  # noqa: ANN001
    """Everything about a Jinja environment that shapes the code it compiles a source to."""

    def name_of(value: object) -> object:
        if value is None or isinstance(value, bool | str | int):
            return value
        return getattr(value, "__qualname__", type(value).__qualname__)

    return (
        type(env),
        env.block_start_string,
        env.block_end_string,
        env.variable_start_string,
        env.variable_end_string,
        env.comment_start_string,
        env.comment_end_string,
        env.line_statement_prefix,
        env.line_comment_prefix,
        env.trim_blocks,
        env.lstrip_blocks,
        env.newline_sequence,
        env.keep_trailing_newline,
        tuple(sorted((key, type(ext).__qualname__) for key, ext in env.extensions.items())),
        env.optimized,
        name_of(env.autoescape),
        name_of(env.finalize),
        env.is_async,
        name_of(env.undefined),
    )


def install_jinja_compile_cache(limit: int = 50_000) -> None:
    """Compile each Jinja source once per process and environment shape.

    Copier builds a new Jinja environment for every render, so Jinja's own template cache (kept
    per environment) never hits across the three renders of an update. A compiled template is
    a code object that takes its environment at render time; reusing it across environments of
    the same settings is what Jinja's bytecode cache does across processes.
    """
    from jinja2 import Environment

    original = Environment.compile
    if getattr(original, "__fleet_cached__", False):
        return
    compiled: dict[tuple, object] = {}

    def cached_compile(self, source, name=None, filename=None, raw=False, defer_init=False):  # noqa: ANN001, ANN202
        if not isinstance(source, str):
            return original(self, source, name, filename, raw, defer_init)
        key = (_jinja_env_signature(self), source, name, filename, raw, defer_init)
        code = compiled.get(key)
        if code is None:
            code = original(self, source, name, filename, raw, defer_init)
            if len(compiled) < limit:
                compiled[key] = code
        return code

    cached_compile.__fleet_cached__ = True  # type: ignore[attr-defined]
    Environment.compile = cached_compile
