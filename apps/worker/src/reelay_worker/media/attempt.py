"""One attempt at processing one media item: claim, progress, lease, and how it ends.

Every write is fenced on (attempt, status=processing): once the item is canceled, deleted or
handed to a newer attempt, this attempt's writes match no row and it stops.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from reelay_core import events, jobs
from reelay_core.db import models as m
from reelay_core.db.models import MediaStatus
from reelay_core.media.progress import ProgressThrottle
from sqlalchemy import ColumnElement, func, update

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


def utcnow() -> datetime:
    return datetime.now(UTC)


class Attempt:
    def __init__(self, res: WorkerResources, media_id: uuid.UUID, number: int) -> None:
        self.res = res
        self.media_id = media_id
        self.number = number
        self.progress = 0.0
        self.stage: str | None = None
        self.throttle = ProgressThrottle()
        self.media: m.Media | None = None
        self.lost = False  # keep_lease found the item canceled, deleted or taken over
        # Uploads report from several tasks: one at a time, or a slower write of a lower value
        # could land after a higher one and the stored progress would go back.
        self._reporting = asyncio.Lock()

    @property
    def fence(self) -> dict[str, Any]:
        return {"attempt": self.number, "status": MediaStatus.PROCESSING}

    def lease_deadline(self) -> ColumnElement[datetime]:
        # The database's clock, like the sweeper's: workers' clocks need not agree.
        return func.now() + timedelta(seconds=self.res.settings.lease_seconds)

    async def write(
        self, event: str, *, expect: dict[str, Any] | None = None, **changes: Any
    ) -> bool:
        async with self.res.sessions() as db:
            record = await events.record(
                db, self.media_id, event, expect=expect or self.fence, **changes
            )
            await db.commit()
        if record is None:
            return False
        await events.publish_best_effort(self.res.redis, record)
        return True

    async def claim(self) -> m.Media | None:
        """Move queued -> processing for this attempt; None when the item is not ours to run."""
        ok = await self.write(
            "status",
            expect={"attempt": self.number, "status": MediaStatus.QUEUED},
            status=MediaStatus.PROCESSING,
            stage="probe",
            progress=0.0,
            eta_seconds=None,
            lease_expires_at=self.lease_deadline(),
        )
        if not ok:
            return None
        async with self.res.sessions() as db:
            self.media = await db.get(m.Media, self.media_id)
        self.stage = "probe"
        return self.media

    async def report(self, stage: str, fraction: float, *, eta: int | None = None) -> None:
        """Progress within `stage` (0..1), throttled and never decreasing; Fenced once the item
        is not ours. A new stage is always announced."""
        async with self._reporting:
            value = max(self.progress, overall_progress(stage, fraction))
            due = self.throttle.should_emit(value, time.monotonic())
            if not (due or stage != self.stage):
                return
            self.progress, self.stage = value, stage
            if not await self.write("progress", progress=value, stage=stage, eta_seconds=eta):
                raise Fenced()

    async def save_source(self, source: dict[str, Any]) -> None:
        async with self.res.sessions() as db:
            await db.execute(
                update(m.Media)
                .where(m.Media.id == self.media_id, *self._fence_clauses())
                .values(source=source)
            )
            await db.commit()

    async def renew_lease(self) -> bool:
        async with self.res.sessions() as db:
            result = await db.execute(
                update(m.Media)
                .where(m.Media.id == self.media_id, *self._fence_clauses())
                .values(lease_expires_at=self.lease_deadline())
                .execution_options(synchronize_session=False)
            )
            await db.commit()
        return result.rowcount == 1  # type: ignore[attr-defined]

    def _fence_clauses(self) -> list[Any]:
        return [getattr(m.Media, k) == v for k, v in self.fence.items()]

    async def keep_lease(self, owner: asyncio.Task[Any]) -> None:
        """Renew the lease every third of its length; cancel `owner` once the item is not ours."""
        interval = max(1.0, self.res.settings.lease_seconds / 3)
        while True:
            await asyncio.sleep(interval)
            try:
                still_ours = await self.renew_lease()
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
    async def complete(self, outputs: list[dict[str, Any]]) -> bool:
        return await self.write(
            "completed",
            status=MediaStatus.COMPLETED,
            progress=100.0,
            stage=None,
            eta_seconds=None,
            outputs=outputs,
            completed_at=utcnow(),
            lease_expires_at=None,
        )

    async def fail(self, code: str, message: str) -> bool:
        return await self.write(
            "failed",
            status=MediaStatus.FAILED,
            stage=None,
            eta_seconds=None,
            error_code=code,
            error_message=message,
            lease_expires_at=None,
        )

    async def retry_later(self, reason: str, *, delay: float | None = None) -> bool:
        """Queue the next attempt after its backoff, or fail when attempts are used up."""
        settings = self.res.settings
        if self.number >= settings.max_attempts:
            return await self.fail(
                "transcode_failed",
                f"Processing failed {self.number} times; the last error was: {reason}",
            )
        if delay is None:
            delay = retry_delay(settings.retry_delays, self.number)
        nxt = self.number + 1
        ok = await self.write(
            "status",
            status=MediaStatus.QUEUED,
            attempt=nxt,
            job_id=jobs.transcode_job_id(self.media_id, nxt),
            queued_at=utcnow(),
            progress=0.0,
            stage=None,
            eta_seconds=None,
            lease_expires_at=None,
            error_code=None,
            error_message=None,
        )
        if ok:
            log.info(
                "media %s attempt %s failed (%s); retrying in %g s",
                self.media_id,
                self.number,
                reason,
                delay,
            )
            await jobs.enqueue_transcode(self.res.redis, self.media_id, nxt, defer_by=delay or None)
        return ok

    async def hand_back(self) -> None:
        """The worker is stopping (or the job timed out): requeue now instead of letting the
        lease run out. A no-op when the item was canceled, deleted or taken over."""
        try:
            await self.retry_later("the worker stopped while processing", delay=0.0)
        except Exception as exc:  # the sweeper requeues it once the lease expires
            log.warning("could not hand back %s: %s", self.media_id, exc)
