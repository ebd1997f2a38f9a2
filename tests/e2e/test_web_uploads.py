"""Large uploads from the page: S3 multipart straight to storage, resumed after a reload."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.async_api import Request, Response, Route, expect
from reelay_core.settings import Settings

from tests.support.factories import MIB
from tests.support.waits import until
from tests.support.web_page import OpenPage, card, choose, screenshot, served_page, sign_up

pytestmark = pytest.mark.e2e
PART = re.compile(r"[?&]partNumber=(\d+)")


def part_number(request: Request) -> int | None:
    match = PART.search(request.url)
    return int(match.group(1)) if match and request.method == "PUT" else None


async def test_a_multipart_upload_resumes_after_a_reload(
    open_page: OpenPage, stack_settings: Settings, clean_state: None, tmp_path: Path
) -> None:
    # 4 parts of 5 MiB (the last 1 MiB); not a video, which does not matter to the upload.
    big = tmp_path / "holiday.mp4"
    big.write_bytes(os.urandom(16 * MIB))
    async with served_page(
        open_page, stack_settings, multipart_threshold_bytes=6 * MIB, multipart_part_bytes=5 * MIB
    ) as (page, _):
        await sign_up(page, "resume@example.com")

        # The first visit: parts 1 and 2 arrive, then the tab goes away mid-upload.
        stored: set[int] = set()

        async def only_two_parts(route: Route) -> None:
            number = part_number(route.request)
            if number is not None and number > 2:
                await route.abort()
            else:
                await route.continue_()

        def arrived(response: Response) -> None:
            number = part_number(response.request)
            if number is not None and response.status == 200:
                stored.add(number)

        await page.route(re.compile(r".*partNumber=.*"), only_two_parts)
        page.on("response", arrived)
        await choose(page, big)
        await until(lambda: stored == {1, 2}, what="two parts stored", within=60)
        await screenshot(page, "resume", "interrupted")
        await page.unroute(re.compile(r".*partNumber=.*"))
        await page.reload()

        # The same file chosen again: only parts 3 and 4 are sent.
        sent: list[int] = []
        page.on("request", lambda request: (n := part_number(request)) and sent.append(n))
        await expect(page.locator("#login")).to_be_hidden()
        await choose(page, big)
        row = page.locator(".transfer", has_text=big.name)
        await expect(row).to_have_attribute("data-state", "done", timeout=60_000)
        await expect(row.locator(".numbers")).to_have_text(
            re.compile(r"^Resumed: 10\sMB of 17\sMB were already stored\. Uploaded\.$")
        )
        assert sorted(sent) == [3, 4]
        item = card(page, big.name)
        await expect(item).not_to_have_attribute("data-status", "awaiting_upload")
        await screenshot(page, "resume", "resumed")
        remembered = "() => Object.keys(localStorage).filter(k => k.startsWith('reelay.upload:'))"
        assert await page.evaluate(remembered) == []


async def test_an_upload_shows_bytes_speed_and_time_left(
    open_page: OpenPage, stack_settings: Settings, clean_state: None, tmp_path: Path
) -> None:
    big = tmp_path / "progress.mp4"
    big.write_bytes(os.urandom(11 * MIB))
    async with served_page(
        open_page, stack_settings, multipart_threshold_bytes=6 * MIB, multipart_part_bytes=5 * MIB
    ) as (page, _):
        await sign_up(page, "progress@example.com")
        release = False

        # The first part goes through; the others wait until the page has shown its numbers.
        async def slow(route: Route) -> None:
            if part_number(route.request) != 1:
                await until(lambda: release, what="the numbers were seen", within=60)
            await route.continue_()

        await page.route(re.compile(r".*partNumber=.*"), slow)
        await choose(page, big)
        numbers = page.locator(".transfer .numbers")
        await expect(numbers).to_have_text(
            re.compile(r"^5\.2\sMB of 12\sMB · [\d.]+\s(KB|MB|GB)/s · about \d.* left$")
        )
        await screenshot(page, "progress", "numbers")
        release = True
        await expect(page.locator(".transfer")).to_have_attribute("data-state", "done")
        await expect(numbers).to_have_text("Uploaded.")
