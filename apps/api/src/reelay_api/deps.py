"""Request-scoped dependencies: the DB session (the request owns its transaction) and clients."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import TypeAlias

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from reelay_core.settings import Settings
from reelay_core.storage import Storage
from sqlalchemy.ext.asyncio import AsyncSession

from reelay_api.auth.security import AuthUser
from reelay_api.resources import Resources


def provide_resources(state: State) -> Resources:
    return state.resources


def provide_settings(state: State) -> Settings:
    return state.resources.settings


def provide_storage(state: State) -> Storage:
    return state.resources.storage


def provide_user(request: Request[AuthUser, object, State]) -> AuthUser:
    return request.user


async def provide_db(state: State) -> AsyncGenerator[AsyncSession, None]:
    # Handlers commit explicitly where a job or an event must follow the commit; whatever is
    # left is committed here, and anything unfinished is rolled back on error.
    async with state.resources.sessions() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


DEPENDENCIES = {
    "resources": Provide(provide_resources, sync_to_thread=False),
    "settings": Provide(provide_settings, sync_to_thread=False),
    "storage": Provide(provide_storage, sync_to_thread=False),
    "db": Provide(provide_db),
    "user": Provide(provide_user, sync_to_thread=False),
}


# Handler parameter types: the parameter's name picks the dependency above (Litestar 3 drops
# inferring it from a bare type).
Db: TypeAlias = NamedDependency[AsyncSession]
CurrentUser: TypeAlias = NamedDependency[AuthUser]
AppResources: TypeAlias = NamedDependency[Resources]
