"""One log format per process: stdlib and structlog lines alike, with their request id."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog
from reelay_core.logging import (
    bound_request_id,
    configure_logging,
    current_request_id,
    request_id_from,
)

ANSI_ESCAPE = "\x1b["


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def restore_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers, root.level = handlers, level
    structlog.reset_defaults()


def json_lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_renders_stdlib_records_with_their_arguments_and_the_request_id() -> None:
    out = io.StringIO()
    configure_logging("INFO", "json", stream=out)
    with bound_request_id("req-1"):
        logging.getLogger("reelay_api.media").info("queued %s attempt %d", "abc", 2)
    logging.getLogger("uvicorn.error").warning("outside any request")

    inside, outside = json_lines(out)
    assert inside["event"] == "queued abc attempt 2"
    assert inside["level"] == "info" and inside["logger"] == "reelay_api.media"
    assert inside["request_id"] == "req-1" and "timestamp" in inside
    assert outside["level"] == "warning" and "request_id" not in outside


def test_json_renders_structlog_lines_and_tracebacks_the_same_way() -> None:
    out = io.StringIO()
    configure_logging("INFO", "json", stream=out)
    structlog.get_logger("reelay_worker.jobs").info("job started", media_id="m1")
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("reelay_api.problems").exception("unhandled error")

    started, crashed = json_lines(out)
    assert started["event"] == "job started" and started["media_id"] == "m1"
    assert started["logger"] == "reelay_worker.jobs"
    assert crashed["level"] == "error"
    assert "ValueError: boom" in str(crashed["exception"])


def test_the_level_drops_lower_records() -> None:
    out = io.StringIO()
    configure_logging("WARNING", "json", stream=out)
    logging.getLogger("arq.worker").info("routine")
    logging.getLogger("arq.worker").warning("worth reading")
    assert [line["event"] for line in json_lines(out)] == ["worth reading"]


def test_console_lines_are_plain_text_when_not_a_terminal() -> None:
    out = io.StringIO()
    configure_logging("INFO", "console", stream=out)
    with bound_request_id("req-2"):
        logging.getLogger("reelay_worker.worker").info("worker ready: %d jobs at once", 2)

    line = out.getvalue()
    assert "worker ready: 2 jobs at once" in line and "request_id=req-2" in line
    assert ANSI_ESCAPE not in line
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)


def test_console_lines_are_coloured_on_a_terminal_unless_no_color() -> None:
    terminal = Terminal()
    configure_logging("INFO", "console", stream=terminal)
    logging.getLogger("x").info("hello")
    assert ANSI_ESCAPE in terminal.getvalue()


def test_force_color_colours_a_pipe_and_no_color_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    piped = io.StringIO()
    configure_logging("INFO", "console", stream=piped)
    logging.getLogger("x").info("hello")
    assert ANSI_ESCAPE in piped.getvalue()

    monkeypatch.setenv("NO_COLOR", "1")
    terminal = Terminal()
    configure_logging("INFO", "console", stream=terminal)
    logging.getLogger("x").info("hello")
    assert ANSI_ESCAPE not in terminal.getvalue()


def test_configuring_twice_writes_each_line_once() -> None:
    first, second = io.StringIO(), io.StringIO()
    configure_logging("INFO", "json", stream=first)
    configure_logging("INFO", "json", stream=second)
    logging.getLogger("x").info("once")
    assert first.getvalue() == "" and len(json_lines(second)) == 1


@pytest.mark.parametrize(
    "sent", ["abc", "A-Z_a.z-09", "x" * 64, "0f8fad5b-d9cb-469f-a165-70867728950e"]
)
def test_a_sane_request_id_is_kept(sent: str) -> None:
    assert request_id_from(sent) == sent


@pytest.mark.parametrize(
    "sent", [None, "", "x" * 65, "has space", "line\nbreak", "semi;colon", "caf\u00e9", "a/b"]
)
def test_any_other_request_id_is_replaced_by_a_new_one(sent: str | None) -> None:
    made = request_id_from(sent)
    assert made != sent and len(made) == 32 and int(made, 16) >= 0
    assert request_id_from(sent) != made, "each request gets its own"


def test_the_current_request_id_is_the_innermost_bound_one() -> None:
    assert current_request_id() is None
    with bound_request_id("outer"):
        assert current_request_id() == "outer"
        with bound_request_id("inner"):
            assert current_request_id() == "inner"
        with bound_request_id(None):
            assert current_request_id() == "outer"
        assert current_request_id() == "outer"
    assert current_request_id() is None


def test_viewer_tokens_in_urls_are_redacted() -> None:
    stream = io.StringIO()
    configure_logging("INFO", "json", stream=stream)
    # Shaped like uvicorn's access line; a logger of its own, whose level no other test has set.
    logging.getLogger("reelay.test.access").info(
        '%s - "%s %s HTTP/%s" %d',
        "127.0.0.1:5000",
        "GET",
        "/videos/1/hls/master.m3u8?token=eyJh.eyJz.sig&rendition=mp4",
        "1.1",
        200,
    )
    [line] = json_lines(stream)
    assert "eyJh" not in str(line["event"]), line
    assert "?token=[redacted]&rendition=mp4" in str(line["event"]), line
