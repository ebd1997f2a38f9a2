"""One attempt at processing one media item: claim, progress, lease, and how it ends.

Every write is fenced on (attempt, status=processing) by `transitions`: once the item is
canceled, deleted or handed to a newer attempt, this attempt's writes match no row and it stops.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Sequence
from typing import Any

from reelay_core.db import models as m
from reelay_core.effects import unit_of_work
from reelay_core.media import transitions
from reelay_core.media.outputs import Rendition
from reelay_core.media.progress import ProgressThrottle

from reelay_worker.resources import WorkerResources

log = logging.getLogger(__name__)

# Share of the progress bar each stage covers, so progress never goes back between stages.
STAGE_SPANS: dict[str, tuple[float, float]] = {
    "probe": (0.0, 2.0),
    "transcode": (2.0, 90.0),
    "package": (90.0, 91.0),
    "upload": (91.0, 100.0),
}


def overall_progress(stage: str, fraction: float) -> float:
    """Percent of the whole job when `stage` is `fraction` (0..1) done."""
    low, high = STAGE_SPANS[stage]
    return low + (high - low) * min(max(fraction, 0.0), 1.0)


def retry_delay(delays: list[float], attempt: int) -> float:
    """Seconds to wait before the attempt after `attempt` (1-based): 2, 8, 32 ... by default;
    past the end of the list the last delay repeats."""
    if not delays:
        return 0.0
    return delays[min(max(attempt, 1) - 1, len(delays) - 1)]


class Fenced(Exception):
    """This attempt no longer owns the media item (canceled, deleted or superseded)."""


class Attempt:
    """One attempt's view of its item: each step is a `transitions` step in a unit of work of
    its own, so it commits (and its event is published) at once."""

    def __init__(self, res: WorkerResources, media_id: uuid.UUID, number: int) -> None:
        self.res = res
        self.media_id = media_id
        self.number = number
        self.progress = 0.0
        self.stage: str | None = None
        self.throttle = ProgressThrottle()
        self.lost = False  # keep_lease found the item canceled, deleted or taken over
        self.counted = number  # attempts that count, this one included; known once claimed
        # Uploads report from several tasks: one at a time, or a slower write of a lower value
        # could land after a higher one and the stored progress would go back.
        self._reporting = asyncio.Lock()

    async def claim(self) -> m.Media | None:
        """Move queued -> processing for this attempt; None when the item is not ours to run."""
        async with unit_of_work(self.res) as db:
            media = await transitions.claim(
                db, self.media_id, self.number, lease_seconds=self.res.settings.lease_seconds
            )
        if media is not None:
            self.counted = media.attempts
        self.stage = "probe"
        return media

    async def report(self, stage: str, fraction: float, *, eta: int | None = None) -> None:
        """Progress within `stage` (0..1), throttled and never decreasing; Fenced once the item
        is not ours. A new stage is always announced."""
        async with self._reporting:
            value = max(self.progress, overall_progress(stage, fraction))
            due = self.throttle.should_emit(value, time.monotonic())
            if not (due or stage != self.stage):
                return
            self.progress, self.stage = value, stage
            async with unit_of_work(self.res) as db:
                ours = await transitions.report_progress(
                    db, self.media_id, self.number, progress=value, stage=stage, eta_seconds=eta
                )
            if not ours:
                raise Fenced()

    async def save_source(self, source: dict[str, Any]) -> None:
        async with unit_of_work(self.res) as db:
            await transitions.update_running(db, self.media_id, self.number, source=source)

    async def mark_playable(self) -> None:
        """The first segment of every rung is stored; Fenced once the item is not ours."""
        async with unit_of_work(self.res) as db:
            ours = await transitions.mark_playable(db, self.media_id, self.number)
        if not ours:
            raise Fenced()

    async def keep_lease(self, owner: asyncio.Task[Any]) -> None:
        """Renew the lease every third of its length; cancel `owner` once the item is not ours."""
        lease_seconds = self.res.settings.lease_seconds
        while True:
            await asyncio.sleep(max(1.0, lease_seconds / 3))
            try:
                async with unit_of_work(self.res) as db:
                    still_ours = await transitions.renew_lease(
                        db, self.media_id, self.number, lease_seconds=lease_seconds
                    )
            except Exception as exc:  # a database blip: the next renewal may succeed
                log.warning("lease renewal for %s failed: %s", self.media_id, exc)
                continue
            if not still_ours:
                log.info(
                    "media %s attempt %s is no longer ours; stopping", self.media_id, self.number
                )
                self.lost = True
                owner.cancel()
                return

    # -- endings -------------------------------------------------------------------------------
    async def complete(self, outputs: Sequence[Rendition]) -> bool:
        async with unit_of_work(self.res) as db:
            return await transitions.complete(db, self.media_id, self.number, outputs)

    async def fail(self, code: str, message: str) -> bool:
        async with unit_of_work(self.res) as db:
            return await transitions.fail(db, self.media_id, self.number, code, message)

    async def retry_later(self, reason: str, *, delay: float | None = None) -> bool:
        """Queue the next attempt after its backoff, or fail when attempts are used up."""
        settings = self.res.settings
        if delay is None:
            delay = retry_delay(settings.retry_delays, self.number)
        async with unit_of_work(self.res) as db:
            requeued = await transitions.retry_later(
                db,
                self.media_id,
                self.number,
                max_attempts=settings.max_attempts,
                delay=delay,
                reason=reason,
            )
        if requeued and self.counted < settings.max_attempts:
            log.info(
                "media %s attempt %s failed (%s); retrying in %g s",
                self.media_id, self.number, reason, delay,
            )  # fmt: skip
        return requeued

    async def hand_back(self) -> bool:
        """The worker is stopping: requeue the item at once, not counted as an attempt. False
        when it was canceled, deleted or taken over meanwhile, or the database is out of reach
        (then the sweeper requeues it once the lease runs out, as after a crash)."""
        try:
            async with unit_of_work(self.res) as db:
                handed_back = await transitions.hand_back(db, self.media_id, self.number)
        except Exception as exc:
            log.warning("could not hand back %s: %s", self.media_id, exc)
            return False
        if handed_back:
            log.info(
                "media %s attempt %s handed back, not counted as an attempt: the worker is "
                "stopping; it runs again as soon as a worker takes it",
                self.media_id, self.number,
            )  # fmt: skip
        return handed_back
