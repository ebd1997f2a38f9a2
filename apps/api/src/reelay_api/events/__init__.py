"""Live progress: Redis pub/sub fanned out to Server-Sent Events, with replay from Postgres."""
