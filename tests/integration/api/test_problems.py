"""Every error is RFC 9457 problem details, and /schema documents every endpoint with examples."""

from __future__ import annotations

import base64
import uuid

import httpx

from tests.support.client import Account, assert_problem
from tests.support.factories import media_body


async def test_router_errors_are_problem_details(api: httpx.AsyncClient, alice: Account) -> None:
    assert_problem(await api.get("/nothing-here", headers=alice.headers), 404, "no resource")
    assert_problem(await api.get("/videos/not-a-uuid", headers=alice.headers), 404)
    assert_problem(await api.put("/videos", headers=alice.headers), 405, "not allowed")
    assert_problem(
        await api.patch("/images/00000000-0000-0000-0000-000000000000", headers=alice.headers), 405
    )


async def test_validation_errors_name_the_field(api: httpx.AsyncClient, alice: Account) -> None:
    missing = await api.post("/videos", json={"filename": "clip.mp4"}, headers=alice.headers)
    body = assert_problem(missing, 422, "content_type", "size")
    assert {e["key"] for e in body["errors"]} == {"content_type", "size"}

    negative = await api.post("/videos", json=media_body(size=-1), headers=alice.headers)
    assert_problem(negative, 422, "size", "greater than 0")
    assert_problem(
        await api.get("/videos", params={"limit": 101}, headers=alice.headers), 422, "limit", "100"
    )
    assert_problem(
        await api.get("/videos", params={"status": "sleeping"}, headers=alice.headers),
        422,
        "status",
    )
    assert_problem(
        await api.get("/videos", params={"cursor": "bm9wZQ"}, headers=alice.headers), 422, "cursor"
    )

    forged = base64.urlsafe_b64encode(f"0001-01-01T00:00:00+14:00|{uuid.uuid4()}".encode())
    assert_problem(
        await api.get("/videos", params={"cursor": forged.decode()}, headers=alice.headers),
        422,
        "cursor",
    )
    nul = await api.post("/videos", json=media_body(filename="a\u0000.mp4"), headers=alice.headers)
    assert_problem(nul, 422, "filename")

    malformed = await api.post(
        "/videos",
        content=b"{not json",
        headers={**alice.headers, "Content-Type": "application/json"},
    )
    assert_problem(malformed, 400, "json")


async def test_unknown_ids_are_404_problems(api: httpx.AsyncClient, alice: Account) -> None:
    unknown = "/videos/6f1c0b1e-2d4a-4f7e-9a51-0c8f8e4b7c11"
    for method, path in [
        ("GET", unknown),
        ("DELETE", unknown),
        ("POST", f"{unknown}/complete"),
        ("POST", f"{unknown}/cancel"),
        ("GET", f"{unknown}/download"),
    ]:
        assert_problem(await api.request(method, path, headers=alice.headers), 404, "no video")


async def test_openapi_documents_every_endpoint_with_examples(api: httpx.AsyncClient) -> None:
    answer = await api.get("/schema/openapi.json")
    assert answer.status_code == 200
    schema = answer.json()
    paths = schema["paths"]
    for kind in ("videos", "images"):
        expected = {
            f"/{kind}": {"get", "post"},
            f"/{kind}/upload": {"post"},
            f"/{kind}/{{media_id}}": {"get", "delete"},
            f"/{kind}/{{media_id}}/complete": {"post"},
            f"/{kind}/{{media_id}}/parts": {"post"},
            f"/{kind}/{{media_id}}/events": {"get"},
            f"/{kind}/{{media_id}}/download": {"get"},
            f"/{kind}/{{media_id}}/hls/{{playlist}}": {"get"},
            f"/{kind}/{{media_id}}/cancel": {"post"},
            f"/{kind}/{{media_id}}/retry": {"post"},
        }
        for path, methods in expected.items():
            assert methods <= set(paths[path]), path
    for path in ("/auth/register", "/auth/token", "/auth/me", "/healthz", "/readyz", "/metrics"):
        assert path in paths

    create = paths["/videos"]["post"]
    assert create["responses"]["201"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/MediaCreated"
    )
    problem = create["responses"]["415"]["content"]["application/problem+json"]
    assert problem["schema"]["$ref"].endswith("/ProblemDetails") and problem["examples"]
    upload = paths["/videos/upload"]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert upload["schema"]["properties"]["file"]["format"] == "binary"

    components = schema["components"]["schemas"]
    assert components["CreateMedia"]["properties"]["filename"]["examples"] == ["clip.mp4"]
    assert components["MediaOut"]["properties"]["progress"]["examples"] == [42.5]
