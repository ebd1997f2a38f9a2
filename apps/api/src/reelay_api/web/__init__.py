"""The small web page at `/`: sign in, upload, watch progress live, play. Static files only;
the page talks to the public API like any other client."""

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
    # Media and pictures load from storage (downloads redirect to presigned URLs); nothing else
    # may load from anywhere but here.
    policy = (
        "default-src 'self'; "
        f"img-src 'self' {storage}; media-src 'self' {storage}; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    )

    page = (STATIC / "index.html").read_bytes()

    @get("/", include_in_schema=False, sync_to_thread=False)
    def index() -> Response[bytes]:
        return Response(
            page,
            media_type="text/html",
            headers={"Content-Security-Policy": policy, "Cache-Control": "no-cache"},
        )

    return [index, create_static_files_router(path="/static", directories=[STATIC])]


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""
