"""The Next.js example (examples/nextjs) in headless Chromium against a real stack of its own.

Its server creates the upload with an API key, the browser uploads straight to storage, follows
the processing with a viewer token, plays the HLS output, and the example's webhook route
verifies what reelay signed.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest
from playwright.async_api import Page, expect
from reelay_core.settings import Settings
from reelay_core.webhooks.signing import signature_header
from reelay_stack.embedded import EmbeddedServices
from reelay_stack.ports import Ports, free_port

from tests.support.chromium import chromium
from tests.support.client import assert_problem
from tests.support.data_dirs import reachable_data_dir
from tests.support.media import MediaFactory
from tests.support.nextjs import EXAMPLE_DIR, TYPES, NextExample, RegistryUnreachable, missing_node
from tests.support.processes import AppProcesses
from tests.support.waits import JOB_DEADLINE, until

pytestmark = pytest.mark.e2e
# Above it the browser PUTs parts (S3's smallest part is 5 MiB): the noisy clip takes two.
MULTIPART_THRESHOLD = 5 * 1024 * 1024
NOISE = ["-vf", "noise=alls=100:allf=t", "-crf", "0"]  # ~10 MB in 4 s of 320x240


@dataclass
class Example:
    url: str
    reelay_url: str
    webhook_secret: str
    build: NextExample


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NextExample]:
    """`npm ci && next build`, started first: it runs while the stack starts."""
    why = missing_node()
    if why:
        pytest.skip(why)
    example = NextExample(tmp_path_factory.mktemp("example"), tmp_path_factory.mktemp("logs"))
    example.start_build()
    try:
        yield example
    finally:
        example.stop()


@pytest.fixture(scope="module")
def example_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture(scope="module")
def own_apps(
    build: NextExample, example_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AppProcesses]:
    """A stack of its own: its worker may deliver webhooks to loopback, and no other test's
    worker (which may not) takes those deliveries."""
    with reachable_data_dir() as data_dir:
        base = Settings(
            data_dir=data_dir,
            api_port=free_port(),
            cors_origins=example_url,
            webhook_allow_private=True,
            multipart_threshold_bytes=MULTIPART_THRESHOLD,
            log_level="INFO",
        )
        ports = Ports(redis=free_port(), s3=free_port(), seaweed=free_port())
        services = EmbeddedServices(base, ports, persist=False)
        try:
            apps = AppProcesses(services.start(), tmp_path_factory.mktemp("logs"))
            apps.start()
            try:
                yield apps
            finally:
                apps.stop()
        finally:
            services.stop()


@pytest.fixture(scope="module")
async def example(build: NextExample, own_apps: AppProcesses, example_url: str) -> Example:
    """The README's steps: `npm run setup` (an account, a full API key, a webhook endpoint at
    the example), then the app built and started."""
    env = build.set_up(own_apps.base_url, example_url)
    try:
        build.wait_built()
    except RegistryUnreachable as offline:
        pytest.skip(str(offline))
    build.serve(int(example_url.rsplit(":", 1)[1]))

    async def answers() -> bool:
        assert not build.exited(), build.log("server")
        async with httpx.AsyncClient(timeout=5) as client:
            try:
                return (await client.get(example_url)).status_code == 200
            except httpx.TransportError:
                return False

    await until(answers, what="next start answers", within=60, interval=0.5)
    return Example(example_url, own_apps.base_url, env["REELAY_WEBHOOK_SECRET"], build)


@pytest.fixture
async def page(example: Example) -> AsyncIterator[Page]:
    async with chromium() as browser:
        context = await browser.new_context(base_url=example.url)
        opened = await context.new_page()
        errors: list[str] = []
        opened.on("pageerror", lambda error: errors.append(str(error)))
        await opened.goto("/")
        yield opened
        await context.close()
    assert errors == [], "the page's script threw"


@pytest.mark.parametrize("method", ["POST", "multipart"])
async def test_upload_follow_play_and_a_verified_webhook(
    page: Page, media_factory: MediaFactory, method: str
) -> None:
    if method == "POST":
        clip = media_factory.video(width=320, height=240, seconds=3)
    else:
        clip = media_factory.video(seconds=4, name="noisy.mp4", extra=NOISE)
        assert clip.stat().st_size > MULTIPART_THRESHOLD  # and S3 parts are at least 5 MiB: two
    await page.set_input_files("#file", str(clip))
    await page.click("button[type=submit]")
    await expect(page.locator("#phase")).to_have_attribute("data-upload", method)

    # The EventSource opens before the upload ends, so processing cannot slip by unseen.
    processing = page.locator("#events li[data-status='processing']").first
    await expect(processing).to_be_attached(timeout=JOB_DEADLINE * 1000)
    await expect(page.locator("#phase")).to_have_attribute(
        "data-phase", "completed", timeout=JOB_DEADLINE * 1000
    )
    playing = """() => {
        const video = document.querySelector('#player');
        return video && video.dataset.manifest === 'parsed' && video.currentTime > 0.5;
    }"""
    await page.wait_for_function(playing, timeout=60_000)

    # The webhook route only lists what it verified; the page reads that list back.
    media_id = await page.locator("#phase").get_attribute("data-media")
    webhooks = page.locator(f"#webhooks li[data-media='{media_id}']")
    completed = webhooks.and_(page.locator("[data-type='media.completed']"))
    await expect(completed).to_contain_text("example-user", timeout=60_000)
    await expect(webhooks.and_(page.locator("[data-type='media.queued']"))).to_have_count(1)
    await expect(page.locator("#rejected")).to_have_count(0)


async def test_the_webhook_route_refuses_what_reelay_did_not_sign(example: Example) -> None:
    body = b'{"id": "evt_forged", "type": "media.completed", "created_at": "", "data": {}}'
    now = int(time.time())
    async with httpx.AsyncClient(base_url=example.url, timeout=30) as client:

        async def deliver(header: str) -> httpx.Response:
            headers = {"Content-Type": "application/json", "Reelay-Signature": header}
            return await client.post("/api/webhooks", content=body, headers=headers)

        assert_problem(await deliver(signature_header("whsec_other", now, body)), 401, "match")
        stale = signature_header(example.webhook_secret, now - 3600, body)
        assert_problem(await deliver(stale), 401, "replay window")
        assert_problem(await deliver(f"t={now}"), 401, "match")
        signed = signature_header(example.webhook_secret, now, body)
        assert (await deliver(signed)).status_code == 204
        assert (await deliver(signed)).status_code == 204  # a retry: the same event id

        inbox = (await client.get("/api/webhooks")).json()
    forged = [entry for entry in inbox["received"] if entry["event_id"] == "evt_forged"]
    assert [entry["deliveries"] for entry in forged] == [2]
    assert len(inbox["rejected"]) >= 3


def test_the_committed_types_are_those_of_the_api(example: Example) -> None:
    # After the build: regenerating rewrites the file the type check reads.
    committed = (EXAMPLE_DIR / TYPES).read_text()
    generated = example.build.generated_types(example.reelay_url)
    # Shapes only: a reworded description changes no type, and should not fail this.
    assert without_comments(generated) == without_comments(committed), (
        f"the types in examples/nextjs/{TYPES} are not those of the API's OpenAPI document: "
        "run `npm run gen:types` in examples/nextjs against a reelay up of this checkout"
    )


def without_comments(source: str) -> list[str]:
    uncommented = re.sub(r"/\*.*?\*/", "", source, flags=re.DOTALL)
    return [line.strip() for line in uncommented.splitlines() if line.strip()]
