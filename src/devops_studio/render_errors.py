"""The error a render reports: what went wrong, the question or option it is about, and the fix."""

from __future__ import annotations

import re


class RenderError(Exception):
    """A render that could not be done; printed as `<what> (<field>): <fix>`."""

    def __init__(self, what: str, field: str | None = None, fix: str | None = None) -> None:
        self.what, self.field, self.fix = what, field, fix
        super().__init__(f"{what} ({field}): {fix}" if field else what)

    @classmethod
    def from_copier(cls, message: str) -> RenderError:
        """Copier's own refusals ("Validation error for question 'x': ...", "Invalid choice for 'x': ...")
        in the same shape, the question pulled out of the message."""
        message = " ".join(message.split())
        match = re.match(r"(Validation error for question|Invalid choice for) '(\w+)': (.*)", message, re.S)
        if match:
            what = "invalid answer" if match[1].startswith("Validation") else "not one of the choices"
            return cls(what, match[2], match[3])
        match = re.search(r'[Qq]uestion "?(\w+)"?', message)
        return cls(message, match[1], "see the question's help in copier.yml") if match else cls(message)
