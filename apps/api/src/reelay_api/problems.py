"""RFC 9457 problem details for every error: domain problems, HTTP errors, validation, crashes.

Litestar's problem-details plugin renders them; this module says what each error becomes.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.plugins.problem_details import (
    ProblemDetailsConfig,
    ProblemDetailsException,
    ProblemDetailsPlugin,
)
from litestar.types import ExceptionHandlersMap
from pydantic import BaseModel, Field

from reelay_api.outages import unavailable_dependency

log = logging.getLogger(__name__)
MEDIA_TYPE = "application/problem+json"


class Problem(ProblemDetailsException):
    """A request that cannot be served, with a reason the user can act on.

    `code` names the reason for programs: it is the body's `code` and the end of its `type`.
    """

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(
            detail=detail,
            status_code=status,
            headers=headers,
            extra={"code": code, **(extra or {})} if code else extra,
            type_=f"urn:reelay:problem:{code}" if code else "about:blank",
            title=HTTPStatus(status).phrase,
        )


def not_found(what: str = "media") -> Problem:
    return Problem(404, f"No {what} with this id exists.", code="not_found")


def from_validation(exc: ValidationException) -> Problem:
    errors = exc.extra if isinstance(exc.extra, list) else []
    reasons = "; ".join(
        f"{e.get('key') or e.get('source') or 'body'}: {e.get('message')}"
        for e in errors
        if isinstance(e, dict)
    )
    return Problem(
        422,
        f"The request is malformed: {reasons or exc.detail}",
        code="validation_error",
        extra={"errors": errors},
    )


# Litestar's own wording is written for developers; these say what the user can do.
HTTP_DETAILS = {
    401: "Authentication required: send `Authorization: Bearer <token>` or the session cookie.",
    404: "No resource at this path.",
    405: "This method is not allowed on this path.",
}


def from_http(exc: HTTPException) -> Problem:
    detail = HTTP_DETAILS.get(exc.status_code, exc.detail)
    if exc.status_code == 401 and exc.detail and "token" in exc.detail.lower():
        detail = f"{detail} ({exc.detail})"
    return Problem(exc.status_code, detail, headers=exc.headers)


def handle_crash(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    if dependency := unavailable_dependency(exc):
        log.warning(
            "%s %s: %s is unavailable: %r", request.method, request.url.path, dependency, exc
        )
        problem = Problem(
            503,
            f"{dependency} is unavailable right now; nothing was lost, try again shortly.",
            code="dependency_unavailable",
            headers={"Retry-After": "5"},
        )
    else:
        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        problem = Problem(500, "Something went wrong on our side; it has been logged.")
    return problem.to_response(request)


# The plugin answers every `ProblemDetailsException` (so every `Problem`) itself. A crash is not
# converted but handled: its log line names the request.
PROBLEM_DETAILS = ProblemDetailsPlugin(
    ProblemDetailsConfig(
        exception_to_problem_detail_map={
            ValidationException: from_validation,
            HTTPException: from_http,
        }
    )
)
EXCEPTION_HANDLERS: ExceptionHandlersMap = {Exception: handle_crash}


# -- OpenAPI -------------------------------------------------------------------------------------


class ProblemDetails(BaseModel):
    """RFC 9457 problem details: the body of every 4xx/5xx answer."""

    type: str = Field(examples=["urn:reelay:problem:not_found"])
    title: str = Field(examples=["Not Found"])
    status: int = Field(examples=[404])
    detail: str = Field(examples=["No video with this id exists."])
    code: str | None = Field(
        None,
        description="The reason for programs; absent when `type` is `about:blank`.",
        examples=["not_found"],
    )
    errors: list[dict[str, Any]] | None = Field(
        None,
        description="Validation errors (`code` `validation_error`), one per field.",
        examples=[[{"key": "size", "message": "Input should be greater than 0", "source": "body"}]],
    )


PROBLEM_DESCRIPTIONS = {
    400: "The body is not valid JSON or not a well-formed form.",
    401: "No valid bearer token or session cookie.",
    403: "Refused where it came from (a foreign Origin, a host that may not read this).",
    404: "No such item, or it belongs to another user.",
    409: "The item is not in a state that allows this.",
    413: "The file is larger than the configured limit.",
    415: "The body's content type, or the file's extension or type, is not accepted.",
    422: "The request is well-formed but its values are not acceptable.",
    429: "Too many requests; wait and try again.",
}


def problem_docs(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the problem answers a handler gives."""
    return {
        status: ResponseSpec(
            data_container=ProblemDetails,
            description=PROBLEM_DESCRIPTIONS[status],
            media_type=MEDIA_TYPE,
            generate_examples=False,
            examples=[
                Example(
                    summary=HTTPStatus(status).phrase,
                    value={
                        "type": "about:blank",
                        "title": HTTPStatus(status).phrase,
                        "status": status,
                        "detail": PROBLEM_DESCRIPTIONS[status],
                    },
                )
            ],
        )
        for status in statuses
    }
