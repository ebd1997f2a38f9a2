"""The web page in headless Chromium: fixtures, the steps every test takes, screenshots, axe-core.

Screenshots of each state go to `test-artifacts/web/` (gitignored) for a person to look at.
axe-core comes from its npm tarball, fetched once, checked against its published integrity,
and cached beside them: nothing is loaded from a third-party host by the page itself.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import tarfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect
from reelay_core.settings import Settings

from tests.support.api_server import serve_app
from tests.support.chromium import chromium
from tests.support.processes import AppProcesses

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
SHOTS = ARTIFACTS / "web"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
PASSWORD = "correct horse battery"

AXE_VERSION = "4.10.3"
AXE_TARBALL = f"https://registry.npmjs.org/axe-core/-/axe-core-{AXE_VERSION}.tgz"
AXE_INTEGRITY = (
    "sha512-Xm7bpRXnDSX2YE2YFfBk2FnF0ep6tmG7xPh8iHee8MIcrgq762Nkce856dYtJYLkuIoYZvGfTs/PbZhide"
    "TcEg=="
)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


OpenPage = Callable[..., Awaitable[Page]]


@pytest.fixture
async def open_page(browser: Browser) -> AsyncIterator[OpenPage]:
    """Opens the page of a given server in a fresh browser context (no cookies, no storage);
    at the end, any script error on it fails the test."""
    contexts: list[BrowserContext] = []
    errors: list[str] = []
    missing: list[str] = []  # a 404 is a broken page (the favicon, a picture that is not there)

    async def opening(base_url: str, viewport: dict[str, int] = DESKTOP) -> Page:
        context = await browser.new_context(
            base_url=base_url, viewport={"width": viewport["width"], "height": viewport["height"]}
        )
        await context.grant_permissions(["clipboard-read", "clipboard-write"])
        contexts.append(context)
        opened = await context.new_page()
        opened.on("pageerror", lambda error: errors.append(str(error)))
        opened.on(
            "response",
            lambda answer: (
                answer.status == 404 and missing.append(f"{answer.request.method} {answer.url}")
            ),
        )
        await opened.goto("/")
        return opened

    yield opening
    for context in contexts:
        await context.close()
    assert errors == [], "the page's script threw"
    assert missing == [], f"the page asked for what is not there: {missing}"


@asynccontextmanager
async def served_page(
    open_page: OpenPage, settings: Settings, **overrides: Any
) -> AsyncIterator[tuple[Page, httpx.AsyncClient]]:
    """The page of an API served in the test with `overrides` to its settings."""
    async with serve_app(settings, **overrides) as api:
        opened = await open_page(str(api.base_url))
        try:
            yield opened, api
        finally:
            await opened.context.close()  # its event stream would hold the server open


@pytest.fixture
async def page(open_page: OpenPage, apps: AppProcesses, clean_state: None) -> Page:
    return await open_page(apps.base_url)


async def sign_up(page: Page, email: str) -> None:
    await expect(page.locator("#login")).to_be_visible()
    await page.fill("#email", email)
    await page.fill("#password", PASSWORD)
    await page.click("button[value=register]")
    await expect(page.locator("#who-email")).to_have_text(email)


async def sign_in(page: Page, email: str) -> None:
    await page.fill("#email", email)
    await page.fill("#password", PASSWORD)
    await page.click("button[value=login]")
    await expect(page.locator("#who-email")).to_have_text(email)


async def choose(page: Page, *paths: Path) -> None:
    """Choose files as a person does; uploads start at once."""
    await page.set_input_files("#file", [str(path) for path in paths])


async def uploaded(page: Page, path: Path) -> None:
    row = page.locator(".transfer", has_text=path.name)
    await expect(row).to_have_attribute("data-state", "done", timeout=60_000)


def card(page: Page, name: str) -> Any:
    return page.locator(".item", has=page.locator(".filename", has_text=name))


async def screenshot(page: Page, test: str, state: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"] if page.viewport_size else 0
    name = re.sub(r"[^a-z0-9]+", "-", f"{test}-{state}-{width}".lower())
    await page.screenshot(path=SHOTS / f"{name}.png", full_page=True)


async def horizontal_overflow(page: Page) -> int:
    """How many pixels the page is wider than the window (0: no sideways scrolling)."""
    return int(
        await page.evaluate(
            "() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
            " - window.innerWidth"
        )
    )


def axe_source() -> str:
    cached = ARTIFACTS / "cache" / f"axe-core-{AXE_VERSION}.min.js"
    if not cached.exists():
        tarball = httpx.get(AXE_TARBALL, timeout=60, follow_redirects=True).content
        digest = "sha512-" + base64.b64encode(hashlib.sha512(tarball).digest()).decode()
        assert digest == AXE_INTEGRITY, "the axe-core tarball is not the published one"
        with tarfile.open(fileobj=io.BytesIO(tarball)) as archive:
            member = archive.extractfile("package/axe.min.js")
            assert member is not None
            cached.parent.mkdir(parents=True, exist_ok=True)
            cached.write_bytes(member.read())
    return cached.read_text()


async def serious_accessibility_problems(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    # Injected through the test's own channel, so the page's policy does not have to allow it.
    await page.evaluate(axe_source())
    result = await page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' '))}))"
    )
    return list(result)


async def unreachable_by_keyboard(page: Page, limit: int = 120) -> list[str]:
    """The visible controls that pressing Tab from the top of the page never reaches."""
    # Tab moves on from where the focus was: start from a mark before everything else.
    await page.evaluate(
        "() => { const start = document.createElement('span'); start.id = 'tab-start';"
        " start.tabIndex = -1; document.body.prepend(start); start.focus(); }"
    )
    await page.keyboard.press("Tab")
    await page.evaluate("() => document.getElementById('tab-start').remove()")
    for _ in range(limit):
        again = await page.evaluate(
            "() => { const e = document.activeElement;"
            " if (!e || e === document.body) return true;"
            " if (e.dataset.tabbed) return true; e.dataset.tabbed = '1'; return false; }"
        )
        if again:
            break
        await page.keyboard.press("Tab")
    missed = await page.evaluate(
        "() => [...document.querySelectorAll('a[href], button, input, select, textarea')]"
        ".filter(e => !e.disabled && e.checkVisibility() && !e.dataset.tabbed)"
        ".map(e => e.id || e.getAttribute('aria-label') || e.textContent.trim())"
    )
    return list(missed)
