"""Assemble the Litestar app: routes, auth, problem details, request ids, OpenAPI, lifespan."""

from __future__ import annotations

from litestar import Litestar
from litestar.datastructures import State
from reelay_core.settings import Settings, get_settings

from reelay_api.api_docs import openapi_config
from reelay_api.auth.endpoints import auth_router
from reelay_api.auth.security import SessionTokens, make_jwt_auth
from reelay_api.deps import DEPENDENCIES
from reelay_api.events.endpoints import make_media_events_handler, user_event_stream
from reelay_api.events.response import run_detached
from reelay_api.health import healthz, metrics, readyz
from reelay_api.keys.endpoints import ApiKeyController
from reelay_api.media.endpoints import ImageController, VideoController
from reelay_api.problems import EXCEPTION_HANDLERS, PROBLEM_DETAILS
from reelay_api.request_ids import RequestIds
from reelay_api.resources import lifespan
from reelay_api.viewer.endpoints import make_viewer_token_handler
from reelay_api.web import web_routes
from reelay_api.web_security import CrossSiteRequests, SecurityHeaders, cors_config
from reelay_api.webhooks.endpoints import WebhookController

MEDIA_CONTROLLERS = [VideoController, ImageController]


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or get_settings()
    jwt_auth = make_jwt_auth(settings)
    media_routes = [
        route
        for controller in MEDIA_CONTROLLERS
        for route in (
            controller,
            make_media_events_handler(controller.kind, controller.path),
            make_viewer_token_handler(controller.kind, controller.path),
        )
    ]
    app = Litestar(
        route_handlers=[
            healthz,
            readyz,
            metrics,
            auth_router(settings),
            ApiKeyController,
            *media_routes,
            user_event_stream,
            WebhookController,
            *web_routes(settings),
        ],
        dependencies=DEPENDENCIES,
        exception_handlers=EXCEPTION_HANDLERS,
        plugins=[PROBLEM_DETAILS],
        middleware=[CrossSiteRequests(settings)],
        cors_config=cors_config(settings),
        on_app_init=[jwt_auth.on_app_init],
        lifespan=[lifespan],
        # Logging is the process's, set up by `python -m reelay_api` (Litestar's would replace it).
        logging_config=None,
        state=State({"settings": settings, "tokens": SessionTokens(jwt_auth)}),
        openapi_config=openapi_config(),
    )
    app.asgi_handler = run_detached(RequestIds(SecurityHeaders(app.asgi_handler)))
    return app
