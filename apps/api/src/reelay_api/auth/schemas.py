"""Request and response bodies of /auth."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, EmailStr, Field


class Credentials(BaseModel):
    email: EmailStr
    password: Annotated[str, Field(min_length=8, max_length=1024)]


class UserOut(BaseModel):
    id: str
    email: str


class SessionOut(UserOut):
    """`/auth/me`: the account, and the session token's life, so a page knows when to renew it
    (null for credentials that are not a session: API keys)."""

    issued_at: datetime | None = None
    expires_at: datetime | None = None


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
