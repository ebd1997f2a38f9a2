"""What a state change needs done once its transaction has committed, and the one place it runs.

Code that changes state records effects on its session (`publish(db, record)`,
`enqueue_transcode(db, ...)`); `unit_of_work` (the worker, sweepers) and the API's `provide_db`
commit, then run them in order. A rolled-back transaction runs none, so a job never starts
before its row is committed and no client hears of a change that did not happen.

Every effect is best effort with a bounded wait, then logged: the state is already committed,
and something else catches up with a lost effect (the lease sweeper re-enqueues queued items
whose job is missing, SSE clients replay events from Postgres, the purge job and the
stale-upload sweep delete what storage still holds).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

from arq import ArqRedis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reelay_core import events, jobs
from reelay_core.events import MediaEventRecord
from reelay_core.logging import current_request_id
from reelay_core.media import keys
from reelay_core.storage import Storage
from reelay_core.webhooks import channels as webhooks

log = logging.getLogger(__name__)

PENDING = "reelay.after_commit"
UNDO = "reelay.after_rollback"
# While Redis is down its client retries for half a minute, which neither a request nor a
# worker's progress reporting should wait out.
REDIS_WAIT = 2.0
STORAGE_WAIT = 60.0


class Clients(Protocol):
    """What effects talk to: the API's and the worker's resources both have these."""

    @property
    def redis(self) -> ArqRedis: ...

    @property
    def storage(self) -> Storage: ...


class Resources(Clients, Protocol):
    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]: ...


@dataclass(frozen=True)
class Effect:
    what: str  # for the log line when it fails
    run: Callable[[Clients], Awaitable[object]]
    wait: float = REDIS_WAIT


def pending(db: AsyncSession) -> list[Effect]:
    effects: list[Effect] = db.info.setdefault(PENDING, [])
    return effects


def add(db: AsyncSession, effect: Effect) -> None:
    pending(db).append(effect)


def publish(db: AsyncSession, record: MediaEventRecord | None) -> None:
    if record is not None:
        add(db, Effect(f"publish {record.event} of {record.media_id}", _publish(record)))


def _publish(record: MediaEventRecord) -> Callable[[Clients], Awaitable[object]]:
    return lambda clients: events.publish(clients.redis, record)


def enqueue_transcode(
    db: AsyncSession, media_id: uuid.UUID, attempt: int, *, defer_by: float | None = None
) -> None:
    request_id = current_request_id()  # read now: effects run after the request's context

    async def run(clients: Clients) -> None:
        await jobs.enqueue_transcode(
            clients.redis, media_id, attempt, defer_by=defer_by, request_id=request_id
        )

    add(db, Effect(f"enqueue attempt {attempt} of {media_id}", run))


def abort_job(db: AsyncSession, job_id: str | None, *, wait: float) -> None:
    """Ask arq to abort the job and wait up to `wait` s for it to stop; the worker's fenced
    writes stop an attempt that misses the abort."""
    if not job_id:
        return

    async def run(clients: Clients) -> None:
        try:
            await jobs.abort(clients.redis, job_id, wait=wait)
        except TimeoutError:  # still stopping; its writes are fenced off already
            pass

    add(db, Effect(f"abort job {job_id}", run, wait=wait + REDIS_WAIT))


def abort_upload(db: AsyncSession, key: str, upload_id: str | None) -> None:
    """Drop the parts of an unfinished multipart upload (the orphan sweep catches a miss)."""
    if upload_id:
        add(
            db,
            Effect(
                f"abort upload {upload_id}",
                lambda clients: clients.storage.abort_multipart(key, upload_id),
                wait=STORAGE_WAIT,
            ),
        )


def delete_objects(db: AsyncSession, media_id: uuid.UUID) -> None:
    add(db, _delete_objects(media_id))


def _delete_objects(media_id: uuid.UUID) -> Effect:
    return Effect(
        f"delete the objects of {media_id}",
        lambda clients: clients.storage.delete_prefix(keys.item_prefix(media_id)),
        wait=STORAGE_WAIT,
    )


def delete_outputs(db: AsyncSession, media_id: uuid.UUID) -> None:
    """Delete what processing stored (every attempt's), keeping the source."""
    prefix = keys.output_prefix(media_id)
    add(
        db,
        Effect(
            f"delete the outputs of {media_id}",
            lambda clients: clients.storage.delete_prefix(prefix),
            wait=STORAGE_WAIT,
        ),
    )


def delete_objects_on_rollback(db: AsyncSession, media_id: uuid.UUID) -> None:
    """The item's source is stored already: delete it if its row is never committed."""
    on_rollback(db, _delete_objects(media_id))


def schedule_purge(db: AsyncSession, media_id: uuid.UUID, *, defer_by: float) -> None:
    add(
        db,
        Effect(
            f"schedule the purge of {media_id}",
            lambda clients: jobs.schedule_purge(clients.redis, media_id, defer_by=defer_by),
        ),
    )


def wake_webhook_senders(db: AsyncSession) -> None:
    """Deliveries are owed: wake the workers' senders now rather than at their next poll."""
    add(db, Effect("wake the webhook senders", lambda c: webhooks.wake_senders(c.redis)))


def publish_webhook_event(db: AsyncSession, owner_id: uuid.UUID, body: bytes) -> None:
    """For `reelay webhooks listen`: the account's event, live (its deliveries are the rows)."""
    add(
        db,
        Effect(
            f"publish a webhook event of {owner_id}",
            lambda clients: webhooks.publish_event(clients.redis, owner_id, body),
        ),
    )


def on_rollback(db: AsyncSession, effect: Effect) -> None:
    """Undo something done outside the database (an object stored) if the transaction fails."""
    db.info.setdefault(UNDO, []).append(effect)


async def run_pending(db: AsyncSession, clients: Clients) -> None:
    """Run what the committed transaction recorded, in order, each within its wait."""
    db.info.pop(UNDO, None)
    await _run(db.info.pop(PENDING, []), clients)


async def roll_back(db: AsyncSession, clients: Clients) -> None:
    """Roll back: drop the recorded effects and undo what was done outside the database."""
    db.info.pop(PENDING, None)
    await db.rollback()
    await _run(db.info.pop(UNDO, []), clients)


async def _run(pending_effects: list[Effect], clients: Clients) -> None:
    for effect in pending_effects:
        try:
            await asyncio.wait_for(effect.run(clients), effect.wait)
        except Exception as exc:
            log.warning("could not %s: %r (left to the sweepers)", effect.what, exc)


@asynccontextmanager
async def unit_of_work(resources: Resources) -> AsyncIterator[AsyncSession]:
    """A session whose work commits at the end of the block, then its effects run; on an error
    it rolls back and none run."""
    async with resources.sessions() as db:
        try:
            yield db
            await db.commit()
        except BaseException:
            await roll_back(db, resources)
            raise
    await run_pending(db, resources)
