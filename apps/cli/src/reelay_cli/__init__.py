"""The `reelay` command: runs the embedded stack and talks to any reelay server over HTTP."""
