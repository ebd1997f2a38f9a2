"""A real HTTP receiver of webhooks for tests: it keeps what it was sent, in order, and can be
down (its port closed), answer an error, or hold a request open until it is let go."""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from reelay_stack.ports import free_port

HOLD_SECONDS = 120.0


@dataclass(frozen=True)
class Received:
    event_id: str
    signature: str
    body: bytes
    answered: int

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        receiver = self.server.receiver
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        status = receiver.next_answer()
        receiver.record(
            Received(
                self.headers.get("Reelay-Event-Id", ""),
                self.headers.get("Reelay-Signature", ""),
                body,
                status,
            )
        )
        if receiver.holding:
            receiver.arrived.set()
            receiver.release.wait(HOLD_SECONDS)
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, receiver: Receiver) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.receiver = receiver


class Receiver:
    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._answers: deque[int] = deque()
        self._server: _Server | None = None
        self.holding = False
        self.arrived = threading.Event()
        self.release = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> None:
        self._server = _Server(self.port, self)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Down: the port refuses connections until `start`."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def answer_next(self, *statuses: int) -> None:
        with self._lock:
            self._answers.extend(statuses)

    def next_answer(self) -> int:
        with self._lock:
            return self._answers.popleft() if self._answers else 200

    def record(self, received: Received) -> None:
        with self._lock:
            self.received.append(received)

    def hold(self) -> None:
        """Keep the next requests open (after recording them) until `let_go`."""
        self.arrived.clear()
        self.release.clear()
        self.holding = True

    def let_go(self) -> None:
        self.holding = False
        self.release.set()

    def delivered(self) -> list[Received]:
        """What was answered 2xx, in arrival order."""
        with self._lock:
            return [r for r in self.received if 200 <= r.answered < 300]
