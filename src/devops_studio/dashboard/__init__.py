"""`devops-studio dashboard`: the state of the whole lab on one read-only page.

- sources.py: every source of facts, run concurrently, each with its own timeout;
- readers.py: what each source reads (the inventory, doctor, Ollama, deploy journals, fleet, GitHub);
- model.py: the facts with the time each was measured, and the views the page shows;
- app.py: the Starlette app (GET only, token gate, security headers);
- export.py: the same page written as static files.
"""
