"""The API's common rules: the catalogue's error shape, roles on /queues, the OpenAPI document and
Swagger UI served without any CDN."""

from __future__ import annotations

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
