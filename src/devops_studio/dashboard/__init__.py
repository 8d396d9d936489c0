"""`devops-studio dashboard`: the whole lab on one read-only page (docs/dashboard.md)."""
