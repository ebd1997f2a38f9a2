"""structlog set up once per process: key=value lines locally, JSON when REELAY_LOG_JSON=1."""

import logging
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
