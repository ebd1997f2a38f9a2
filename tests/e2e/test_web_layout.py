"""The web page on a phone and on a desktop: nothing scrolls sideways, every control is reached
by the keyboard, and axe-core finds no serious or critical accessibility problem, in each state."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.support.media import MediaFactory
from tests.support.processes import AppProcesses
from tests.support.web_page import (
    DESKTOP,
    PHONE,
    OpenPage,
    card,
    choose,
    horizontal_overflow,
    screenshot,
    serious_accessibility_problems,
    sign_up,
    unreachable_by_keyboard,
)

pytestmark = pytest.mark.e2e


async def check(page: Page, state: str) -> None:
    await screenshot(page, "layout", state)
    assert await horizontal_overflow(page) <= 0, f"{state}: the page scrolls sideways"
    assert await serious_accessibility_problems(page) == [], state


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
async def test_every_state_fits_and_is_accessible(
    open_page: OpenPage,
    apps: AppProcesses,
    clean_state: None,
    media_factory: MediaFactory,
    viewport: dict[str, int],
) -> None:
    page = await open_page(apps.base_url, viewport)
    await expect(page.locator("#login")).to_be_visible()
    await check(page, "sign-in")
    assert await unreachable_by_keyboard(page) == []

    name = "a-rather-long-file-name-without-spaces-as-phones-make-them-20261130_031500.png"
    picture = media_factory.image(width=320, height=240, fmt="png").rename(
        media_factory.directory / name
    )
    broken = media_factory.garbage("broken-upload.mp4")
    await sign_up(page, f"layout-{viewport['width']}@example.com")
    await expect(page.locator("#empty")).to_be_visible()
    await check(page, "empty")

    await choose(page, picture, broken)
    await expect(card(page, name)).to_have_attribute("data-status", "completed", timeout=60_000)
    await expect(card(page, broken.name)).to_have_attribute("data-status", "failed", timeout=60_000)
    await check(page, "library")
    assert await unreachable_by_keyboard(page) == []

    await card(page, broken.name).get_by_role("link", name="Details").click()
    detail = page.locator("#detail")
    await expect(detail).to_be_visible()
    await expect(detail.locator(".error")).not_to_be_empty()
    await check(page, "detail-failed")
    await page.keyboard.press("Escape")
    await expect(detail).to_be_hidden()

    await card(page, name).get_by_role("link", name="View").click()
    await expect(detail.locator("#viewer img")).to_be_visible()
    await check(page, "detail-image")
    await detail.get_by_role("button", name="Delete").click()
    await expect(page.locator("#confirm")).to_be_visible()
    await check(page, "confirm-delete")
