"""Request-scoped dependencies: the DB session (the request's unit of work) and clients."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import TypeAlias

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from reelay_core.effects import unit_of_work
from reelay_core.settings import Settings
from sqlalchemy.ext.asyncio import AsyncSession

from reelay_api.auth.security import AuthUser, SessionTokens
from reelay_api.resources import Resources


def provide_resources(state: State) -> Resources:
    resources: Resources = state.resources
    return resources


def provide_settings(state: State) -> Settings:
    settings: Settings = state.settings
    return settings


def provide_tokens(state: State) -> SessionTokens:
    tokens: SessionTokens = state.tokens
    return tokens


def provide_user(request: Request[AuthUser, object, State]) -> AuthUser:
    return request.user


READS = frozenset({"GET", "HEAD"})


async def provide_db(
    request: Request[object, object, State], state: State
) -> AsyncGenerator[AsyncSession, None]:
    resources: Resources = state.resources
    if request.method in READS:
        # A read runs outside a transaction: its query is then its one round trip to
        # PostgreSQL, where BEGIN and COMMIT around it made three. No GET handler writes or
        # records effects (these would not run here).
        async with resources.read_sessions() as session:
            yield session
        return
    # Commits once the handler has built its answer (before it is sent), then runs what the
    # handler's changes recorded for after the commit; an error rolls everything back instead.
    async with unit_of_work(resources) as session:
        yield session


DEPENDENCIES = {
    "resources": Provide(provide_resources, sync_to_thread=False),
    "settings": Provide(provide_settings, sync_to_thread=False),
    "tokens": Provide(provide_tokens, sync_to_thread=False),
    "db": Provide(provide_db),
    "user": Provide(provide_user, sync_to_thread=False),
}


# Handler parameter types: the parameter's name picks the dependency above (Litestar 3 drops
# inferring it from a bare type).
Db: TypeAlias = NamedDependency[AsyncSession]
CurrentUser: TypeAlias = NamedDependency[AuthUser]
AppResources: TypeAlias = NamedDependency[Resources]
AppSettings: TypeAlias = NamedDependency[Settings]
Tokens: TypeAlias = NamedDependency[SessionTokens]
