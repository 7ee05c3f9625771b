"""The API's common rules: the catalogue's error shape, roles on /queues, a public health check, the
OpenAPI document and Swagger UI served without any CDN, and the session in WebSocket routes."""

from __future__ import annotations

import re

import pytest
from fastapi import WebSocket

from hotline.api.deps import CurrentUser
from hotline.app import HttpServer
from tests.api.harness import ApiHarness


async def test_queues_needs_a_signed_in_agent_or_supervisor(api: ApiHarness) -> None:
    await api.add_user("admin1", roles=["admin"])
    async with api.client() as anonymous:
        answer = await anonymous.get("/api/v1/queues")
        assert answer.status_code == 401
        assert answer.json()["code"] == "not_signed_in"
    async with api.signed_in("admin1") as admin:
        answer = await admin.get("/api/v1/queues")
        assert answer.status_code == 403
        assert answer.json()["code"] == "forbidden"
    for username in ("agent01", "boss"):
        async with api.signed_in(username) as client:
            answer = await client.get("/api/v1/queues")
            assert answer.status_code == 200
            assert [q["queue_id"] for q in answer.json()["queues"]] == ["medical", "overflow"]


async def test_health_answers_without_signing_in(api: ApiHarness) -> None:
    async with api.client() as anonymous:
        answer = await anonymous.get("/api/v1/health")
    assert answer.status_code == 200
    assert (answer.json()["status"], answer.json()["database"]) == ("ok", "ok")


async def test_an_unknown_path_answers_the_catalogues_shape(api: ApiHarness) -> None:
    async with api.client() as client:
        answer = await client.get("/api/v1/nothing")
    assert answer.status_code == 404
    assert answer.json() == {
        "code": "not_found",
        "message": "no such resource",
        "details": {"path": "/api/v1/nothing"},
    }


async def test_the_openapi_document_describes_the_sign_in_routes(api: ApiHarness) -> None:
    async with api.client() as client:
        document = (await client.get("/api/v1/openapi.json")).json()
    assert {"/api/v1/auth/login", "/api/v1/auth/me", "/api/v1/audit"} <= set(document["paths"])
    login = document["paths"]["/api/v1/auth/login"]["post"]
    assert login["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/LoginIn"
    )


async def test_swagger_ui_loads_every_file_from_this_server(api: ApiHarness) -> None:
    async with api.client() as client:
        page = await client.get("/api/v1/docs")
        assert page.status_code == 200
        links = re.findall(r'(?:src|href|url)[=:]\s*"([^"]+)"', page.text)
        assert links
        assert not [link for link in links if not link.startswith("/api/v1/")]
        for link in links:
            assert (await client.get(link)).status_code == 200, link
        assert (await client.get("/api/v1/docs/secrets.txt")).status_code == 404
        assert (await client.get("/api/v1/docs/..%2F..%2Fapp.py")).status_code == 404


async def test_a_websocket_knows_its_user_by_cookie_and_refuses_other_sites_pages(
    api: ApiHarness,
) -> None:
    websockets = pytest.importorskip("websockets")

    async def whoami(websocket: WebSocket, user: CurrentUser) -> None:
        await websocket.accept()
        await websocket.send_text(user.username)
        await websocket.close()

    api.api.add_api_websocket_route("/api/v1/test/whoami", whoami)
    server = HttpServer(api.api, host="127.0.0.1", port=0)
    await server.start()
    try:
        url = f"ws://127.0.0.1:{server.port}/api/v1/test/whoami"
        async with api.signed_in("agent01") as client:
            cookie = f"hotline_session={client.cookies['hotline_session']}"
        async with websockets.connect(url, additional_headers={"Cookie": cookie}) as socket:
            assert await socket.recv() == "agent01"
        with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
            async with websockets.connect(url) as socket:
                await socket.recv()
        assert closed.value.rcvd is not None
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4401, "not_signed_in")
        own = f"http://127.0.0.1:{server.port}"
        async with websockets.connect(
            url, additional_headers={"Cookie": cookie}, origin=own
        ) as socket:
            assert await socket.recv() == "agent01"
        with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
            async with websockets.connect(
                url, additional_headers={"Cookie": cookie}, origin="http://evil.example"
            ) as socket:
                await socket.recv()
        assert closed.value.rcvd is not None
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4403, "csrf_failed")
    finally:
        await server.stop()
