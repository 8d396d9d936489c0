"""Ollama on each node: the models it needs, the profiles built on them, the review policy."""
