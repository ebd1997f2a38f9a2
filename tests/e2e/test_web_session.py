"""Sessions in the page: renewed while it is used, and when one ends the sign-in form says so and
signing in returns to where the person was."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import Page, expect
from reelay_core.settings import Settings

from tests.support.web_page import OpenPage, screenshot, served_page, sign_in, sign_up

pytestmark = pytest.mark.e2e
TTL = 8  # seconds: renewed at 4 s when used, over at 8 s when not


async def keep_using(page: Page) -> None:
    while True:
        await page.keyboard.press("Shift")
        await asyncio.sleep(1)


async def session_cookie(page: Page) -> str:
    return next(c["value"] for c in await page.context.cookies() if c["name"] == "reelay_session")


async def test_a_used_page_is_renewed_and_an_idle_one_ends_and_comes_back(
    open_page: OpenPage, stack_settings: Settings, clean_state: None
) -> None:
    async with served_page(open_page, stack_settings, token_ttl_seconds=TTL) as (page, api):
        await sign_up(page, "session@example.com")
        first = await session_cookie(page)
        # In use (a key pressed every second): renewed before each token's end.
        using = asyncio.create_task(keep_using(page))
        try:
            # An item to be looking at (its upload never sent: processing is not the point).
            cookies = {"reelay_session": first}
            created = await api.post(
                "/images",
                json={"filename": "holiday.png", "content_type": "image/png", "size": 1000},
                cookies=cookies,
                headers={"Origin": str(api.base_url)},
            )
            assert created.status_code == 201, created.text
            await page.goto(f"/#/images/{created.json()['id']}")
            await expect(page.locator("#detail-title")).to_have_text("holiday.png")
            await asyncio.sleep(TTL + 2)  # past the first token's end
        finally:
            using.cancel()
        assert await session_cookie(page) != first
        await expect(page.locator("#login")).to_be_hidden()
        where = page.url

        # Left alone: the session ends, and the page says so without being touched.
        reason = page.locator("#login-reason")
        await expect(reason).to_have_text(
            "Your session has ended. Sign in again to continue where you were.",
            timeout=3 * TTL * 1000,
        )
        await screenshot(page, "session", "ended")
        assert page.url == where

        # After a reload too, the form gives the reason.
        await page.reload()
        await expect(reason).to_contain_text("Your session has ended")
        await sign_in(page, "session@example.com")
        await expect(page.locator("#detail")).to_be_visible()
        await expect(page.locator("#detail-title")).to_have_text("holiday.png")


async def test_a_session_revoked_elsewhere_ends_on_the_next_click(
    open_page: OpenPage, stack_settings: Settings, clean_state: None
) -> None:
    async with served_page(open_page, stack_settings) as (page, api):
        await sign_up(page, "revoked@example.com")
        cookie = await session_cookie(page)
        answer = await api.post(
            "/auth/logout",
            cookies={"reelay_session": cookie},
            headers={"Origin": str(api.base_url)},
        )
        assert answer.status_code == 204
        # A link to an item the page has not loaded: it asks the API, which refuses.
        await page.goto("/#/videos/00000000-0000-4000-8000-000000000000")
        await expect(page.locator("#login-reason")).to_contain_text("Your session has ended")
