"""The HTTP side of the `reelay` command: it talks to any reelay server through its public API."""
