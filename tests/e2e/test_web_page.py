"""The web page at `/` in a real browser (headless Chromium) against the real stack: uploads,
live progress, playback, actions, and catching up after an API restart."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.support.media import MediaFactory
from tests.support.processes import AppProcesses
from tests.support.restarts import api_outage, stored_status, workers_paused
from tests.support.waits import JOB_DEADLINE, until
from tests.support.web_page import card, choose, screenshot, sign_up, uploaded

pytestmark = pytest.mark.e2e


async def test_upload_watch_live_and_play_a_video(
    page: Page, apps: AppProcesses, media_factory: MediaFactory
) -> None:
    clip = media_factory.video(width=320, height=240, seconds=2)
    await sign_up(page, "web@example.com")
    await expect(page.locator("#empty")).to_be_visible()
    await screenshot(page, "play", "empty")
    await expect(page.locator("#live")).to_contain_text("Live")
    await choose(page, clip)
    await uploaded(page, clip)

    # The page is never reloaded: only the live stream can move the card to completed.
    item = card(page, clip.name)
    await expect(item).to_have_attribute("data-status", "completed", timeout=120_000)
    await expect(page.locator("#empty")).to_be_hidden()
    await expect(item.locator(".meta")).to_contain_text("2 s")
    await item.get_by_role("link", name="Play").click()
    detail = page.locator("#detail")
    await expect(detail).to_be_visible()
    video = detail.locator("video")
    # hls.js plays the master playlist; segments come from storage past the page's policy.
    handle = await video.element_handle()
    await page.wait_for_function("v => v.readyState >= 1 && v.duration > 1.5", arg=handle)
    await video.evaluate("v => { v.muted = true; return v.play(); }")
    await page.wait_for_function("v => v.currentTime > 0", arg=handle)
    mp4 = detail.locator("a.download[data-rendition=mp4]")
    await expect(mp4).to_have_attribute(
        "href", re.compile(r"^/videos/[0-9a-f-]{36}/download\?rendition=mp4$")
    )
    await expect(detail.locator("#source")).to_contain_text("h264")
    await screenshot(page, "play", "detail")

    # Another item's progress must not rebuild the open player: the video would stop.
    await video.evaluate("v => { v.keptAcrossUpdates = true; }")
    cookies = {c["name"]: c["value"] for c in await page.context.cookies()}
    picture = media_factory.image(width=320, height=240, fmt="png")
    async with httpx.AsyncClient(base_url=apps.base_url, cookies=cookies, timeout=30) as same_user:
        answer = await same_user.post(
            "/images/upload",
            files={"file": (picture.name, picture.read_bytes(), "image/png")},
            headers={"Origin": apps.base_url},
        )
        assert answer.status_code == 202, answer.text
    await expect(card(page, picture.name)).to_have_attribute(
        "data-status", "completed", timeout=60_000
    )
    assert await video.evaluate("v => v.keptAcrossUpdates === true")


async def test_a_video_plays_while_processing_and_goes_on_when_it_completes(
    page: Page, media_factory: MediaFactory
) -> None:
    clip = media_factory.video(width=1280, height=720, seconds=12, fps=25)
    await sign_up(page, "early@example.com")
    await choose(page, clip)
    item = card(page, clip.name)
    play = item.get_by_role("link", name="Play")
    await expect(play).to_be_visible(timeout=120_000)
    await play.click()
    detail = page.locator("#detail")
    video = detail.locator("video")
    handle = await video.element_handle()
    await page.wait_for_function("v => v.readyState >= 1", arg=handle, timeout=60_000)
    await video.evaluate("v => { v.muted = true; v.keptAcrossUpdates = true; return v.play(); }")
    await page.wait_for_function("v => v.currentTime > 0", arg=handle, timeout=60_000)
    playing_early = await item.get_attribute("data-status")
    await screenshot(page, "early", "playing")

    await expect(item).to_have_attribute("data-status", "completed", timeout=180_000)
    await expect(detail.locator(".status")).to_have_text("Ready")
    # The same player, never rebuilt: it reaches the end of the whole video.
    assert await video.evaluate("v => v.keptAcrossUpdates === true")
    await page.wait_for_function("v => v.duration > 11", arg=handle, timeout=60_000)
    if playing_early != "processing":
        pytest.skip("processing ended before playback began: nothing was switched")


async def test_several_files_at_once_and_bad_files_say_why(
    page: Page, media_factory: MediaFactory
) -> None:
    await sign_up(page, "pictures@example.com")
    picture = media_factory.image(width=320, height=240, fmt="png")
    garbage = media_factory.garbage("broken.mp4")
    empty = media_factory.directory / "empty.mp4"
    empty.write_bytes(b"")
    notes = media_factory.directory / "notes.txt"
    notes.write_text("not a video")
    await choose(page, picture, garbage, empty, notes)

    refused = page.locator(".transfer", has_text=empty.name)
    await expect(refused.locator(".error")).to_have_text("This file is empty.")
    # The API's refusal, in words rather than its developer's detail.
    unsupported = page.locator(".transfer", has_text=notes.name).locator(".error")
    await expect(unsupported).to_contain_text("This kind of file cannot be processed.")
    await expect(refused.get_by_role("button", name="Retry")).to_be_visible()
    image = card(page, picture.name).locator(".thumb img")
    await expect(image).to_be_visible(timeout=60_000)
    await page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=await image.element_handle()
    )
    broken = card(page, garbage.name)
    await expect(broken).to_have_attribute("data-status", "failed", timeout=60_000)
    await expect(broken.locator(".error")).to_have_text("The file could not be read as a video.")
    await screenshot(page, "several", "failed")


async def test_files_dropped_on_the_page_are_uploaded(
    page: Page, media_factory: MediaFactory
) -> None:
    await sign_up(page, "drop@example.com")
    picture = media_factory.image(width=320, height=240, fmt="png")
    dropped = await page.evaluate_handle(
        """([name, bytes]) => {
            const files = new DataTransfer();
            files.items.add(new File([new Uint8Array(bytes)], name, {type: "image/png"}));
            return files;
        }""",
        [picture.name, list(picture.read_bytes())],
    )
    await page.dispatch_event("#drop", "dragover", {"dataTransfer": dropped})
    await expect(page.locator("#drop")).to_have_class(re.compile(r"\bover\b"))
    await page.dispatch_event("#drop", "drop", {"dataTransfer": dropped})
    await expect(page.locator("#drop")).not_to_have_class(re.compile(r"\bover\b"))
    await uploaded(page, picture)
    await expect(card(page, picture.name)).to_have_attribute(
        "data-status", "completed", timeout=60_000
    )


async def test_cancel_retry_and_delete_from_the_page(
    page: Page, apps: AppProcesses, media_factory: MediaFactory
) -> None:
    clip = media_factory.video(width=320, height=240, seconds=2)
    await sign_up(page, "actions@example.com")
    with workers_paused(apps):
        await choose(page, clip)
        item = card(page, clip.name)
        await expect(item).to_have_attribute("data-status", "queued", timeout=60_000)
        await item.get_by_role("button", name="Cancel").click()
        await expect(item).to_have_attribute("data-status", "canceled")
        await expect(item.get_by_role("button", name="Cancel")).to_have_count(0)
        await item.get_by_role("button", name="Retry").click()
        await expect(item).to_have_attribute("data-status", "queued")

        await item.get_by_role("button", name="Copy link").click()
        await expect(item.get_by_role("button", name="Link copied")).to_be_visible()
        link = await page.evaluate("() => navigator.clipboard.readText()")
        assert link == f"{apps.base_url}/#/videos/{await item.get_attribute('data-id')}"

        await item.get_by_role("button", name="Delete").click()
        confirm = page.locator("#confirm")
        await expect(confirm).to_contain_text(clip.name)
        await screenshot(page, "actions", "confirm-delete")
        await confirm.get_by_role("button", name="Keep it").click()
        await expect(item).to_have_count(1)
        await item.get_by_role("button", name="Delete").click()
        await confirm.get_by_role("button", name="Delete").click()
        await expect(item).to_have_count(0)
        await expect(page.locator("#empty")).to_be_visible()
        await expect(page.locator("#notice")).to_contain_text("was deleted")


async def test_log_out_forgets_the_session(page: Page) -> None:
    await sign_up(page, "leaving@example.com")
    await page.click("#logout")
    await expect(page.locator("#login")).to_be_visible()
    await expect(page.locator("#login-reason")).to_be_empty()
    await page.reload()
    await expect(page.locator("#login")).to_be_visible()
    await expect(page.locator("#login-reason")).to_be_empty()
    assert await page.context.cookies() == []


async def test_sign_in_problems_are_said_in_words(page: Page) -> None:
    await sign_up(page, "taken@example.com")
    await page.click("#logout")
    await page.fill("#email", "taken@example.com")
    await page.fill("#password", "correct horse battery")
    await page.click("button[value=register]")
    error = page.locator("#login-error")
    await expect(error).to_have_text("An account with this email already exists. Log in instead.")
    await page.fill("#password", "a wrong password")  # an old message goes once typing starts
    await expect(error).to_be_empty()
    await page.click("button[value=login]")
    await expect(error).to_have_text("That email and password do not match an account.")


async def test_the_page_catches_up_after_the_api_restarts(
    page: Page, apps: AppProcesses, media_factory: MediaFactory
) -> None:
    clip = media_factory.video(width=320, height=240, seconds=2)
    await sign_up(page, "restart@example.com")
    live = page.locator("#live")
    await expect(live).to_contain_text("Live")
    with workers_paused(apps) as resume_workers:
        await choose(page, clip)
        item = card(page, clip.name)
        await expect(item).to_have_attribute("data-status", "queued", timeout=60_000)
        media_id = await item.get_attribute("data-id")
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
    await expect(item).to_have_attribute("data-status", "completed", timeout=60_000)
    await expect(live).to_contain_text("Live")
