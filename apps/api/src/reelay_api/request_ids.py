"""A request id for every HTTP request: the client's `X-Request-ID` if it is sane, else a new one.

It is answered in the same header, and every log line the request causes carries it.
"""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from reelay_core.logging import REQUEST_ID_HEADER, bound_request_id, request_id_from

HEADER_KEY = REQUEST_ID_HEADER.lower().encode("latin-1")


class RequestIds:
    """ASGI wrapper around all of Litestar's handling, its own error answers included.

    Litestar's middleware runs only for a matched route, so neither a 404 for an unknown path
    nor a 401 from authentication (itself a middleware) would carry the id.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        sent = next((v for k, v in scope["headers"] if k == HEADER_KEY), None)
        request_id = request_id_from(None if sent is None else sent.decode("latin-1"))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableScopeHeaders.from_message(message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        with bound_request_id(request_id):
            await self.app(scope, receive, send_with_id)
