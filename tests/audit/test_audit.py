"""The audit log: rows written in the transaction of what they record, kept when their actor goes,
and read by administrators through `GET /api/v1/audit`, filtered and a page at a time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.audit import service as audit
from hotline.audit.models import AuditEntry
from hotline.users.models import User
from tests.api.harness import ApiHarness

AUDIT = "/api/v1/audit"


async def _user(api: ApiHarness, username: str) -> User:
    async with api.sessions() as session:
        return (await session.scalars(select(User).where(User.username == username))).one()


async def _record(
    session: AsyncSession,
    actor: User | None,
    object_id: str,
    *,
    action: str = "contact.read",
    object_type: str = "contact",
    details: dict[str, Any] | None = None,
) -> None:
    await audit.record(
        session=session,
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        ip="127.0.0.1" if actor is not None else None,
        details=details,
    )


async def _rows(api: ApiHarness) -> list[AuditEntry]:
    async with api.sessions() as session:
        return list((await session.scalars(select(AuditEntry).order_by(AuditEntry.id))).all())


async def test_signing_in_out_and_changing_password_are_audited_with_the_address(
    api: ApiHarness,
) -> None:
    async with api.signed_in("agent01", address="203.0.113.5") as client:
        await client.post(
            "/api/v1/auth/password",
            json={"current_password": "correct horse battery", "new_password": "new secret 1"},
        )
        await client.post("/api/v1/auth/logout")
    agent = await _user(api, "agent01")
    rows = await _rows(api)
    assert [(r.action, r.object_type, r.object_id) for r in rows] == [
        ("auth.login", "user", agent.id),
        ("auth.password_change", "user", agent.id),
        ("auth.logout", "user", agent.id),
    ]
    assert {(r.actor_id, r.actor_username, r.ip) for r in rows} == {
        (agent.id, "agent01", "203.0.113.5")
    }
    assert rows[0].at == datetime.fromtimestamp(api.clock.now(), UTC)


async def test_a_record_goes_with_its_transaction(api: ApiHarness) -> None:
    agent = await _user(api, "agent01")

    class Refused(Exception):
        pass

    async def change_that_fails() -> None:
        async with api.sessions() as session, session.begin():
            await _record(session, agent, "c1", action="contact.update")
            raise Refused

    with pytest.raises(Refused):
        await change_that_fails()
    assert await _rows(api) == []


async def test_a_row_outlives_its_actor_and_the_system_can_act(api: ApiHarness) -> None:
    agent = await _user(api, "agent01")
    async with api.sessions() as session, session.begin():
        await _record(session, agent, "c1", details={"fields": ["history"]})
        await _record(session, None, "city", action="ivr_flow.publish", object_type="line")
    async with api.sessions() as session, session.begin():
        await session.execute(delete(User).where(User.id == agent.id))
    first, second = await _rows(api)
    assert (first.actor_id, first.actor_username, first.details) == (
        None,
        "agent01",
        {"fields": ["history"]},
    )
    assert (second.actor_id, second.actor_username) == (None, None)


async def test_administrators_read_the_log_filtered_by_object_or_actor(api: ApiHarness) -> None:
    await api.add_user("root", roles=["admin"])
    agent, boss = await _user(api, "agent01"), await _user(api, "boss")
    async with api.sessions() as session, session.begin():
        for actor, contact in ((agent, "c1"), (boss, "c1"), (agent, "c2")):
            await _record(session, actor, contact)
    async with api.client() as anonymous:
        assert (await anonymous.get(AUDIT)).status_code == 401
    async with api.signed_in("root") as admin:
        by_object = await admin.get(AUDIT, params={"object_type": "contact", "object_id": "c1"})
        assert by_object.status_code == 200
        assert [(e["actor_username"], e["object_id"]) for e in by_object.json()["items"]] == [
            ("boss", "c1"),
            ("agent01", "c1"),
        ]
        by_actor = await admin.get(AUDIT, params={"actor": "agent01", "action": "contact.read"})
        assert [e["object_id"] for e in by_actor.json()["items"]] == ["c2", "c1"]
        everything = (await admin.get(AUDIT)).json()["items"]
        assert everything[0]["action"] == "auth.login"  # root's own sign-in, the newest
        assert everything[0]["actor_username"] == "root"
        bad = await admin.get(AUDIT, params={"limit": 0})
        assert bad.status_code == 422
        assert bad.json()["details"]["problems"][0]["loc"] == ["query", "limit"]


async def test_the_log_comes_a_page_at_a_time_newest_first(api: ApiHarness) -> None:
    await api.add_user("root", roles=["admin"])
    async with api.sessions() as session, session.begin():
        for number in range(5):
            await _record(session, None, f"q{number}", action="queue.publish", object_type="queue")
    async with api.signed_in("root") as admin:
        seen: list[str] = []
        params: dict[str, str | int] = {"object_type": "queue", "limit": 2}
        while True:
            page = (await admin.get(AUDIT, params=params)).json()
            seen += [e["object_id"] for e in page["items"]]
            if page["next_before"] is None:
                break
            params["before"] = page["next_before"]
    assert seen == ["q4", "q3", "q2", "q1", "q0"]
