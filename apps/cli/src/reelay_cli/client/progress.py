"""Progress rendering on stderr (stdout stays clean for --json): byte bars and transcode bars."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.text import Text

from reelay_cli.client.events import ProgressEvent

stderr = Console(stderr=True, highlight=False)


def byte_bars() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=stderr,
    )


class ByteBar:
    """An `advance(n)` callback whose bar appears with the first byte: a refused file shows none."""

    def __init__(self, bars: Progress, name: str, total: int | None) -> None:
        self.bars, self.name, self.total = bars, name, total
        self.task: TaskID | None = None

    def __call__(self, n: int) -> None:
        if self.task is None:
            self.task = self.bars.add_task(self.name, total=self.total)
        self.bars.advance(self.task, n)


class EtaColumn(ProgressColumn):
    """The server's own ETA (it knows FFmpeg's speed), not one guessed from our refresh rate."""

    def render(self, task: Task) -> Text:
        eta = task.fields.get("eta")
        if eta is None:
            return Text("ETA -", style="progress.remaining")
        minutes, seconds = divmod(int(eta), 60)
        return Text(f"ETA {minutes}:{seconds:02d}", style="progress.remaining")


def transcode_bars() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        TextColumn("{task.fields[stage]}", style="cyan"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f}%"),
        EtaColumn(),
        console=stderr,
    )


class TranscodeView:
    """One media item's bar, fed with its SSE events; status changes and a lost stream are also
    printed as lines."""

    def __init__(self, bars: Progress, name: str, queued_at: float | None = None) -> None:
        self.bars = bars
        self.name = name
        self.task: TaskID = bars.add_task(name, total=100, stage="", eta=None)
        self.status: str | None = None
        self.queued_at = queued_at  # time.monotonic() when the upload was queued, if we did it
        self.playable = False

    def __call__(self, event: ProgressEvent) -> None:
        data: dict[str, Any] = event.data
        status = data.get("status")
        if status != self.status:
            self.status = status
            self.bars.console.print(f"{self.name}: {describe_status(data)}")
        if data.get("playable") and not self.playable:
            self.playable = True
            self.bars.console.print(f"{self.name}: {describe_playable(self.queued_at)}")
        self.bars.update(
            self.task,
            completed=float(data.get("progress") or 0.0),
            stage=data.get("stage") or status or "",
            eta=data.get("eta_seconds"),
        )

    def lost(self, reason: str) -> None:
        self.bars.console.print(f"{self.name}: reconnecting… ({reason})")

    def back(self) -> None:
        self.bars.console.print(f"{self.name}: reconnected")


def describe_status(data: dict[str, Any]) -> str:
    status = str(data.get("status"))
    if status == "processing" and (data.get("attempts") or 1) > 1:
        return f"processing (attempt {data['attempts']})"
    if status == "failed" and data.get("error"):
        return f"failed: {error_text(data['error'])}"
    return status


def describe_playable(queued_at: float | None) -> str:
    """The moment playback can start (while the rest is still processing)."""
    if queued_at is None:
        return "playable"
    return f"playable after {time.monotonic() - queued_at:.1f} s"


def error_text(error: dict[str, Any]) -> str:
    return f"{error.get('code')}: {error.get('message')}"
