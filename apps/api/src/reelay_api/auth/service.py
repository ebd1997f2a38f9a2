"""Registering users and checking passwords (argon2, off the event loop)."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from reelay_core.db import models as m
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

hasher = PasswordHasher()


class EmailTaken(Exception):
    pass


def normalize_email(email: str) -> str:
    return email.strip().lower()


async def register(db: AsyncSession, email: str, password: str) -> m.User:
    password_hash = await asyncio.to_thread(hasher.hash, password)
    user = m.User(email=normalize_email(email), password_hash=password_hash)
    db.add(user)
    try:
        await db.flush()
    except IntegrityError as exc:
        raise EmailTaken(email) from exc
    return user


async def authenticate(db: AsyncSession, email: str, password: str) -> m.User | None:
    user = await db.scalar(select(m.User).where(m.User.email == normalize_email(email)))
    if user is None:
        # Hash anyway so that response time does not reveal which emails exist.
        await asyncio.to_thread(hasher.hash, password)
        return None
    try:
        await asyncio.to_thread(hasher.verify, user.password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        return None
    return user
