"""What keeps a browser's session safe from other sites: request rules and response headers.

A cross-site page can make the victim's browser send its session cookie with a form or a
`text/plain` fetch, but it cannot set `Authorization`, send `application/json` without a CORS
preflight (which this API does not answer), or forge `Origin`. So JSON endpoints take only
`application/json`, and a state-changing request that rests on the cookie must name an origin
of ours.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from litestar import Request
from litestar.config.cors import CORSConfig
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.exceptions import SerializationException
from litestar.handlers import HTTPRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from reelay_core.settings import Settings

from reelay_api.auth.security import SESSION_COOKIE
from reelay_api.problems import Problem

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# They take credentials in the body: a cookie left from an earlier login is no credential there,
# so only a foreign Origin is refused (a browser sends one on every cross-site POST).
COOKIE_FREE_PATHS = frozenset({"/auth/register", "/auth/token"})

# Every answer: no MIME sniffing, no Referer (presigned URLs carry signatures), no framing.
# Answers that are not the web page or the docs render nothing, so they allow nothing.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
DEFAULT_POLICY = "default-src 'none'; frame-ancestors 'none'"


def allowed_origins(settings: Settings) -> frozenset[str]:
    """The API's own origin and those the operator added (`REELAY_ALLOWED_ORIGINS`, and the
    CORS ones, `REELAY_CORS_ORIGINS`: a page the operator lets call the API may also log in)."""
    listed = listed_origins(settings.allowed_origins) + listed_origins(settings.cors_origins)
    return frozenset(origin_of(url) for url in [settings.api_base_url, *listed])


def listed_origins(setting: str) -> list[str]:
    return [o.strip() for o in setting.split(",") if o.strip()]


def origin_of(url: str) -> str:
    parts = urlsplit(url.strip().lower())
    default_port = {"http": 80, "https": 443}.get(parts.scheme)
    netloc = parts.hostname or ""
    if parts.port is not None and parts.port != default_port:
        netloc = f"{netloc}:{parts.port}"
    return f"{parts.scheme}://{netloc}"


def cors_config(settings: Settings) -> CORSConfig | None:
    """CORS for the pages of `REELAY_CORS_ORIGINS`, which call the API with a viewer token or a
    key. Without credentials: the browser never sends the session cookie on their behalf, so a
    listed page cannot act as the signed-in user of this origin."""
    origins = sorted({origin_of(o) for o in listed_origins(settings.cors_origins)})
    if not origins:
        return None
    return CORSConfig(
        allow_origins=origins,
        allow_methods=["GET", "HEAD", "POST", "DELETE"],
        allow_headers=["Authorization", "Content-Type", "Last-Event-ID", "X-Request-ID"],
        expose_headers=["X-Request-ID", "Location", "Retry-After"],
        allow_credentials=False,
    )


class CrossSiteRequests(ASGIMiddleware):
    """Refuse what a cross-site page could make a browser send: 415 and 403 problems.

    Runs after routing, so it knows whether the handler reads a JSON body. It also decodes that
    body once, turning what the decoder cannot take (invalid UTF-8, nesting deeper than the
    interpreter's stack) into a 400 rather than a crash; the handler reuses the decoded value.
    """

    scopes = (ScopeType.HTTP,)

    def __init__(self, settings: Settings) -> None:
        self.origins = allowed_origins(settings)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        request: Request[Any, Any, Any] = Request(scope, receive, send)
        if request.method in UNSAFE_METHODS:
            self.check_origin(request)
        handler = scope["route_handler"]
        if (
            isinstance(handler, HTTPRouteHandler)
            and "data" in handler.parsed_fn_signature.parameters
        ):
            await read_json(request)
        await next_app(scope, receive, send)

    def check_origin(self, request: Request[Any, Any, Any]) -> None:
        if "authorization" in request.headers:
            return  # a cross-site page cannot set it
        origin = request.headers.get("origin")
        if origin is None:
            if SESSION_COOKIE in request.cookies and request.url.path not in COOKIE_FREE_PATHS:
                raise Problem(
                    403,
                    "A request that relies on the session cookie must carry an Origin header "
                    "(browsers send it); other clients send `Authorization: Bearer <token>`.",
                    code="bad_origin",
                )
            return
        if origin_of(origin) not in self.origins and not same_host(origin, request):
            raise Problem(
                403,
                f"Requests from {origin} may not change anything here: only pages of this API "
                "(or of REELAY_ALLOWED_ORIGINS or REELAY_CORS_ORIGINS) may.",
                code="bad_origin",
            )


def same_host(origin: str, request: Request[Any, Any, Any]) -> bool:
    """The Origin names the host the request was sent to (the API under another name, e.g.
    localhost for 127.0.0.1). A cross-site page cannot choose the Host its request goes to, and a
    rebound DNS name gets no cookie of ours."""
    host = request.headers.get("host")
    if host is None or origin == "null":
        return False
    return urlsplit(origin_of(origin)).netloc == urlsplit(origin_of(f"http://{host}")).netloc


async def read_json(request: Request[Any, Any, Any]) -> None:
    content_type = request.headers.get("content-type")
    if content_type is None and not has_body(request):
        return  # nothing to decode; the handler's defaults or validation answer
    if not is_json(content_type or ""):
        raise Problem(
            415,
            f"Send the body as `Content-Type: application/json`, not {content_type or 'untyped'}.",
            code="unsupported_media_type",
        )
    try:
        await request.json()
    except (SerializationException, UnicodeDecodeError, RecursionError) as exc:
        reason = "it is not UTF-8" if isinstance(exc, UnicodeDecodeError) else "it is malformed"
        if isinstance(exc, RecursionError):
            reason = "it is nested too deeply"
        raise Problem(400, f"The body is not valid JSON: {reason}.", code="bad_json") from None


def has_body(request: Request[Any, Any, Any]) -> bool:
    return "transfer-encoding" in request.headers or request.headers.get(
        "content-length", "0"
    ) not in ("", "0")


def is_json(content_type: str) -> bool:
    kind, *params = (p.strip().lower() for p in content_type.split(";"))
    charsets = {v.strip('"') for k, _, v in (p.partition("=") for p in params) if k == "charset"}
    # RFC 8259: JSON between systems is UTF-8, so no other charset is taken.
    return kind == "application/json" and charsets <= {"utf-8"}


class SecurityHeaders:
    """ASGI wrapper around the whole app, so 404s and 401s carry the headers too."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
                if "content-security-policy" not in headers:
                    headers["Content-Security-Policy"] = DEFAULT_POLICY
            await send(message)

        await self.app(scope, receive, send_with_headers)
