"""Reading media rows, scoped to their owner: one item, a page of a list, a queue position."""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import datetime

from reelay_core.db import models as m
from reelay_core.db.models import MediaKind, MediaStatus
from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from reelay_api.problems import Problem, not_found


async def get_owned(
    db: AsyncSession,
    media_id: uuid.UUID,
    owner_id: uuid.UUID,
    kind: MediaKind,
    *,
    lock: bool = False,
) -> m.Media:
    """The caller's media item; anyone else's is answered exactly like a missing one.

    `lock` holds the row until the request commits, so two concurrent state changes of one item
    (a double-clicked complete, cancel racing retry) run one after the other.
    """
    # By primary key, then the owner checked here: SQLAlchemy caches that query whole, where a
    # filtered select is built anew each time (~8 % of a GET's CPU).
    media = await db.get(m.Media, media_id, with_for_update=lock or None)
    if media is None or media.owner_id != owner_id or media.kind != kind:
        raise not_found(kind.value)
    return media


async def queue_positions(db: AsyncSession, items: list[m.Media]) -> dict[uuid.UUID, int]:
    """How many queued jobs (anyone's: they share the workers) are ahead of each queued item,
    for a whole page in one query."""
    queued = [item.id for item in items if item.status == MediaStatus.QUEUED and item.queued_at]
    if not queued:
        return {}
    item, ahead = aliased(m.Media), aliased(m.Media)
    rows = await db.execute(
        select(item.id, func.count(ahead.id))
        .select_from(item)
        .outerjoin(
            ahead, and_(ahead.status == MediaStatus.QUEUED, ahead.queued_at < item.queued_at)
        )
        .where(item.id.in_(queued))
        .group_by(item.id)
    )
    return {media_id: int(count) for media_id, count in rows}


async def queue_position(db: AsyncSession, media: m.Media) -> int | None:
    return (await queue_positions(db, [media])).get(media.id)


@dataclass(frozen=True)
class Page:
    items: list[m.Media]
    next_cursor: str | None


def encode_cursor(media: m.Media) -> str:
    raw = f"{media.created_at.isoformat()}|{media.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created_text, media_id = raw.split("|", 1)
        created = datetime.fromisoformat(created_text)
        # Cursors carry our own UTC timestamps; anything else (no zone, year 1 at +14:00 which
        # overflows when sent to Postgres) did not come from us.
        if created.utcoffset() is None or not 2000 <= created.year <= 9000:
            raise ValueError("not a cursor timestamp")
        return created, uuid.UUID(media_id)
    except (ValueError, binascii.Error, OverflowError) as exc:
        raise Problem(
            422,
            "The cursor is not one this API gave out; use `next_cursor` from a previous page.",
            code="bad_cursor",
        ) from exc


async def list_page(
    db: AsyncSession,
    owner_id: uuid.UUID,
    kind: MediaKind,
    *,
    status: MediaStatus | None,
    limit: int,
    cursor: str | None,
    external_id: str | None = None,
) -> Page:
    """Newest first; the cursor is the last item's (created_at, id), so pages never overlap."""
    query = select(m.Media).where(m.Media.owner_id == owner_id, m.Media.kind == kind)
    if status is not None:
        query = query.where(m.Media.status == status)
    if external_id is not None:
        query = query.where(m.Media.external_id == external_id)
    if cursor:
        created, media_id = decode_cursor(cursor)
        query = query.where(
            or_(
                m.Media.created_at < created,
                and_(m.Media.created_at == created, m.Media.id < media_id),
            )
        )
    query = query.order_by(m.Media.created_at.desc(), m.Media.id.desc()).limit(limit + 1)
    rows = list((await db.scalars(query)).all())
    items = rows[:limit]
    return Page(items, encode_cursor(items[-1]) if len(rows) > limit else None)
