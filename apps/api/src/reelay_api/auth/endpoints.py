"""/auth: register, log in (token + session cookie), renew, log out, who am I."""

from __future__ import annotations

import time
import uuid
from typing import Any

from litestar import Controller, Request, Response, Router, get, post
from litestar.datastructures import Cookie, State
from litestar.params import JSONBody
from litestar.security.jwt import Token
from reelay_core.settings import Settings

from reelay_api.auth import revocation, service
from reelay_api.auth.rate_limit import RateLimit
from reelay_api.auth.schemas import Credentials, SessionOut, TokenOut, UserOut
from reelay_api.auth.security import AuthUser, SessionTokens
from reelay_api.deps import AppResources, AppSettings, Db, Tokens
from reelay_api.problems import Problem, problem_docs


class AuthController(Controller):
    tags = ["auth"]

    @post(
        "/register",
        status_code=201,
        summary="Create an account",
        responses=problem_docs(400, 409, 422, 429),
    )
    async def register(self, data: JSONBody[Credentials], db: Db) -> UserOut:
        try:
            user = await service.register(db, data.email, data.password)
        except service.EmailTaken:
            raise Problem(
                409, "This email is already registered; log in instead.", code="email_taken"
            ) from None
        return UserOut(id=str(user.id), email=user.email)

    @post(
        "/token",
        status_code=200,
        summary="Log in: a bearer token and a session cookie",
        responses=problem_docs(400, 401, 422, 429),
    )
    async def token(
        self, data: JSONBody[Credentials], db: Db, settings: AppSettings, tokens: Tokens
    ) -> Response[TokenOut]:
        user = await service.authenticate(db, data.email, data.password)
        if user is None:
            raise Problem(401, "Wrong email or password.", code="bad_credentials")
        return issue_session(tokens, settings, user.id, user.email, cookie=True)

    @post(
        "/refresh",
        status_code=200,
        summary="Renew the session: a new token for the one sent, which is revoked",
        description="The new token keeps the time of the sign-in it descends from; "
        "`REELAY_SESSION_MAX_SECONDS` after it, renewal is refused (401 `session_too_old`) and "
        "the password is asked again. The cookie is renewed when the token came in it.",
        responses=problem_docs(401, 429),
    )
    async def refresh(
        self,
        request: Request[AuthUser, Any, State],
        settings: AppSettings,
        tokens: Tokens,
        resources: AppResources,
    ) -> Response[TokenOut]:
        current = request.auth
        if not isinstance(current, Token):
            raise Problem(
                401,
                "Only a signed-in session can be renewed; API keys do not expire.",
                code="not_a_session",
            )
        auth_time = int(current.extras.get("auth_time") or current.iat.timestamp())
        if time.time() - auth_time > settings.session_max_seconds:
            raise Problem(
                401, "This session is too old to renew; sign in again.", code="session_too_old"
            )
        # Revoked first: a Redis outage then refuses the renewal (503) rather than leaving two
        # live tokens.
        await revocation.revoke(resources.redis, current)
        from_cookie = "authorization" not in request.headers
        return issue_session(
            tokens,
            settings,
            request.user.id,
            request.user.email,
            cookie=from_cookie,
            auth_time=auth_time,
        )

    @post(
        "/logout",
        status_code=204,
        summary="Revoke the token sent (header or cookie) and drop the cookie",
        responses=problem_docs(429),
    )
    async def logout(
        self, request: Request[Any, Any, State], tokens: Tokens, resources: AppResources
    ) -> Response[None]:
        # Open to anyone (an expired session can still clear its cookie): only a valid token
        # of ours is revoked, each one sent.
        scheme, _, bearer = request.headers.get("Authorization", "").partition(" ")
        cookie = request.cookies.get(tokens.cookie_key)
        for encoded in filter(None, [bearer if scheme.lower() == "bearer" else "", cookie]):
            if token := tokens.read(encoded):
                await revocation.revoke(resources.redis, token)
        response = Response(None, status_code=204)
        response.delete_cookie(tokens.cookie_key, path="/")
        return response

    @get(
        "/me",
        summary="The caller's account and when its token expires",
        responses=problem_docs(401),
    )
    async def me(self, request: Request[AuthUser, Any, State]) -> SessionOut:
        # An API key is no token: its answer has no times.
        token: Token | None = request.auth if isinstance(request.auth, Token) else None
        return SessionOut(
            id=str(request.user.id),
            email=request.user.email,
            issued_at=token.iat if token is not None else None,
            expires_at=token.exp if token is not None else None,
        )


def issue_session(
    tokens: SessionTokens,
    settings: Settings,
    user_id: uuid.UUID,
    email: str,
    *,
    cookie: bool,
    auth_time: int | None = None,
) -> Response[TokenOut]:
    ttl = settings.token_ttl_seconds
    token = tokens.issue(user_id, email, ttl, auth_time=auth_time)
    answer = TokenOut(access_token=token, expires_in=ttl)
    if not cookie:
        return Response(answer)
    # HttpOnly: page scripts cannot read it; EventSource sends it along by itself.
    # Strict: no page of another site makes the browser send it.
    session_cookie = Cookie(
        key=tokens.cookie_key,
        value=token,
        path="/",
        httponly=True,
        max_age=ttl,
        samesite="strict",
        secure=settings.api_base_url.startswith("https://"),
    )
    return Response(answer, cookies=[session_cookie])


def auth_router(settings: Settings) -> Router:
    """/auth with its rate limit, whose rate is a setting (`/auth/me` is not limited)."""
    rate_limit = RateLimit("auth", settings.auth_rate_limit_per_minute, exclude=["^/auth/me"])
    return Router("/auth", route_handlers=[AuthController], middleware=[rate_limit])
