"""One module per `devops-studio` sub-command."""
