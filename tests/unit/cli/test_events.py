"""How the CLI follows an event stream: the reconnect schedule, and which failures end the wait.

The stream here is a stand-in for the API's answers; tests/e2e/test_cli.py follows the real API
through a real restart.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
import pytest
from httpx_sse import ServerSentEvent
from reelay_cli.client import events
from reelay_cli.client.api import ApiError
from reelay_cli.client.events import ProgressEvent, follow, reconnect_delay


def test_reconnect_delay_doubles_from_one_second_to_fifteen():
    slowest = [reconnect_delay(n, jitter=0.0) for n in range(1, 8)]
    assert slowest == [1.0, 2.0, 4.0, 8.0, 15.0, 15.0, 15.0]
    fastest = [reconnect_delay(n, jitter=1.0) for n in range(1, 6)]
    assert fastest == pytest.approx([0.8, 1.6, 3.2, 6.4, 12.0])


def test_reconnect_delay_stays_at_the_cap_however_long_the_outage():
    # A day of tries at the cap: the power of two must not overflow.
    assert reconnect_delay(10_000, jitter=0.5) == pytest.approx(13.5)


@dataclass
class Source:
    sse: list[ServerSentEvent]

    def iter_sse(self) -> Iterator[ServerSentEvent]:
        yield ServerSentEvent(retry=3000)  # what the server opens every stream with
        for item in self.sse:
            if isinstance(item, Exception):
                raise item
            yield item


def sse(seq: int, status: str) -> ServerSentEvent:
    return ServerSentEvent(event=status, data=json.dumps({"status": status}), id=str(seq))


@dataclass
class Server:
    """Answers each (re)connection with the next outcome: an exception, or a list of events."""

    outcomes: list[Exception | list[ServerSentEvent | Exception]]
    resumed_from: list[str | None] = field(default_factory=list)

    @contextmanager
    def events(self, kind: str, media_id: str, last_event_id: str | None) -> Iterator[Source]:
        self.resumed_from.append(last_event_id)
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        yield Source(outcome)


@dataclass
class Recorder:
    lines: list[str] = field(default_factory=list)

    def __call__(self, event: ProgressEvent) -> None:
        self.lines.append(f"{event.id} {event.event}")

    def lost(self, reason: str) -> None:
        self.lines.append(f"lost: {reason}")

    def back(self) -> None:
        self.lines.append("back")


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr(events.time, "sleep", slept.append)
    return slept


def refused() -> httpx.ConnectError:
    return httpx.ConnectError("[Errno 111] Connection refused")


def test_a_long_outage_is_waited_out_with_one_line_and_nothing_missed(sleeps: list[float]):
    restarting = ApiError("Service Unavailable (HTTP 503)", status=503)
    cut = httpx.RemoteProtocolError("incomplete chunked read")
    server = Server(
        [
            [sse(1, "queued"), sse(2, "processing"), cut],
            *[refused() if n % 2 else restarting for n in range(40)],
            [sse(3, "progress"), sse(4, "completed"), sse(5, "never read")],
        ]
    )
    seen = Recorder()
    follow(server, "videos", "abc", seen)

    assert seen.lines == [
        "1 queued",
        "2 processing",
        "lost: the connection was cut",
        "back",
        "3 progress",
        "4 completed",
    ]
    assert server.resumed_from == [None] + ["2"] * 41, "every reconnect resumes after event 2"
    assert len(sleeps) == 41 and max(sleeps) <= 15.0 and sleeps[0] <= 1.0


def test_each_outage_has_its_line_and_starts_the_schedule_again(sleeps: list[float]):
    ended = [sse(1, "processing")]  # then the server closes the stream
    server = Server([refused(), refused(), refused(), ended, refused(), [sse(2, "failed")]])
    seen = Recorder()
    follow(server, "videos", "abc", seen)

    assert seen.lines == [
        "lost: [Errno 111] Connection refused",
        "back",
        "1 processing",
        "lost: the server closed the stream",
        "back",
        "2 failed",
    ]
    schedule = [1, 2, 4, 1, 2]
    assert len(sleeps) == len(schedule)
    assert all(0.8 * most <= slept <= most for slept, most in zip(sleeps, schedule, strict=True))


@pytest.mark.parametrize("status", [401, 403, 404])
def test_an_answer_that_waiting_cannot_change_ends_the_wait(sleeps: list[float], status: int):
    refusal = ApiError(f"refused (HTTP {status})", status=status)
    server = Server([[sse(1, "processing"), httpx.ReadTimeout("timed out")], refused(), refusal])
    with pytest.raises(ApiError) as raised:
        follow(server, "videos", "abc", Recorder())
    assert str(raised.value) == f"stopped following abc: refused (HTTP {status})"
    assert len(sleeps) == 2


def test_an_event_that_is_not_json_is_no_outage(sleeps: list[float]):
    server = Server([[ServerSentEvent(event="status", data="<html>", id="1")]])
    with pytest.raises(ApiError, match="not JSON"):
        follow(server, "videos", "abc", Recorder())
    assert sleeps == []
