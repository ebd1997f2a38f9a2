"""The web page at `/`: sign in, upload straight to storage, watch progress live, act, play.
Static files only (ES modules, no build step; hls.js vendored under static/vendor); the page
talks to the public API like any other client."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from litestar import Response, get
from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler
from reelay_core.settings import Settings

STATIC = Path(__file__).parent / "static"


def web_routes(settings: Settings) -> list[ControllerRouterHandler]:
    storage = origin(settings.s3_public_endpoint_url or settings.s3_endpoint_url or "")
    # Storage is the only other origin: uploads go to it (presigned POST, multipart PUTs),
    # pictures and HLS segments come from it (presigned URLs); the player feeds video through
    # a blob: MediaSource. Nothing else may load from anywhere but here.
    policy = (
        "default-src 'self'; "
        f"connect-src 'self' {storage}; img-src 'self' {storage}; "
        f"media-src 'self' blob: {storage}; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )

    page = (STATIC / "index.html").read_bytes()

    @get("/", include_in_schema=False, sync_to_thread=False)
    def index() -> Response[bytes]:
        return Response(
            page,
            media_type="text/html",
            headers={"Content-Security-Policy": policy, "Cache-Control": "no-cache"},
        )

    icon = (STATIC / "favicon.svg").read_bytes()

    # Browsers ask for /favicon.ico on their own (pages without the <link>, the API docs).
    @get("/favicon.ico", include_in_schema=False, sync_to_thread=False, exclude_from_auth=True)
    def favicon() -> Response[bytes]:
        return Response(
            icon, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"}
        )

    return [index, favicon, create_static_files_router(path="/static", directories=[STATIC])]


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""
