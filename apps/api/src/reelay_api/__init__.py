"""reelay's HTTP API (Litestar)."""
