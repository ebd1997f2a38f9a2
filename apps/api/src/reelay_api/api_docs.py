"""The API docs at /schema: Swagger UI served from the swagger-ui-bundle-v2 wheel, not a CDN.

The page lives on the origin that holds the session cookie, so no third-party script may run
on it; it also works offline.
"""

from __future__ import annotations

from pathlib import Path

from litestar import Router
from litestar.datastructures import ResponseHeader
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.static_files import create_static_files_router
from swagger_ui_bundle import swagger_ui_path

ASSETS = "/schema/assets"
# Litestar's page passes the document to Swagger UI in an inline script, and Swagger UI styles
# itself inline: both are ours, so inline is allowed here (only here); anything else is 'self'.
POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


def openapi_config() -> OpenAPIConfig:
    swagger = SwaggerRenderPlugin(
        js_url=f"{ASSETS}/swagger-ui-bundle.js",
        css_url=f"{ASSETS}/swagger-ui.css",
        standalone_preset_js_url=f"{ASSETS}/swagger-ui-standalone-preset.js",
        favicon=f"<link rel='icon' type='image/png' href='{ASSETS}/favicon-32x32.png'>",
        path=["/", "/swagger"],
    )
    assets = create_static_files_router(path="/assets", directories=[Path(swagger_ui_path)])
    return OpenAPIConfig(
        title="reelay",
        version="0.1.0",
        description="Upload media to object storage, transcode it, follow progress live.",
        render_plugins=[swagger],
        openapi_router=Router(
            "/schema",
            route_handlers=[assets],
            include_in_schema=False,
            response_headers=[ResponseHeader(name="Content-Security-Policy", value=POLICY)],
        ),
    )
