"""The pull-request reviewer that runs on the review machine (`devops-studio review`).

It is pull-based: it polls the GitHub API, reads each pull request's diff as data through the API,
asks a local Ollama model for a review and posts one summary comment plus inline comments. It never
checks out, builds or runs anything from a pull request and needs no runner and no inbound
connection, so pull requests from forks are reviewed as safely as any other.

Modules, one job each: `sanitize` (everything we post), `markers` (which comments are ours),
`diff` (the changed files), `chunking` (sizing the requests), `prompts` and `texts` (what the model
and the reader see), `model` (the Ollama adapter), `truncation` (spotting a prompt the server cut),
`reviewer` (asking the model), `summary` (the summary comment), `github` (the GitHub adapter),
`pipeline` (one pull request end to end), `state` (crash-safe per-PR state), `poller` (what needs a
review), `service` (systemd/launchd units), `settings` (configuration).
"""
