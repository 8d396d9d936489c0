"""Per-machine setup: the steps each role needs and their outcomes."""
