"""The request that queued an item names the worker's log lines for its job."""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx

from tests.support.client import register
from tests.support.factories import create_media, post_form
from tests.support.processes import AppProcesses
from tests.support.waits import until, wait_terminal


async def test_the_worker_logs_the_job_under_the_queuing_request_s_id(
    api: httpx.AsyncClient, apps: AppProcesses, clip_small: Path
) -> None:
    account = await register(api)
    media = await create_media(api, account, clip_small)
    assert (await post_form(media["upload"], clip_small)).status_code in (200, 204)
    request_id = f"trace-{secrets.token_hex(6)}"
    queued = await api.post(
        f"/videos/{media['id']}/complete",
        json={},
        headers={**account.headers, "X-Request-ID": request_id},
    )
    assert queued.status_code == 202 and queued.headers["x-request-id"] == request_id
    assert (await wait_terminal(api, account, media["id"]))["status"] == "completed"

    def job_lines() -> list[str]:
        logs = "".join(log.read_text() for log in apps.log_dir.glob("worker*.log"))
        # Written by the worker's own logger while it ran the job, not arq's "→ job" line that
        # merely shows the job's arguments.
        return [
            line
            for line in logs.splitlines()
            if f"request_id={request_id}" in line and "[reelay_worker." in line
        ]

    lines = await until(job_lines, what="a worker log line of the job with the request id")
    assert any(f"media {media['id']} attempt 1: completed" in line for line in lines), lines
