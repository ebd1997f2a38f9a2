"""Attacks against the real stack, each asserted to fail (docs/security.md lists them)."""
