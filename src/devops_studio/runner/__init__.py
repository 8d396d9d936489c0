"""The GitHub Actions self-hosted runner: package, configuration, service and registration."""
