"""The `reelay` command against the real stack, run as a user runs it: a process, HTTP only."""

from __future__ import annotations

import re
import stat
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from reelay_cli.client.api import ReelayClient
from reelay_cli.client.config import Config
from reelay_cli.client.upload import ResumeState, put_part
from reelay_core.settings import Settings
from reelay_stack.ports import free_port

from tests.support.cli_runner import REELAY, Cli, Result
from tests.support.media import MediaFactory, probe
from tests.support.processes import AppProcesses
from tests.support.restarts import api_outage, stored_status, workers_paused
from tests.support.waits import JOB_DEADLINE, until

pytestmark = pytest.mark.e2e
PASSWORD = "correct horse battery"


@pytest.fixture
def cli(apps: AppProcesses, clean_state: None, tmp_path: Path) -> Cli:
    return Cli(tmp_path / "config")


@pytest.fixture
def user(cli: Cli, apps: AppProcesses) -> Cli:
    """A registered, logged-in CLI (the server comes from the saved login from here on)."""
    cli.ok(
        "register", "--server", apps.base_url, "--email", "cli@example.com", "--password", PASSWORD
    )
    return cli


def one_line_reason(stderr: str, status: int, words: str) -> bool:
    """The server's problem detail, on one line, with its HTTP status."""
    lines = stderr.strip().splitlines()
    return (
        len(lines) == 1
        and lines[0].startswith("reelay: ")
        and lines[0].endswith(f"(HTTP {status})")
        and words in lines[0]
    )


def test_login_saves_a_private_token_and_bad_credentials_give_one_line(
    cli: Cli, apps: AppProcesses
) -> None:
    cli.server = apps.base_url  # as REELAY_SERVER
    assert cli.run("ls").reason == f"reelay: not logged in to {apps.base_url}; run `reelay login`"
    cli.ok("register", "--email", "someone@example.com", "--password", PASSWORD)
    config = cli.config_dir / "config.json"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert stat.S_IMODE(cli.config_dir.stat().st_mode) == 0o700
    assert apps.base_url in config.read_text() and "someone@example.com" in config.read_text()

    wrong = cli.run("login", "--email", "someone@example.com", "--password", "not the password")
    assert wrong.code == 1 and one_line_reason(wrong.stderr, 401, "password")
    taken = cli.run("register", "--email", "someone@example.com", "--password", PASSWORD)
    assert taken.code == 1 and one_line_reason(taken.stderr, 409, "already registered")
    # Prompts when the options are missing.
    prompted = cli.run("login", input="someone@example.com\n" + PASSWORD + "\n")
    assert prompted.code == 0, prompted.stderr


def test_logout_revokes_the_token_at_the_server(
    user: Cli, apps: AppProcesses, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REELAY_CONFIG_DIR", str(user.config_dir))
    token = Config.load().sessions[apps.base_url].token
    assert httpx.get(f"{apps.base_url}/auth/me", headers=bearer(token)).status_code == 200
    assert "Logged out of" in user.ok("logout").stderr
    assert httpx.get(f"{apps.base_url}/auth/me", headers=bearer(token)).status_code == 401
    assert user.run("ls").reason.startswith("reelay: not logged in")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_upload_wait_watch_list_get_and_download_a_video(
    user: Cli, media_factory: MediaFactory, tmp_path: Path
) -> None:
    clip = media_factory.video(width=320, height=240, seconds=2)
    uploaded = user.ok("upload", clip, "--wait", "--json")
    media = uploaded.json()
    assert (
        media["status"] == "completed"
        and media["kind"] == "video"
        and media["filename"] == clip.name
    )
    assert "processing" in uploaded.stderr and "completed" in uploaded.stderr  # live status lines
    assert re.search(rf"{re.escape(clip.name)}: playable after \d+\.\d s", uploaded.stderr)

    watched = user.ok("watch", media["id"], "--json")
    assert watched.json()["id"] == media["id"]
    assert f"{clip.name}: playable" in watched.stderr
    assert [m["id"] for m in user.ok("ls", "--json").json()] == [media["id"]]
    assert user.ok("get", media["id"], "--json").json()["outputs"] == media["outputs"]

    mp4 = Path(user.ok("download", media["id"], "-o", tmp_path).stdout.strip())
    assert mp4.parent == tmp_path and mp4.name != clip.name, "never named like the upload"
    video = next(s for s in probe(mp4)["streams"] if s["codec_type"] == "video")
    assert (video["codec_name"], video["width"], video["height"]) == ("h264", 320, 240)
    source = user.ok("download", media["id"], "--rendition", "source", "-o", tmp_path)
    assert source.stdout.strip() == str(tmp_path / clip.name)
    assert (tmp_path / clip.name).read_bytes() == clip.read_bytes()
    again = user.run("download", media["id"], "--rendition", "source", "-o", tmp_path)
    assert again.code == 1 and "already exists" in again.reason


def test_a_file_that_is_not_a_video_fails_with_the_servers_reason(
    user: Cli, media_factory: MediaFactory
) -> None:
    bad = user.run("upload", media_factory.garbage(), "--wait", "--json")
    assert bad.code == 1
    media = bad.json()
    assert media["status"] == "failed"
    error = media["error"]
    assert bad.reason == f"reelay: corrupt.mp4 failed: {error['code']}: {error['message']}"
    assert error["code"] == "invalid_media"

    again = user.ok("retry", media["id"], "--json").json()
    assert again["status"] == "queued" and again["attempts"] == 2
    assert user.run("watch", media["id"]).code == 1
    waited = user.run("retry", media["id"], "--wait", "--json")
    assert waited.code == 1 and waited.reason.startswith("reelay: corrupt.mp4 failed: ")
    assert (waited.json()["status"], waited.json()["attempts"]) == ("failed", 3)


def test_images_go_to_images_and_job_control_reports_the_servers_refusals(
    user: Cli, media_factory: MediaFactory, apps: AppProcesses
) -> None:
    image = user.ok("upload", media_factory.image(width=640, height=480), "--wait", "--json").json()
    assert (image["kind"], image["status"]) == ("image", "completed")
    assert any(o["kind"] == "webp" for o in image["outputs"])

    refused = user.run("cancel", image["id"])
    assert refused.code == 1 and one_line_reason(refused.stderr, 409, "already completed")
    user.ok("rm", image["id"])
    gone = user.run("get", image["id"])
    assert (gone.code, gone.reason) == (1, f"reelay: no video or image with id {image['id']}")
    unsupported = user.run("upload", Path(__file__))
    assert unsupported.code == 1 and one_line_reason(unsupported.stderr, 415, ".py")


@pytest.fixture
def small_parts_api(
    stack_settings: Settings, apps: AppProcesses, tmp_path: Path
) -> Iterator[AppProcesses]:
    """A second API process that wants 5 MiB parts above 1 MiB (same database, Redis, storage)."""
    settings = stack_settings.model_copy(
        update={
            "api_port": free_port(),
            "multipart_threshold_bytes": 1024 * 1024,
            "multipart_part_bytes": 5 * 1024 * 1024,
        }
    )
    (tmp_path / "logs").mkdir()
    second = AppProcesses(settings, tmp_path / "logs")
    second.api.start()
    try:
        second.wait_ready()
        yield second
    finally:
        second.api.stop(grace=10)


def test_a_multipart_upload_resumes_where_it_was_interrupted(
    cli: Cli, small_parts_api: AppProcesses, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli.server = small_parts_api.base_url
    cli.ok("register", "--email", "parts@example.com", "--password", PASSWORD)
    big = tmp_path / "big.mp4"
    big.write_bytes(
        bytes(range(256)) * (6 * 1024 * 1024 // 256 + 17)
    )  # two parts: 5 MiB + the rest

    # What a first run leaves when it dies after storing part 1: its state file and one part.
    monkeypatch.setenv("REELAY_CONFIG_DIR", str(cli.config_dir))
    saved = Config.load()
    server = saved.resolve_server(cli.server)
    with ReelayClient.logged_in(saved, server) as api:
        created = api.create("videos", big.name, "video/mp4", big.stat().st_size)
    plan = created["upload"]
    assert plan["method"] == "multipart" and len(plan["parts"]) == 2
    state = ResumeState(
        server=server,
        path=str(big.resolve()),
        size=big.stat().st_size,
        mtime_ns=big.stat().st_mtime_ns,
        kind="videos",
        media_id=created["id"],
        part_size=plan["part_size"],
    )
    with httpx.Client() as storage, big.open("rb") as file:
        state.etags["1"] = put_part(
            storage, file, plan["parts"][0]["url"], state, 1, lambda n: None
        )
    state.save()

    run = cli.ok("upload", big, "--json")
    assert (
        "big.mp4: resuming an interrupted upload; 1 of 2 parts (5.24 MB of 6.3 MB) were "
        "already stored" in " ".join(run.stderr.split())
    )
    resumed = run.json()
    assert resumed["id"] == created["id"], "the same media item was finished, not a new one"
    assert resumed["status"] == "queued"
    assert not list((cli.config_dir / "uploads").iterdir()), (
        "the resume state is gone once complete"
    )
    copy = cli.ok("download", created["id"], "--rendition", "source", "-o", tmp_path / "copy.mp4")
    assert Path(copy.stdout.strip()).read_bytes() == big.read_bytes()


class Running:
    """A `reelay` command still running; its stderr lines are read as they come."""

    def __init__(self, cli: Cli, *args: str) -> None:
        self.process = subprocess.Popen(
            [str(REELAY), *args],
            env=cli.env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.stderr_lines: list[str] = []
        self.reader = threading.Thread(target=self.read_stderr, daemon=True)
        self.reader.start()

    def read_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.stderr_lines.append(line.strip())

    def said(self, words: str) -> bool:
        return any(words in line for line in self.stderr_lines)

    async def result(self) -> Result:
        await until(lambda: self.process.poll() is not None, what="the command to exit", within=120)
        self.reader.join(timeout=5)
        assert self.process.stdout is not None
        stdout = self.process.stdout.read()
        return Result(self.process.returncode, stdout, "\n".join(self.stderr_lines))


async def test_watch_rides_out_an_api_restart_and_misses_no_event(
    user: Cli, apps: AppProcesses, media_factory: MediaFactory
) -> None:
    clip = media_factory.video(width=320, height=240, seconds=2)
    with workers_paused(apps) as resume_workers:
        media = user.ok("upload", clip, "--json").json()
        watch = Running(user, "watch", media["id"], "--json")
        try:
            await until(lambda: watch.said(f"{clip.name}: queued"), what="watch following")
            with api_outage(apps) as outage:
                # Everything after `queued` happens while the API is down: only a replay from
                # the last event id seen can tell the watch about it.
                resume_workers()

                async def completed() -> bool:
                    return await stored_status(apps.settings, media["id"]) == "completed"

                await until(completed, what="processed meanwhile", within=JOB_DEADLINE)
                outage.answer_unavailable()
                await until(
                    lambda: outage.unavailable_answers, what="a reconnect answered 503", within=60
                )
            done = await watch.result()
        finally:
            watch.process.kill()

    assert done.code == 0, done.stderr
    assert done.json()["status"] == "completed"
    said = [line.removeprefix(f"{clip.name}: ").split(" ")[0] for line in done.stderr.splitlines()]
    told = [word for word in said if word in ("queued", "processing", "completed")]
    assert told == ["queued", "processing", "completed"], done.stderr
    assert said.count("reconnecting…") == 1, done.stderr
    assert said.index("queued") < said.index("reconnecting…") < said.index("reconnected")
    assert said.index("reconnected") < said.index("processing"), "told after it was back"
