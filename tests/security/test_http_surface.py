"""The HTTP surface, attacked as a browser on another site and as a careless client would:
cross-site posts riding the session cookie (login CSRF too), bodies and filenames the decoders
choke on, missing security headers, a docs page pulling third-party scripts, open /metrics and
/readyz telling what broke."""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

import httpx
import pytest
from reelay_api.app import create_app
from reelay_core.settings import Settings
from reelay_stack.ports import free_port

from tests.support.api_server import serve_app
from tests.support.client import Account, assert_problem, register
from tests.support.factories import create_media, from_bytes, media_body, streamed_form

EVIL = "https://evil.example"
UNICODE_NAMES = ["日本語.mp4", "😀 party.mp4", "café.mp4"]


async def victim(api: httpx.AsyncClient) -> Account:
    """A signed-in browser: the client's jar holds the session cookie."""
    account = await register(api)
    assert api.cookies.get("reelay_session"), "logging in set no session cookie"
    return account


async def items(api: httpx.AsyncClient, account: Account) -> list[dict[str, object]]:
    answer = await api.get("/videos", headers=account.headers)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["items"])


# -- CSRF ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", '{"filename": "clip.mp4", "content_type": "video/mp4", "size": 1024}'),
        ("application/x-www-form-urlencoded", "filename=clip.mp4&content_type=video/mp4&size=1"),
    ],
)
async def test_a_cross_site_post_riding_the_cookie_changes_nothing(
    api: httpx.AsyncClient, content_type: str, body: str
) -> None:
    account = await victim(api)
    # Another site, and another port of this very host (same-site: SameSite alone lets it pass).
    port = urlsplit(str(api.base_url)).port
    for origin in (EVIL, f"http://127.0.0.1:{port + 1 if port else 1}", "null"):
        answer = await api.post(
            "/videos", content=body, headers={"Content-Type": content_type, "Origin": origin}
        )
        assert assert_problem(answer, 403, "origin")["code"] == "bad_origin"
    assert await items(api, account) == []


async def test_a_cookie_request_without_origin_is_refused(api: httpx.AsyncClient) -> None:
    account = await victim(api)
    media = await create_media(api, account)

    answer = await api.post(f"/videos/{media['id']}/cancel")

    assert assert_problem(answer, 403)["code"] == "bad_origin"
    assert (await api.get(f"/videos/{media['id']}", headers=account.headers)).json()[
        "status"
    ] == "awaiting_upload"


async def test_the_cross_site_form_upload_is_refused(api: httpx.AsyncClient) -> None:
    account = await victim(api)
    headers, body = streamed_form(from_bytes(b"\0" * 1024))

    answer = await api.post("/videos/upload", content=body, headers={**headers, "Origin": EVIL})

    assert assert_problem(answer, 403)["code"] == "bad_origin"
    assert await items(api, account) == []


async def test_login_and_sign_up_from_another_site_are_refused(api: httpx.AsyncClient) -> None:
    attacker = await register(api)
    api.cookies.clear()
    form = {"email": attacker.email, "password": attacker.password}

    login = await api.post("/auth/token", data=form, headers={"Origin": EVIL})
    login_json = await api.post("/auth/token", json=form, headers={"Origin": EVIL})
    sign_up = await api.post(
        "/auth/register",
        json={"email": "planted@example.com", "password": "attacker's"},
        headers={"Origin": EVIL},
    )

    for answer in (login, login_json, sign_up):
        assert assert_problem(answer, 403)["code"] == "bad_origin"
        assert "set-cookie" not in answer.headers
    # The planted account does not exist: registering it now works.
    assert (
        await api.post(
            "/auth/register", json={"email": "planted@example.com", "password": "attacker's"}
        )
    ).status_code == 201


async def test_the_page_itself_still_works_with_the_cookie(api: httpx.AsyncClient) -> None:
    await victim(api)
    own = str(api.base_url).rstrip("/")

    created = await api.post("/videos", json=media_body(), headers={"Origin": own})
    # localhost for 127.0.0.1: the same server under another name, named by the Host it was sent to
    port = urlsplit(own).port
    as_localhost = await api.post(
        "/videos",
        json=media_body(),
        headers={"Origin": f"http://localhost:{port}", "Host": f"localhost:{port}"},
    )

    assert created.status_code == 201, created.text
    assert as_localhost.status_code == 201, as_localhost.text


async def test_an_allowed_origin_may_use_the_cookie(stack_settings: Settings) -> None:
    app_origin = "https://app.example"
    async with serve_app(
        stack_settings, allowed_origins=f" {app_origin} , https://x.example"
    ) as api:
        await victim(api)
        allowed = await api.post("/videos", json=media_body(), headers={"Origin": app_origin})
        other = await api.post("/videos", json=media_body(), headers={"Origin": EVIL})
    assert allowed.status_code == 201, allowed.text
    assert_problem(other, 403)


async def test_json_endpoints_take_only_json(api: httpx.AsyncClient) -> None:
    account = await register(api)
    own = {"Origin": str(api.base_url).rstrip("/")}
    body = '{"filename": "clip.mp4", "content_type": "video/mp4", "size": 1024}'

    for content_type in ("text/plain", "application/x-www-form-urlencoded", "application/xml"):
        answer = await api.post(
            "/videos", content=body, headers={**account.headers, "Content-Type": content_type}
        )
        assert assert_problem(answer, 415)["code"] == "unsupported_media_type"
    untyped = await api.post("/videos", content=body, headers=account.headers)
    assert assert_problem(untyped, 415)["code"] == "unsupported_media_type"
    latin1 = await api.post(
        "/videos",
        content=body,
        headers={**account.headers, "Content-Type": "application/json; charset=latin-1"},
    )
    assert_problem(latin1, 415)
    # Not even the cookie's own page gets around it.
    cookie_text = await api.post(
        "/videos", content=body, headers={**own, "Content-Type": "text/plain"}
    )
    assert_problem(cookie_text, 415)
    with_charset = await api.post(
        "/videos",
        content=body,
        headers={**account.headers, "Content-Type": "application/json; charset=UTF-8"},
    )
    assert with_charset.status_code == 201, with_charset.text
    assert len(await items(api, account)) == 1


async def test_the_session_cookie_is_same_site_strict(api: httpx.AsyncClient) -> None:
    account = await register(api)
    answer = await api.post(
        "/auth/token", json={"email": account.email, "password": account.password}
    )
    cookie = answer.headers["set-cookie"].lower()
    assert "samesite=strict" in cookie and "httponly" in cookie, cookie


# -- what the decoders choke on ----------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b'{"filename": "caf\xe9.mp4", "content_type": "video/mp4", "size": 1024}',  # latin-1
        b'{"filename": "\xed\xa0\x80.mp4", "content_type": "video/mp4", "size": 1024}',
        b'{"filename": "clip.mp4", "content_type": "video/mp4", "size": 1024',
        b'{"filename": "\\ud800.mp4", "content_type": "video/mp4", "size": 1024}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    ],
    ids=["latin-1", "surrogate-bytes", "truncated", "lone-surrogate-escape", "deep-list", "deep"],
)
async def test_a_body_that_is_not_json_is_a_400(api: httpx.AsyncClient, body: bytes) -> None:
    account = await register(api)
    json_type = {"Content-Type": "application/json"}

    for path, headers in (("/videos", account.headers), ("/auth/register", {})):
        answer = await api.post(path, content=body, headers={**headers, **json_type})
        assert assert_problem(answer, 400, "json")["code"] == "bad_json"


@pytest.mark.parametrize("filename", UNICODE_NAMES)
async def test_a_unicode_filename_survives_the_form_upload(
    api: httpx.AsyncClient, filename: str
) -> None:
    account = await register(api)
    headers, body = streamed_form(from_bytes(b"\0" * 1024), filename=filename)

    answer = await api.post("/videos/upload", content=body, headers={**headers, **account.headers})

    assert answer.status_code == 202, answer.text
    assert answer.json()["filename"] == filename
    await assert_shown_exactly(api, account, answer.json()["id"], filename)


async def test_rfc_5987_filename_wins_over_the_plain_one(api: httpx.AsyncClient) -> None:
    account = await register(api)
    boundary = "reelay-5987"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f"filename=\"fallback.mp4\"; filename*=UTF-8''{quote('日本語.mp4')}\r\n"
            "Content-Type: video/mp4\r\n\r\n"
        ).encode()
        + b"\0" * 1024
        + f"\r\n--{boundary}--\r\n".encode()
    )
    headers = {**account.headers, "Content-Type": f"multipart/form-data; boundary={boundary}"}

    answer = await api.post("/videos/upload", content=body, headers=headers)

    assert answer.status_code == 202, answer.text
    assert answer.json()["filename"] == "日本語.mp4"


async def test_a_filename_that_is_not_utf8_is_a_400(api: httpx.AsyncClient) -> None:
    account = await register(api)
    boundary = "reelay-latin1"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '.encode()
        + b'filename="caf\xe9.mp4"\r\nContent-Type: video/mp4\r\n\r\n'
        + b"\0" * 1024
        + f"\r\n--{boundary}--\r\n".encode()
    )
    headers = {**account.headers, "Content-Type": f"multipart/form-data; boundary={boundary}"}

    answer = await api.post("/videos/upload", content=body, headers=headers)

    assert assert_problem(answer, 400, "utf-8")["code"] == "bad_form"
    assert await items(api, account) == []


@pytest.mark.parametrize("filename", UNICODE_NAMES)
async def test_a_unicode_filename_survives_the_presigned_upload(
    api: httpx.AsyncClient, filename: str
) -> None:
    account = await register(api)
    media = await create_media(api, account, filename=filename)
    async with httpx.AsyncClient(timeout=60) as storage:
        stored = await storage.post(
            media["upload"]["url"],
            data=media["upload"]["fields"],
            files={"file": (filename, b"\0" * 1024)},
        )
    assert stored.status_code in (200, 204), stored.text
    done = await api.post(f"/videos/{media['id']}/complete", json={}, headers=account.headers)

    assert done.status_code == 202, done.text
    assert media["filename"] == done.json()["filename"] == filename
    await assert_shown_exactly(api, account, media["id"], filename)


async def assert_shown_exactly(
    api: httpx.AsyncClient, account: Account, media_id: str, filename: str
) -> None:
    """The item and its download name the file exactly as it was sent."""
    assert (await api.get(f"/videos/{media_id}", headers=account.headers)).json()[
        "filename"
    ] == filename
    redirect = await api.get(f"/videos/{media_id}/download", headers=account.headers)
    assert redirect.status_code == 307, redirect.text
    async with httpx.AsyncClient(timeout=60) as storage:
        download = await storage.get(redirect.headers["location"])
    assert download.status_code == 200, download.text
    disposition = download.headers["content-disposition"]
    assert f"filename*=UTF-8''{quote(filename)}" in disposition, disposition


# -- headers, docs, service endpoints --------------------------------------------------------


async def test_every_answer_carries_the_security_headers(api: httpx.AsyncClient) -> None:
    account = await register(api)
    answers = [
        await api.get("/healthz"),
        await api.get("/no/such/path"),
        await api.get("/videos", headers={"Authorization": "Bearer nonsense"}),
        await api.get("/videos", headers=account.headers),
        await api.get("/"),
        await api.get("/static/app.js"),
        await api.get("/schema"),
        await api.post("/videos", content="x", headers={"Content-Type": "text/plain"}),
    ]
    for answer in answers:
        where = f"{answer.request.method} {answer.request.url.path} ({answer.status_code})"
        assert answer.headers.get("x-content-type-options") == "nosniff", where
        assert answer.headers.get("referrer-policy") == "no-referrer", where
        assert answer.headers.get("x-frame-options") == "DENY", where
        assert "frame-ancestors 'none'" in answer.headers.get("content-security-policy", ""), where
    page_policy = answers[4].headers["content-security-policy"]
    assert "default-src 'self'" in page_policy and "script-src" not in page_policy, page_policy
    assert answers[3].headers["content-security-policy"].startswith("default-src 'none'")


async def test_the_docs_page_loads_nothing_from_another_host(api: httpx.AsyncClient) -> None:
    for path in ("/schema", "/schema/swagger"):
        page = await api.get(path)
        assert page.status_code == 200, page.text
        assert "default-src 'self'" in page.headers["content-security-policy"]
        references = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", page.text)
        assert references, "the docs page loads no script at all"
        for reference in references:
            assert urlsplit(reference).netloc == "", f"{path} loads {reference}"
            asset = await api.get(reference)
            assert asset.status_code == 200, reference
    bundle = await api.get("/schema/assets/swagger-ui-bundle.js")
    assert bundle.headers["content-type"].startswith(("application/javascript", "text/javascript"))


async def test_metrics_are_served_to_loopback_only_by_default(stack_settings: Settings) -> None:
    app = create_app(stack_settings)
    for peer, status in (("203.0.113.9", 403), ("10.0.0.2", 403), ("127.0.0.1", 200), ("::1", 200)):
        transport = httpx.ASGITransport(app=app, client=(peer, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            answer = await client.get("/metrics")
        assert answer.status_code == status, (peer, answer.text)
        if status == 403:
            assert assert_problem(answer, 403)["code"] == "metrics_local_only"
            assert "reelay_" not in answer.text


async def test_metrics_ask_for_the_token_when_one_is_set(stack_settings: Settings) -> None:
    async with serve_app(stack_settings, metrics_token="scrape-me-please") as api:
        missing = await api.get("/metrics")
        wrong = await api.get("/metrics", headers={"Authorization": "Bearer scrape-me-not"})
        right = await api.get("/metrics", headers={"Authorization": "Bearer scrape-me-please"})
    for answer in (missing, wrong):
        assert assert_problem(answer, 401)["code"] == "metrics_token_required"
    assert right.status_code == 200 and "# TYPE" in right.text


async def test_readyz_names_what_fails_and_nothing_more(stack_settings: Settings) -> None:
    closed = free_port()
    database = f"postgresql+asyncpg://reelay:hunter2@127.0.0.1:{closed}/reelay"
    async with serve_app(stack_settings, database_url=database) as api:
        answer = await api.get("/readyz")
    body = assert_problem(answer, 503, "postgres")
    assert body["failing"] == ["postgres"]
    assert str(closed) not in answer.text and "hunter2" not in answer.text
    assert not re.search(r"Error|Exception|refused|connect|\(", body["detail"]), body["detail"]
