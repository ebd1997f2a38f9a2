"""The media lifecycle: every change of `media.status`, one function per step.

Each step is fenced twice. The transitions table: a step the table forbids raises
`IllegalTransition` before anything is written (a bug, never a user's mistake: callers check
what users may do first). And the row itself: the UPDATE matches only while the row is still in
the state the step starts from (and, for the worker, still on its attempt); otherwise nothing
is written and the step returns None. Times come from the database's clock, so rows written by
different machines compare. What must follow the commit is recorded with `reelay_core.effects`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from reelay_core import effects, events, jobs
from reelay_core.db import models as m
from reelay_core.db.models.media import TERMINAL_STATUSES, MediaStatus
from reelay_core.events import MediaEventRecord
from reelay_core.media.outputs import Rendition
from reelay_core.webhooks import outbox as webhooks
from reelay_core.webhooks.event_types import MEDIA_PLAYABLE

S = MediaStatus

ALLOWED: dict[MediaStatus, frozenset[MediaStatus]] = {
    S.AWAITING_UPLOAD: frozenset({S.QUEUED, S.CANCELED}),
    S.QUEUED: frozenset({S.PROCESSING, S.CANCELED}),
    # PROCESSING -> QUEUED is a retry after a transient failure, a requeue after a crash, or a
    # hand-back by a stopping worker.
    S.PROCESSING: frozenset({S.QUEUED, S.COMPLETED, S.FAILED, S.CANCELED}),
    S.COMPLETED: frozenset(),
    S.FAILED: frozenset({S.QUEUED}),
    S.CANCELED: frozenset({S.QUEUED}),
}


class IllegalTransition(Exception):
    def __init__(self, current: MediaStatus, target: MediaStatus) -> None:
        super().__init__(f"cannot go from {current} to {target}")
        self.current = current
        self.target = target


def can_transition(current: MediaStatus, target: MediaStatus) -> bool:
    return target in ALLOWED[current]


def check_transition(current: MediaStatus, target: MediaStatus) -> None:
    if not can_transition(current, target):
        raise IllegalTransition(current, target)


def state_diagram() -> str:
    """The transitions table as a Mermaid state diagram (docs/architecture.md shows it)."""
    lines = ["stateDiagram-v2", f"    [*] --> {S.AWAITING_UPLOAD.value}"]
    for source, targets in ALLOWED.items():
        lines += [f"    {source.value} --> {target.value}" for target in S if target in targets]
    lines += [f"    {status.value} --> [*]" for status in S if status in TERMINAL_STATUSES]
    return "\n".join(lines)


def event_name(status: MediaStatus) -> str:
    """Terminal statuses are announced under their own name; every other change as `status`."""
    return status.value if status in TERMINAL_STATUSES else "status"


# Made once: streams check every live event they send.
_TERMINAL_EVENTS = frozenset(status.value for status in TERMINAL_STATUSES)


def is_terminal_event(event: str) -> bool:
    return event in _TERMINAL_EVENTS


def lease_deadline(lease_seconds: float) -> ColumnElement[Any]:
    return func.now() + timedelta(seconds=lease_seconds)


def running(attempt: int) -> list[ColumnElement[bool]]:
    """The fence of a worker's writes: its attempt, still processing."""
    return [m.Media.attempt == attempt, m.Media.status == S.PROCESSING]


async def _move(
    db: AsyncSession,
    media_id: uuid.UUID,
    sources: Collection[MediaStatus],
    target: MediaStatus,
    *,
    on_attempt: int | None = None,
    **changes: Any,
) -> MediaEventRecord | None:
    """Move the row from one of `sources` (and `on_attempt`) to `target`; record the event,
    publish it after commit, and owe its webhooks in this same transaction."""
    for source in sources:
        check_transition(source, target)
    where: list[ColumnElement[bool]] = [m.Media.status.in_(sources)]
    if on_attempt is not None:
        where.append(m.Media.attempt == on_attempt)
    record = await events.record(
        db, media_id, event_name(target), where=where, status=target, **changes
    )
    effects.publish(db, record)
    if record is not None:
        await webhooks.announce_status(db, media_id, target)
    return record


# -- the API's steps: on a row it has loaded and locked ----------------------------------------


async def create(db: AsyncSession, media: m.Media) -> MediaEventRecord | None:
    """Store a new item (awaiting its upload) and announce it."""
    db.add(media)
    await db.flush()
    record = await events.record(db, media.id, event_name(media.status))
    effects.publish(db, record)
    await db.refresh(media)
    return record


async def create_uploaded(db: AsyncSession, media: m.Media) -> None:
    """Store and queue an item whose source the API itself streamed to storage; should the
    transaction fail, the stored source is deleted."""
    effects.delete_objects_on_rollback(db, media.id)
    db.add(media)
    await db.flush()
    await queue_attempt(db, media, attempt=1)


async def queue_attempt(db: AsyncSession, media: m.Media, *, attempt: int) -> None:
    """Queue `attempt` of an uploaded, failed or canceled item; its job starts after commit."""
    record = await _move(
        db,
        media.id,
        [media.status],
        S.QUEUED,
        upload_id=media.upload_id,
        **_fresh_attempt(media.id, attempt),
    )
    await db.refresh(media)
    if record is not None:
        effects.enqueue_transcode(db, media.id, attempt)


async def cancel(db: AsyncSession, media: m.Media, *, abort_wait: float = 0.1) -> None:
    """Cancel a live item: the worker's fenced writes fail from the commit on, its job is
    aborted (waiting up to `abort_wait` s for it to stop) and an unfinished upload dropped."""
    if media.status.is_terminal:
        return
    job_id, upload_id = media.job_id, media.upload_id
    await _move(
        db,
        media.id,
        [media.status],
        S.CANCELED,
        eta_seconds=None,
        lease_expires_at=None,
        upload_id=None,
        playable_at=None,
    )
    await db.refresh(media)
    effects.abort_upload(db, media.source_key, upload_id)
    effects.abort_job(db, job_id, wait=abort_wait)
    # After the abort: what the attempt published while encoding goes (the source stays, for a
    # retry). The worker removes its own too, once its uploads have stopped.
    effects.delete_outputs(db, media.id)


async def expire_upload(db: AsyncSession, media: m.Media, *, hours: float) -> bool:
    """Cancel an upload nobody finished in time and delete what it stored; False when it was
    completed (or canceled) meanwhile."""
    upload_id = media.upload_id
    record = await _move(
        db,
        media.id,
        [S.AWAITING_UPLOAD],
        S.CANCELED,
        upload_id=None,
        error_code="upload_expired",
        error_message=f"The upload was not completed within {hours:g} h.",
    )
    if record is None:
        return False
    effects.abort_upload(db, media.source_key, upload_id)
    effects.delete_objects(db, media.id)
    return True


# -- the worker's steps: fenced on its attempt --------------------------------------------------


async def claim(
    db: AsyncSession, media_id: uuid.UUID, attempt: int, *, lease_seconds: float
) -> m.Media | None:
    """queued -> processing for this attempt; None when the item is not this attempt's to run."""
    record = await _move(
        db,
        media_id,
        [S.QUEUED],
        S.PROCESSING,
        on_attempt=attempt,
        stage="probe",
        progress=0.0,
        eta_seconds=None,
        lease_expires_at=lease_deadline(lease_seconds),
    )
    return None if record is None else await db.get(m.Media, media_id)


async def report_progress(
    db: AsyncSession,
    media_id: uuid.UUID,
    attempt: int,
    *,
    progress: float,
    stage: str,
    eta_seconds: int | None,
) -> bool:
    """Progress of a running attempt (not a change of status); False once it is not ours."""
    record = await events.record(
        db,
        media_id,
        "progress",
        where=running(attempt),
        progress=progress,
        stage=stage,
        eta_seconds=eta_seconds,
    )
    effects.publish(db, record)
    return record is not None


async def update_running(
    db: AsyncSession, media_id: uuid.UUID, attempt: int, **values: Any
) -> bool:
    """A silent write of a running attempt (its lease, its probed source); False once not ours."""
    result = await db.execute(
        update(m.Media)
        .where(m.Media.id == media_id, *running(attempt))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]  # CursorResult of an UPDATE


async def mark_playable(db: AsyncSession, media_id: uuid.UUID, attempt: int) -> bool:
    """The first segment of every rung of this attempt is stored: its master playlist can be
    played while the rest is encoded. Announced as a `status` event (the status stays
    processing); False once the attempt is not ours, True if it was playable already."""
    record = await events.record(
        db,
        media_id,
        "status",
        where=[*running(attempt), m.Media.playable_at.is_(None)],
        playable_at=func.now(),
    )
    effects.publish(db, record)
    if record is not None:
        await webhooks.announce_by_id(db, media_id, MEDIA_PLAYABLE)
        return True
    playable_at = await db.scalar(
        select(m.Media.playable_at).where(m.Media.id == media_id, *running(attempt))
    )
    return playable_at is not None


async def renew_lease(
    db: AsyncSession, media_id: uuid.UUID, attempt: int, *, lease_seconds: float
) -> bool:
    return await update_running(
        db, media_id, attempt, lease_expires_at=lease_deadline(lease_seconds)
    )


async def complete(
    db: AsyncSession, media_id: uuid.UUID, attempt: int, outputs: Sequence[Rendition]
) -> bool:
    record = await _move(
        db,
        media_id,
        [S.PROCESSING],
        S.COMPLETED,
        on_attempt=attempt,
        progress=100.0,
        stage=None,
        eta_seconds=None,
        outputs=[output.to_json() for output in outputs],
        completed_at=func.now(),
        lease_expires_at=None,
    )
    return record is not None


async def fail(
    db: AsyncSession, media_id: uuid.UUID, attempt: int, code: str, message: str
) -> bool:
    record = await _move(
        db,
        media_id,
        [S.PROCESSING],
        S.FAILED,
        on_attempt=attempt,
        stage=None,
        eta_seconds=None,
        error_code=code,
        error_message=message,
        lease_expires_at=None,
        playable_at=None,
    )
    if record is not None:
        # What the attempt published while encoding (its worker may have died halfway).
        effects.delete_outputs(db, media_id)
    return record is not None


async def retry_later(
    db: AsyncSession,
    media_id: uuid.UUID,
    attempt: int,
    *,
    max_attempts: int,
    delay: float,
    reason: str,
) -> bool:
    """A transient failure: queue the next attempt to start after `delay` s, or fail once
    `max_attempts` are used up."""
    return await _next_attempt_or_fail(
        db,
        media_id,
        attempt,
        max_attempts,
        delay,
        "transcode_failed",
        lambda failures: f"Processing failed {failures} times; the last error was: {reason}",
    )


async def requeue_lost(db: AsyncSession, media: m.Media, *, max_attempts: int) -> bool:
    """The worker running this item stopped renewing its lease (it died): run it again at once,
    or fail once `max_attempts` are used up."""
    return await _next_attempt_or_fail(
        db,
        media.id,
        media.attempt,
        max_attempts,
        0.0,
        "worker_lost",
        lambda failures: f"The worker processing this item stopped responding {failures} times.",
    )


async def hand_back(db: AsyncSession, media_id: uuid.UUID, attempt: int) -> bool:
    """The worker is stopping (a deploy, a restart: the operator's choice, not the item's fault):
    queue the next attempt to start at once, counted as a hand-back, so it costs no attempt."""
    if not await _requeue(db, media_id, attempt, handbacks=m.Media.handbacks + 1):
        return False
    effects.enqueue_transcode(db, media_id, attempt + 1)
    return True


async def _next_attempt_or_fail(
    db: AsyncSession,
    media_id: uuid.UUID,
    attempt: int,
    max_attempts: int,
    delay: float,
    code: str,
    message: Callable[[int], str],
) -> bool:
    """Attempts used up are those that failed: the attempt number less the hand-backs."""
    handbacks = await db.scalar(
        select(m.Media.handbacks).where(m.Media.id == media_id, *running(attempt))
    )
    if handbacks is None:  # not this attempt's any more
        return False
    failures = attempt - handbacks
    if failures >= max_attempts:
        return await fail(db, media_id, attempt, code, message(failures))
    if not await _requeue(db, media_id, attempt):
        return False
    effects.enqueue_transcode(db, media_id, attempt + 1, defer_by=delay or None)
    return True


async def _requeue(db: AsyncSession, media_id: uuid.UUID, attempt: int, **changes: Any) -> bool:
    """processing -> queued under the next attempt number (the old attempt is fenced off)."""
    record = await _move(
        db,
        media_id,
        [S.PROCESSING],
        S.QUEUED,
        on_attempt=attempt,
        **_fresh_attempt(media_id, attempt + 1),
        **changes,
    )
    return record is not None


def _fresh_attempt(media_id: uuid.UUID, attempt: int) -> dict[str, Any]:
    """What queuing an attempt sets: its number, its job, the queue time, nothing left over."""
    return {
        "attempt": attempt,
        "job_id": jobs.transcode_job_id(media_id, attempt),
        "queued_at": func.now(),
        "progress": 0.0,
        "stage": None,
        "eta_seconds": None,
        "lease_expires_at": None,
        "error_code": None,
        "error_message": None,
        "completed_at": None,
        # The new attempt publishes under a prefix of its own: nothing plays until it is playable.
        "playable_at": None,
    }
