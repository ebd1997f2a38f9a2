"""The `reelay` command: a client for any reelay server over HTTP; `up` needs reelay-stack."""
