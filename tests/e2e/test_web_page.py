"""The web page at `/` in a real browser (headless Chromium) against the real stack."""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.support.media import MediaFactory
from tests.support.processes import AppProcesses
from tests.support.restarts import api_outage, stored_status, workers_paused
from tests.support.waits import JOB_DEADLINE, until

pytestmark = pytest.mark.e2e
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# What a sandboxed machine without a display needs, and no calls home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    if CHROMIUM is None:
        pytest.skip("no Chromium on PATH (`apt-get install chromium`; .ci/run installs it)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


@pytest.fixture
async def page(browser: Browser, apps: AppProcesses, clean_state: None) -> AsyncIterator[Page]:
    context = await browser.new_context(base_url=apps.base_url)
    opened = await context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    await opened.goto("/")
    yield opened
    await context.close()
    assert errors == [], "the page's script threw"


async def sign_up(page: Page, email: str) -> None:
    await expect(page.locator("#login")).to_be_visible()
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", "correct horse battery")
    await page.click("button[value=register]")
    await expect(page.locator("#who-email")).to_have_text(email)


async def upload(page: Page, path: Path) -> None:
    await page.set_input_files("#file", str(path))
    await page.click("#upload button[type=submit]")
    await expect(page.locator("#upload-status")).to_have_text(f"{path.name} uploaded.")


async def test_upload_watch_live_and_play_a_video(page: Page, media_factory: MediaFactory) -> None:
    clip = media_factory.video(width=320, height=240, seconds=2)
    await sign_up(page, "web@example.com")
    await expect(page.locator("#live")).to_contain_text("Live")
    await upload(page, clip)

    # The page is never reloaded: only the live stream can move the card to completed.
    card = page.locator(".item", has_text=clip.name)
    await expect(card).to_have_attribute("data-status", "completed", timeout=120_000)
    video = card.locator("video")
    # Loading the MP4 proves the download redirect to storage passes the page's CSP.
    await video.evaluate("v => { v.preload = 'metadata'; v.load(); }")
    await page.wait_for_function(
        "v => v.readyState >= 1 && v.duration > 1.5", arg=await video.element_handle()
    )
    download = re.compile(r"^/videos/[0-9a-f-]{36}/download\?rendition=mp4$")
    await expect(card.locator(".download")).to_have_attribute("href", download)

    # Another item's progress must not rebuild this card: a playing video would stop.
    await video.evaluate("v => { v.keptAcrossUpdates = true; }")
    picture = media_factory.image(width=320, height=240, fmt="png")
    await upload(page, picture)
    other = page.locator(".item", has_text=picture.name)
    await expect(other).to_have_attribute("data-status", "completed", timeout=60_000)
    assert await video.evaluate("v => v.keptAcrossUpdates === true")


async def test_images_show_and_bad_files_say_why(page: Page, media_factory: MediaFactory) -> None:
    await sign_up(page, "pictures@example.com")
    picture = media_factory.image(width=320, height=240, fmt="png")
    garbage = media_factory.garbage("broken.mp4")
    await upload(page, picture)
    await upload(page, garbage)

    image = page.locator(".item", has_text=picture.name).locator("img")
    await expect(image).to_be_visible(timeout=60_000)
    loaded = "img => img.complete && img.naturalWidth === 320"
    await page.wait_for_function(loaded, arg=await image.element_handle())
    broken = page.locator(".item", has_text=garbage.name)
    await expect(broken).to_have_attribute("data-status", "failed", timeout=60_000)
    assert (await broken.locator(".error").text_content() or "").strip(), "the reason is shown"


async def test_log_out_forgets_the_session(page: Page) -> None:
    await sign_up(page, "leaving@example.com")
    await page.click("#logout")
    await expect(page.locator("#login")).to_be_visible()
    await page.reload()
    await expect(page.locator("#login")).to_be_visible()
    assert await page.context.cookies() == []


async def test_the_page_catches_up_after_the_api_restarts(
    page: Page, apps: AppProcesses, media_factory: MediaFactory
) -> None:
    clip = media_factory.video(width=320, height=240, seconds=2)
    await sign_up(page, "restart@example.com")
    live = page.locator("#live")
    await expect(live).to_contain_text("Live")
    with workers_paused(apps) as resume_workers:
        await upload(page, clip)
        card = page.locator(".item", has_text=clip.name)
        await expect(card).to_have_attribute("data-status", "queued")
        media_id = await card.get_attribute("data-id")
        with api_outage(apps) as outage:
            await expect(live).to_contain_text("Reconnecting")
            # Processed while the API is down: the live stream cannot carry it, a reread can.
            resume_workers()

            async def completed() -> bool:
                return await stored_status(apps.settings, str(media_id)) == "completed"

            await until(completed, what="processed meanwhile", within=JOB_DEADLINE)
            # A 503 makes EventSource give up for good: the page must open a new one itself.
            outage.answer_unavailable()
            await until(lambda: outage.unavailable_answers, what="the page asked", within=60)
    await expect(card).to_have_attribute("data-status", "completed", timeout=60_000)
    await expect(live).to_contain_text("Live")
