"""Database access: tables live in `models`, engines and sessions in `session`."""
