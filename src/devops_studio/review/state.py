"""Per-pull-request state of the reviewer, kept in one small JSON file written atomically.

Each write goes to a temporary file in the same folder, is flushed to disk and then renamed over the
old file, so a power cut leaves either the old state or the new one, never half of either. The state
is written only after a review was posted: a crash in between means the pull request is reviewed
again (the summary is updated in place and inline comments are not posted twice), never lost.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

VERSION = 1


class StateError(Exception):
    pass


class ReviewState:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict[str, Any] = {"version": VERSION, "pulls": {}}
        if path.exists():
            try:
                loaded = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as error:
                raise StateError(
                    f"{path}: cannot read the review state ({error}); move it aside to start afresh "
                    "(open pull requests are then reviewed once more)"
                ) from None
            if (
                not isinstance(loaded, dict)
                or loaded.get("version") != VERSION
                or not isinstance(loaded.get("pulls"), dict)
            ):
                raise StateError(f"{path}: not a review state file of version {VERSION}; move it aside")
            self.data = loaded

    @staticmethod
    def key(repo: str, number: int) -> str:
        return f"{repo}#{number}"

    def get(self, repo: str, number: int) -> dict[str, Any]:
        return dict(self.data["pulls"].get(self.key(repo, number), {}))

    def put(self, repo: str, number: int, **values: Any) -> None:
        entry = self.get(repo, number)
        entry.update(values)
        self.data["pulls"][self.key(repo, number)] = entry
        self.save()

    def forget_closed(self, repo: str, open_numbers: set[int]) -> None:
        prefix = f"{repo}#"
        stale = [k for k in self.data["pulls"] if k.startswith(prefix) and int(k[len(prefix) :]) not in open_numbers]
        for key in stale:
            del self.data["pulls"][key]
        if stale:
            self.save()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(prefix=".review-state.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(self.data, handle, indent=1, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
