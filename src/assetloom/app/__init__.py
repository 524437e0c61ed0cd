"""Use cases: what the CLI, the API and the web UI call (through the `Library` facade)."""
