"""The script and form routes of the agent desktop, on both databases through the API harness:
who may use them (the contact's agent, a supervisor; not another agent, nor an administrator),
audit rows, a stale draft answered 409 with the current version, field-level problems on submit,
and free text stored and returned as data, verbatim."""

from __future__ import annotations

from typing import Any

import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.audit.models import AuditEntry
from hotline.auth.service import CSRF_HEADER
from hotline.config.loader import parse_config
from hotline.config.service import import_config
from hotline.users.models import User
from tests.api.harness import CHEAP, PASSWORD, ApiHarness, build_harness
from tests.scripts.factories import SCRIPTED, answered_contact

INJECTED = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest_asyncio.fixture(loop_scope="function")
async def api(sessions: async_sessionmaker[AsyncSession]) -> ApiHarness:
    """The browser API on each database, with SCRIPTED configured and a second agent."""
    async with sessions() as session:
        await import_config(
            session=session,
            config=parse_config(SCRIPTED),
            passwords={"agent01": PASSWORD, "boss": PASSWORD},
            password_cost=CHEAP,
        )
    harness = await build_harness(sessions, configure=False)
    await harness.add_user("agent02")
    await harness.add_user("admin1", roles=["admin"])
    return harness


async def _contact(api: ApiHarness, username: str = "agent01", **attributes: str) -> str:
    async with api.sessions() as session:
        user_id = (await session.scalars(select(User.id).where(User.username == username))).one()
    async with api.sessions() as session:
        return await answered_contact(
            session, agent_id=user_id, attributes=attributes or {"topic": "medical"}
        )


def _url(contact_id: str, what: str) -> str:
    return f"/api/v1/contacts/{contact_id}/{what}"


async def _audit(api: ApiHarness, contact_id: str) -> list[tuple[str, str | None, str | None]]:
    async with api.sessions() as session:
        rows = await session.scalars(
            select(AuditEntry).where(AuditEntry.object_id == contact_id).order_by(AuditEntry.id)
        )
        return [(r.action, r.actor_username, r.ip) for r in rows]


async def test_the_contacts_agent_reads_its_script_and_form_and_the_read_is_audited(
    api: ApiHarness,
) -> None:
    contact_id = await _contact(api)
    async with api.signed_in("agent01", address="127.0.0.5") as agent:
        answer = await agent.get(_url(contact_id, "script-form"))
    assert answer.status_code == 200
    body = answer.json()
    assert (body["topic"], body["language"]) == ("medical", "ru")
    assert (body["script"]["id"], body["script"]["version"], body["script"]["start"]) == (
        "triage_ru",
        1,
        "greet",
    )
    assert [s["id"] for s in body["script"]["steps"]] == [
        "greet",
        "danger",
        "ambulance",
        "name",
        "bye",
    ]
    assert body["script_state"]["current"] == "danger"
    assert body["script_state"]["path"] == [
        {"step": "greet", "answer": None},
        {"step": "danger", "answer": None},
    ]
    assert body["form"]["schema"]["required"] == ["age", "address"]
    assert body["form"]["ui_schema"] == {"notes": {"ui:widget": "textarea"}}
    assert body["draft"] == {
        "version": 0,
        "form_version": 1,
        "status": "new",
        "data": {},
        "updated_at": None,
        "updated_by": None,
        "submitted_at": None,
    }
    assert await _audit(api, contact_id) == [("contact.read", "agent01", "127.0.0.5")]


async def test_another_agent_is_refused_and_the_refusal_is_audited(api: ApiHarness) -> None:
    contact_id = await _contact(api)
    async with api.signed_in("agent02") as other:
        reads = await other.get(_url(contact_id, "script-form"))
        saves = await other.put(
            _url(contact_id, "form-draft"), json={"base_version": 0, "data": {"age": 1}}
        )
        answers = await other.put(
            _url(contact_id, "script-answers"), json={"step": "danger", "answer": "no"}
        )
    for refused in (reads, saves, answers):
        assert refused.status_code == 403
        assert refused.json()["code"] == "forbidden"
    assert [action for action, _, _ in await _audit(api, contact_id)] == ["contact.read_denied"] * 3
    async with api.signed_in("agent01") as agent:
        assert (await agent.get(_url(contact_id, "script-form"))).json()["draft"]["version"] == 0


async def test_a_supervisor_may_and_an_administrator_or_a_stranger_may_not(
    api: ApiHarness,
) -> None:
    contact_id = await _contact(api)
    async with api.signed_in("boss") as boss:
        assert (await boss.get(_url(contact_id, "script-form"))).status_code == 200
    async with api.signed_in("admin1") as admin:
        answer = await admin.get(_url(contact_id, "script-form"))
        assert (answer.status_code, answer.json()["code"]) == (403, "forbidden")
    async with api.client() as anonymous:
        answer = await anonymous.get(_url(contact_id, "script-form"))
        assert (answer.status_code, answer.json()["code"]) == (401, "not_signed_in")
    async with api.signed_in("agent01") as agent:
        answer = await agent.get(_url("0" * 32, "script-form"))
        assert (answer.status_code, answer.json()["code"]) == (404, "not_found")


async def test_script_answers_are_saved_as_given_and_free_text_comes_back_verbatim(
    api: ApiHarness,
) -> None:
    contact_id = await _contact(api)
    async with api.signed_in("agent01") as agent:
        first = await agent.put(
            _url(contact_id, "script-answers"),
            json={"step": "danger", "answer": "no", "script_id": "triage_ru"},
        )
        assert first.status_code == 200
        assert first.json()["current"] == "name"
        second = await agent.put(
            _url(contact_id, "script-answers"), json={"step": "name", "answer": INJECTED}
        )
        assert second.json()["done"] is True
        assert second.json()["updated_by"] == "agent01"
        reloaded = await agent.get(_url(contact_id, "script-form"))
        bad = await agent.put(
            _url(contact_id, "script-answers"), json={"step": "danger", "answer": "maybe"}
        )
        moved = await agent.put(
            _url(contact_id, "script-answers"),
            json={"step": "danger", "answer": "no", "script_id": "triage_en"},
        )
    assert reloaded.headers["content-type"] == "application/json"
    assert reloaded.json()["script_state"]["answers"] == {"danger": "no", "name": INJECTED}
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_input")
    assert bad.json()["details"]["problems"] == [
        {"loc": ["answer"], "message": "expected one of: yes, no"}
    ]
    assert (moved.status_code, moved.json()["details"]) == (409, {"script_id": "triage_ru"})
    actions = [action for action, _, _ in await _audit(api, contact_id)]
    assert actions.count("contact_script.answered") == 2


async def test_a_draft_saved_against_a_stale_version_is_refused_with_the_current_one(
    api: ApiHarness,
) -> None:
    contact_id = await _contact(api)
    draft: dict[str, Any] = {"age": 70, "notes": INJECTED}
    async with api.signed_in("agent01") as agent, api.signed_in("boss") as boss:
        saved = await agent.put(
            _url(contact_id, "form-draft"),
            json={"base_version": 0, "data": draft, "form_id": "triage_ru"},
        )
        assert saved.status_code == 200
        assert (saved.json()["version"], saved.json()["status"]) == (1, "draft")
        # The supervisor, on the same version, saves first.
        theirs = await boss.put(
            _url(contact_id, "form-draft"), json={"base_version": 1, "data": {"age": 71}}
        )
        assert theirs.json()["version"] == 2
        stale = await agent.put(
            _url(contact_id, "form-draft"), json={"base_version": 1, "data": {"age": 72}}
        )
        kept = await agent.get(_url(contact_id, "script-form"))
        # "Keep mine": save again, based on the version the refusal named.
        mine = await agent.put(
            _url(contact_id, "form-draft"),
            json={"base_version": stale.json()["details"]["current_version"], "data": draft},
        )
    assert stale.status_code == 409
    assert stale.json()["code"] == "stale_version"
    assert stale.json()["details"]["current_version"] == 2
    assert stale.json()["details"]["updated_by"] == "boss"
    assert "boss" in stale.json()["message"]
    assert kept.json()["draft"]["data"] == {"age": 71}
    assert (mine.status_code, mine.json()["version"], mine.json()["data"]) == (200, 3, draft)
    assert [a for a, _, _ in await _audit(api, contact_id) if a.startswith("contact_form")] == [
        "contact_form.draft_saved"
    ] * 3


async def test_submitting_checks_each_field_then_stores_the_form(api: ApiHarness) -> None:
    contact_id = await _contact(api)
    async with api.signed_in("agent01") as agent:
        invalid = await agent.post(
            _url(contact_id, "form"), json={"base_version": 0, "data": {"age": "old"}}
        )
        valid = await agent.post(
            _url(contact_id, "form"),
            json={"base_version": 0, "data": {"age": 70, "address": INJECTED}},
        )
        reloaded = await agent.get(_url(contact_id, "script-form"))
    assert (invalid.status_code, invalid.json()["code"]) == (422, "invalid_input")
    assert invalid.json()["details"]["problems"] == [
        {"loc": ["data", "address"], "message": "field required"},
        {"loc": ["data", "age"], "message": "expected a whole number"},
    ]
    assert valid.status_code == 200
    assert (valid.json()["status"], valid.json()["version"]) == ("submitted", 1)
    assert valid.json()["submitted_at"] is not None
    assert reloaded.json()["draft"]["data"] == {"age": 70, "address": INJECTED}


async def test_bodies_are_checked_and_changes_need_the_csrf_token(api: ApiHarness) -> None:
    contact_id = await _contact(api)
    async with api.signed_in("agent01") as agent:
        unknown = await agent.put(
            _url(contact_id, "form-draft"), json={"base_version": -1, "data": {}, "extra": 1}
        )
        del agent.headers[CSRF_HEADER]
        forged = await agent.put(
            _url(contact_id, "form-draft"), json={"base_version": 0, "data": {}}
        )
    assert unknown.status_code == 422
    assert sorted(p["loc"][-1] for p in unknown.json()["details"]["problems"]) == [
        "base_version",
        "extra",
    ]
    assert (forged.status_code, forged.json()["code"]) == (403, "csrf_failed")


async def test_the_openapi_document_describes_the_routes(api: ApiHarness) -> None:
    async with api.client() as client:
        paths = (await client.get("/api/v1/openapi.json")).json()["paths"]
    base = "/api/v1/contacts/{contact_id}"
    assert {
        f"{base}/script-form",
        f"{base}/form-draft",
        f"{base}/form",
        f"{base}/script-answers",
    } <= set(paths)
