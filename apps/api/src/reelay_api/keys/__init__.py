"""API keys: an account's own backend calling reelay without a password."""
