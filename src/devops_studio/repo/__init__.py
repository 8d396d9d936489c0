"""`devops-studio repo setup`: the GitHub settings an app repo's security relies on, audited and applied."""
