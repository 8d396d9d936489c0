"""The monitoring stack of the production box, generated from the `monitoring:` section of studio.yml.

config     parses and validates the section (full-string patterns, secrets only as file paths or
           variable names)
targets    what Prometheus scrapes and probes, derived from `nodes:` and the section's apps
rules      the alert rules, each with a runbook line
prometheus, alertmanager, compose, dashboards, workflow
           one generated file (or folder) each
facts      the lab-facts exporter and notification relay (standard library only, copied into the stack)
render     writes the whole stack into a folder
"""
