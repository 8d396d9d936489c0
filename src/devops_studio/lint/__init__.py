"""`devops-studio lint`: the bar every rendered app repo must pass with zero findings."""

from devops_studio.lint.base import Check, Finding, LintContext
from devops_studio.lint.checks import ALL_CHECKS
from devops_studio.lint.runner import run_checks

__all__ = ["ALL_CHECKS", "Check", "Finding", "LintContext", "run_checks"]
