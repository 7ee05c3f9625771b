"""The API reads no request body over `http_max_body_bytes` (8 MiB by default): a body that says
it is larger (Content-Length) and one that streams past the limit (chunked, no length) are both
refused with the catalogue's 413 `upload_too_large`, over a real loopback HTTP server, on any
route; a prompt recording just under the limit is still taken."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.app import HttpServer
from hotline.auth.service import CSRF_HEADER
from tests.admin.test_prompts import tone_wav
from tests.api.harness import PASSWORD, ApiHarness, build_harness

MIB = 1024 * 1024
LIMIT = 8 * MIB  # the default of `http_max_body_bytes`


@asynccontextmanager
async def served(harness: ApiHarness) -> AsyncIterator[str]:
    """The harness's API on a real HTTP server on 127.0.0.1; its base URL."""
    server = HttpServer(harness.api, host="127.0.0.1", port=0)
    await server.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        await server.stop()


def chunked(data: bytes, size: int = 256 * 1024) -> AsyncIterator[bytes]:
    """`data` as a stream with no Content-Length (sent with Transfer-Encoding: chunked)."""

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(data), size):
            yield data[start : start + size]

    return chunks()


def refused_as_too_large(answer: httpx.Response) -> bool:
    body = answer.json()
    return (answer.status_code, body["code"], body["details"]["limit"]) == (
        413,
        "upload_too_large",
        LIMIT,
    )


async def test_a_body_over_8_mib_is_refused_whether_declared_or_streamed(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    harness = await build_harness(sessions)
    too_big = b'{"username": "agent01", "password": "' + b"x" * LIMIT + b'"}'
    async with served(harness) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
        declared = await client.post(
            "/api/v1/auth/login", content=too_big, headers={"Content-Type": "application/json"}
        )
        streamed = await client.post(
            "/api/v1/auth/login",
            content=chunked(too_big),
            headers={"Content-Type": "application/json"},
        )
        # The connection still serves what comes next.
        fine = await client.post(
            "/api/v1/auth/login", json={"username": "agent01", "password": PASSWORD}
        )
    assert streamed.request.headers.get("transfer-encoding") == "chunked"
    assert "content-length" not in streamed.request.headers
    assert refused_as_too_large(declared), declared.text
    assert refused_as_too_large(streamed), streamed.text
    assert fine.status_code == 200


async def test_a_prompt_just_under_the_limit_is_taken_and_one_just_over_refused(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    harness = await build_harness(sessions, data_dir=tmp_path, prompts_dir=tmp_path / "prompts")
    await harness.add_user("root", roles=["admin"])
    under = tone_wav(seconds=262, channels=1)  # 16 kHz, 16 bit: 32,000 bytes a second
    over = tone_wav(seconds=263, channels=1)
    assert len(under) < LIMIT < len(over)
    async with served(harness) as base, httpx.AsyncClient(base_url=base, timeout=60) as root:
        signed_in = await root.post(
            "/api/v1/auth/login", json={"username": "root", "password": PASSWORD}
        )
        root.headers[CSRF_HEADER] = signed_in.json()["csrf_token"]
        answers: dict[str, httpx.Response] = {}
        for name, content in (
            ("under", under),
            ("under_streamed", chunked(under)),
            ("over", over),
            ("over_streamed", chunked(over)),
        ):
            answers[name] = await root.put(
                f"/api/v1/admin/prompts/{name}/audio",
                params={"filename": f"{name}.wav"},
                content=content,
                headers={"Content-Type": "audio/wav"},
            )
        listed = (await root.get("/api/v1/admin/prompts")).json()
    for name in ("under", "under_streamed"):
        assert answers[name].status_code == 200, answers[name].text
        assert answers[name].json()["duration"] == 262.0
    for name in ("over", "over_streamed"):
        assert refused_as_too_large(answers[name]), answers[name].text
    assert sorted(p["name"] for p in listed) == ["under", "under_streamed"]
