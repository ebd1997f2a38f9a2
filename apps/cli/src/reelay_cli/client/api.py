"""HTTP calls to a reelay server; every failure becomes an ApiError with a one-line reason."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from httpx_sse import EventSource, connect_sse

from reelay_cli.client.config import Config

KINDS = ("videos", "images")
API_KEY_ENV = "REELAY_API_KEY"
TIMEOUT = httpx.Timeout(30.0, connect=10.0)
# Longer than the server's 15 s heartbeat: a silent stream for this long is a dead one.
STREAM_TIMEOUT = httpx.Timeout(30.0, read=45.0)


class ApiError(Exception):
    """A request that failed, with the reason in words (the server's problem `detail` if any)."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def problem_message(response: httpx.Response) -> ApiError:
    """Problem details (RFC 9457) → one line: the server's detail and the HTTP status."""
    detail, code = None, None
    try:
        body = response.json()
        if isinstance(body, dict):
            detail = body.get("detail") or body.get("title")
            problem_type = str(body.get("type") or "")
            code = problem_type.rsplit(":", 1)[-1] if problem_type.startswith("urn:") else None
    except ValueError:
        detail = response.text.strip().splitlines()[0][:200] if response.text.strip() else None
    detail = detail or response.reason_phrase or "request failed"
    return ApiError(
        f"{detail} (HTTP {response.status_code})", status=response.status_code, code=code
    )


def unreachable(server: str, exc: httpx.HTTPError) -> ApiError:
    return ApiError(f"cannot reach {server}: {str(exc) or type(exc).__name__}")


class ReelayClient:
    """One server, one (optional) bearer token."""

    def __init__(self, server: str, token: str | None = None) -> None:
        self.server = server
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=server, headers=headers, timeout=TIMEOUT)

    @classmethod
    def logged_in(cls, config: Config, server: str) -> ReelayClient:
        # A backend or CI job passes its key in the environment, without a saved login.
        if key := os.environ.get(API_KEY_ENV):
            return cls(server, key)
        session = config.sessions.get(server)
        if session is None:
            raise ApiError(f"not logged in to {server}; run `reelay login`")
        if session.expired:
            raise ApiError(f"the session for {server} has expired; run `reelay login` again")
        return cls(server, session.token)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> ReelayClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- plumbing ---------------------------------------------------------------------------
    def request(
        self, method: str, path: str, *, expect: tuple[int, ...] = (200,), **kwargs: Any
    ) -> httpx.Response:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise unreachable(self.server, exc) from exc
        if response.status_code not in expect:
            raise self.refusal(response)
        return response

    def refusal(self, response: httpx.Response) -> ApiError:
        problem = problem_message(response)
        if problem.code == "bad_api_key":
            return problem  # the server says the key was revoked or mistyped, and what to do
        if response.status_code == 401 and self.http.headers.get("Authorization"):
            return ApiError(
                "the server refused the saved token (HTTP 401); run `reelay login` again",
                status=401,
            )
        return problem

    def json(
        self, method: str, path: str, *, expect: tuple[int, ...] = (200,), **kwargs: Any
    ) -> dict[str, Any]:
        """Every JSON answer of the API is an object (a media item, a page, a token...)."""
        body: dict[str, Any] = self.request(method, path, expect=expect, **kwargs).json()
        return body

    # -- auth -------------------------------------------------------------------------------
    def register(self, email: str, password: str) -> dict[str, Any]:
        return self.json(
            "POST", "/auth/register", json={"email": email, "password": password}, expect=(201,)
        )

    def token(self, email: str, password: str) -> dict[str, Any]:
        return self.json("POST", "/auth/token", json={"email": email, "password": password})

    def logout(self) -> None:
        """Revoke this client's token at the server: it is refused from now on."""
        self.request("POST", "/auth/logout", expect=(204,))

    # -- media ------------------------------------------------------------------------------
    def create(self, kind: str, filename: str, content_type: str, size: int) -> dict[str, Any]:
        body = {"filename": filename, "content_type": content_type, "size": size}
        return self.json("POST", f"/{kind}", json=body, expect=(201,))

    def resume_parts(self, kind: str, media_id: str) -> dict[str, Any]:
        return self.json("POST", f"/{kind}/{media_id}/parts")

    def complete(
        self, kind: str, media_id: str, parts: list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        body = {"parts": parts} if parts is not None else {}
        return self.json("POST", f"/{kind}/{media_id}/complete", json=body, expect=(202,))

    def get(self, kind: str, media_id: str) -> dict[str, Any]:
        return self.json("GET", f"/{kind}/{media_id}")

    def find(self, media_id: str) -> tuple[str, dict[str, Any]]:
        """The media item with this id, whichever kind it is: (kind path, media object)."""
        for kind in KINDS:
            try:
                return kind, self.get(kind, media_id)
            except ApiError as exc:
                if exc.status not in (404, 422):  # 422: not a UUID at all
                    raise
        raise ApiError(f"no video or image with id {media_id}", status=404)

    def list(
        self, kind: str, *, status: str | None = None, limit: int = 20
    ) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"limit": min(limit, 100)}
        if status:
            params["status"] = status
        items: list[dict[str, Any]] = []
        while len(items) < limit:
            page = self.json("GET", f"/{kind}", params=params)
            items += page["items"]
            if not page.get("next_cursor"):
                break
            params["cursor"] = page["next_cursor"]
        return items[:limit]

    def cancel(self, kind: str, media_id: str) -> dict[str, Any]:
        return self.json("POST", f"/{kind}/{media_id}/cancel", expect=(202,))

    def retry(self, kind: str, media_id: str) -> dict[str, Any]:
        return self.json("POST", f"/{kind}/{media_id}/retry", expect=(202,))

    def delete(self, kind: str, media_id: str) -> None:
        self.request("DELETE", f"/{kind}/{media_id}", expect=(204,))

    def download_url(self, kind: str, media_id: str, rendition: str) -> str:
        response = self.request(
            "GET",
            f"/{kind}/{media_id}/download",
            params={"rendition": rendition},
            expect=(307, 302),
        )
        return response.headers["location"]

    @contextmanager
    def events(self, kind: str, media_id: str, last_event_id: str | None) -> Iterator[EventSource]:
        headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
        with connect_sse(
            self.http, "GET", f"/{kind}/{media_id}/events", headers=headers, timeout=STREAM_TIMEOUT
        ) as source:
            if source.response.status_code != 200:
                source.response.read()
                raise self.refusal(source.response)
            yield source


def storage_client() -> httpx.Client:
    """For presigned storage URLs: they carry their own signature, never our token."""
    return httpx.Client(timeout=httpx.Timeout(60.0, connect=10.0))
