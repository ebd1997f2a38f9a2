"""One log format for every reelay process, and the request id its lines carry.

structlog renders every line: lines for people (`console`) or one JSON object per line (`json`).
The stdlib records of uvicorn, arq and our `logging.getLogger(__name__)` modules go through the
same processors, so their call sites stay plain `logging`.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

import structlog
from structlog.typing import Processor

from reelay_core.settings import LogFormat

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID = "request_id"
# A client's id ends up in our log lines and headers: only short, plain ids are taken from it.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
QUERY_TOKEN = re.compile(r"([?&]token=)[^&\s\"]+")


def configure_logging(level: str, fmt: LogFormat, *, stream: TextIO | None = None) -> None:
    """Send every log record of this process, stdlib or structlog, to `stream` in `fmt`."""
    stream = stream or sys.stderr
    pre_chain = shared_processors(fmt)
    structlog.configure(
        processors=[*pre_chain, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=pre_chain,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *renderers(fmt, stream),
            ],
        )
    )
    root = logging.getLogger()
    # Replace what uvicorn, Litestar or an earlier call installed, so no line is written twice.
    root.handlers = [handler]
    root.setLevel(level.upper())


def shared_processors(fmt: LogFormat) -> list[Processor]:
    """What structlog's own lines and the stdlib's records both go through."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.PositionalArgumentsFormatter(),
        redact_query_tokens,
        structlog.processors.TimeStamper(fmt="iso", utc=True)
        if fmt == "json"
        else structlog.processors.TimeStamper(fmt="%Y-%m-%d %H:%M:%S", utc=False),
    ]


def redact_query_tokens(
    _logger: object, _method: str, event_dict: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    """Viewer tokens travel in URLs (`?token=`), which access lines print: a log reader must not
    be able to replay one."""
    event = event_dict.get("event")
    if isinstance(event, str) and "token=" in event:
        event_dict["event"] = QUERY_TOKEN.sub(r"\1[redacted]", event)
    return event_dict


def renderers(fmt: LogFormat, stream: TextIO) -> list[Processor]:
    if fmt == "json":
        return [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
    return [
        structlog.dev.ConsoleRenderer(
            colors=use_colors(stream),
            # Rich's tracebacks show local variables, which can hold passwords and tokens.
            exception_formatter=structlog.dev.plain_traceback,
        )
    ]


def use_colors(stream: TextIO) -> bool:
    """On a terminal, unless NO_COLOR is set. `reelay up` reads its children through pipes; it
    sets FORCE_COLOR for them when its own output is a terminal."""
    if os.environ.get("NO_COLOR"):
        return False
    return bool(os.environ.get("FORCE_COLOR")) or stream.isatty()


# -- request ids ---------------------------------------------------------------------------------


def request_id_from(header: str | None) -> str:
    """The client's id if it is sane, else a new one."""
    if header is not None and SANE_REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    """The id of the request (or of the job it caused) that this code runs for, if any."""
    value = structlog.contextvars.get_contextvars().get(REQUEST_ID)
    return value if isinstance(value, str) else None


@contextmanager
def bound_request_id(request_id: str | None) -> Iterator[None]:
    """Every log line inside carries `request_id`; None (a job no request caused) binds nothing."""
    if request_id is None:
        yield
        return
    with structlog.contextvars.bound_contextvars(**{REQUEST_ID: request_id}):
        yield
