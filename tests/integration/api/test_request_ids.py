"""Every answer carries a request id, and the API's log lines for that request carry it too."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from reelay_core.logging import SANE_REQUEST_ID
from reelay_core.settings import Settings
from reelay_stack.ports import free_port

from tests.support.processes import AppProcesses
from tests.support.waits import until


@pytest.fixture(scope="module")
def json_api(
    stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AppProcesses]:
    """An API process of its own, configured as in production: JSON lines, one per request."""
    settings = stack_settings.model_copy(
        update={"api_port": free_port(), "log_format": "json", "access_log": True}
    )
    processes = AppProcesses(settings, tmp_path_factory.mktemp("json-api-logs"))
    processes.api.start()
    try:
        processes.wait_ready()
        yield processes
    finally:
        processes.stop()


@pytest.fixture
async def client(json_api: AppProcesses, clean_state: None) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=json_api.base_url, timeout=30) as opened:
        yield opened


def log_lines(processes: AppProcesses) -> list[dict[str, Any]]:
    """Every line the API wrote; each must be one JSON object."""
    return [json.loads(line) for line in processes.log("api").splitlines()]


async def test_the_sent_id_comes_back_and_marks_the_requests_log_lines(
    json_api: AppProcesses, client: httpx.AsyncClient
) -> None:
    sent = f"test-{secrets.token_hex(8)}"
    answer = await client.get("/healthz", headers={"X-Request-ID": sent})
    assert answer.status_code == 200
    assert answer.headers["x-request-id"] == sent

    marked = await until(
        lambda: [line for line in log_lines(json_api) if line.get("request_id") == sent],
        what="a log line with the request id",
    )
    assert marked[0]["logger"] == "uvicorn.access" and "GET /healthz" in marked[0]["event"]
    assert marked[0]["level"] == "info" and marked[0]["timestamp"]


async def test_a_missing_or_unusable_id_is_replaced_by_a_new_one(
    client: httpx.AsyncClient,
) -> None:
    made = []
    for headers in ({}, {}, {"X-Request-ID": "x" * 65}, {"X-Request-ID": "two words"}):
        answer = await client.get("/healthz", headers=headers)
        assert answer.status_code == 200
        made.append(answer.headers["x-request-id"])
    assert all(SANE_REQUEST_ID.fullmatch(value) for value in made), made
    assert len(set(made)) == len(made), "every request gets its own id"


async def test_error_answers_carry_the_id_too(client: httpx.AsyncClient) -> None:
    # An unknown path and a refused token are answered before any route handler runs.
    for method, path in [("GET", "/nothing-here"), ("GET", "/auth/me"), ("PUT", "/videos")]:
        answer = await client.request(method, path, headers={"X-Request-ID": "err-1"})
        assert answer.status_code in (401, 404, 405), answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.headers["x-request-id"] == "err-1", (method, path)
