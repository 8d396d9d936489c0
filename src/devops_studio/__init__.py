"""devops-studio: a Copier template library and CLI for a home lab of GitHub, Docker and Ollama."""

__version__ = "0.1.0"
