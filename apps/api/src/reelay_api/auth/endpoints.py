"""/auth: register, log in (token + session cookie), log out, who am I."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, Router, get, post
from litestar.datastructures import Cookie, State
from litestar.params import JSONBody
from reelay_core.settings import Settings

from reelay_api.auth import revocation, service
from reelay_api.auth.rate_limit import RateLimit
from reelay_api.auth.schemas import Credentials, TokenOut, UserOut
from reelay_api.deps import AppResources, AppSettings, CurrentUser, Db, Tokens
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
        ttl = settings.token_ttl_seconds
        token = tokens.issue(user.id, user.email, ttl)
        # HttpOnly: page scripts cannot read it; EventSource sends it along by itself.
        # Strict: no page of another site makes the browser send it.
        cookie = Cookie(
            key=tokens.cookie_key,
            value=token,
            path="/",
            httponly=True,
            max_age=ttl,
            samesite="strict",
            secure=settings.api_base_url.startswith("https://"),
        )
        return Response(TokenOut(access_token=token, expires_in=ttl), cookies=[cookie])

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

    @get("/me", summary="The caller's account", responses=problem_docs(401))
    async def me(self, user: CurrentUser) -> UserOut:
        return UserOut(id=str(user.id), email=user.email)


def auth_router(settings: Settings) -> Router:
    """/auth with its rate limit, whose rate is a setting (`/auth/me` is not limited)."""
    rate_limit = RateLimit("auth", settings.auth_rate_limit_per_minute, exclude=["^/auth/me"])
    return Router("/auth", route_handlers=[AuthController], middleware=[rate_limit])
