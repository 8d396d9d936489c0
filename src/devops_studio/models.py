"""The review-model policy, shared with the template.

The rule lives once, in the template's extensions/model_policy.py, because Copier's question
validator needs it without this package installed. This module loads that file and re-exports it.
"""

from __future__ import annotations

import importlib.util
import sys

from devops_studio.template_source import template_root

_PATH = template_root() / "extensions" / "model_policy.py"
_spec = importlib.util.spec_from_file_location("devops_studio._model_policy", _PATH)
_policy = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _policy
_spec.loader.exec_module(_policy)

KNOWN_DERIVATIVES = _policy.KNOWN_DERIVATIVES
KNOWN_FAMILIES = _policy.KNOWN_FAMILIES
base_model = _policy.base_model
same_base_model = _policy.same_base_model
model_family = _policy.model_family
same_family = _policy.same_family
review_policy_violation = _policy.review_policy_violation

__all__ = [
    "KNOWN_DERIVATIVES",
    "KNOWN_FAMILIES",
    "base_model",
    "model_family",
    "review_policy_violation",
    "same_base_model",
    "same_family",
]
