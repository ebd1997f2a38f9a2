"""The embedded stack behind `reelay up` and the test suite: servers from PyPI wheels."""
