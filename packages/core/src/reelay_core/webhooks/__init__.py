"""Signed webhooks: which events there are, their bodies and signatures, the outbox rows that
owe them to endpoints, and the addresses an endpoint may have. Sending is the worker's."""
