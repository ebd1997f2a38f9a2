"""structlog set up once per process: key=value lines locally, JSON when REELAY_LOG_JSON=1."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
import os

import structlog


def configure_logging(level: str = "INFO") -> None:
    renderer = (
        structlog.processors.JSONRenderer()
        if os.environ.get("REELAY_LOG_JSON") == "1"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
    )
    logging.basicConfig(level=level.upper(), format="%(levelname)s %(name)s: %(message)s")


REQUEST_ID = "request_id"


def current_request_id() -> str | None:
    """The request id bound to this task's log lines, if any."""
    value = structlog.contextvars.get_contextvars().get(REQUEST_ID)
    return str(value) if value is not None else None


@contextmanager
def bound_request_id(request_id: str | None) -> Iterator[None]:
    """Log lines inside the block carry `request_id` (a job carries its API request's id)."""
    if request_id is None:
        yield
        return
    with structlog.contextvars.bound_contextvars(**{REQUEST_ID: request_id}):
        yield
