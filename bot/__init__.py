"""IT Liaison Bot: the composition root, the CLI and the channels (Slack, Teams, shell)."""
