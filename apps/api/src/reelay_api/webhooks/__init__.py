"""/webhooks: an account's endpoints, their delivery logs, redelivery, pings and a live stream."""
