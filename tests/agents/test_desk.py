"""The agent desktop on each database, through the API harness with a live router: states set
there reach the router, ready needs a phone that can ring, the screen pop only for an agent the
contact concerns (audited, refused reads too), wrap-up written to the contact, the softphone
refused plainly while it has no media, and call control answering when there is no call."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import select

from hotline.agents.service import AgentDesk
from hotline.audit.models import AuditEntry
from hotline.calls.events import IvrCompleted
from hotline.contacts.models import Contact, ContactEvent
from hotline.contacts.service import append_event, create_contact
from hotline.lines.models import Line
from hotline.routing.service import agent_skills
from hotline.routing.types import AgentState
from hotline.users.models import AgentStateRecord, User
from tests.api.harness import ApiHarness

CALLER = "+79990001122"
SCRIPT = "<script>alert(1)</script>"


async def _user_id(api: ApiHarness, username: str) -> str:
    async with api.sessions() as session:
        return str((await session.scalars(select(User.id).where(User.username == username))).one())


def _state(api: ApiHarness, agent_id: str) -> tuple[AgentState, str | None]:
    agent = api.live.routing.engine.agent(agent_id)
    return agent.state, agent.reason


async def _ready_on_the_router(api: ApiHarness, username: str) -> str:
    """Logged in ready the way a phone's registration logs an agent in."""
    agent_id = await _user_id(api, username)
    async with api.sessions() as session:
        skills = await agent_skills(session=session, user_id=agent_id)
    await api.live.routing.login(agent_id, skills, ready=True)
    return agent_id


async def _contact(
    api: ApiHarness, *, caller: str | None = CALLER, attributes: dict[str, Any] | None = None
) -> str:
    async with api.sessions() as session, session.begin():
        contact = await create_contact(
            session=session, line_id="city", caller_number=caller, attributes=attributes
        )
        await append_event(
            session=session,
            contact_id=contact.id,
            event=IvrCompleted(
                flow="Test line",
                path=[
                    {"step": "menu", "at": 0.0, "outcome": "chosen", "input": "1"},
                    {"step": "to_medical", "at": 1.0, "outcome": "enqueued", "input": None},
                ],
                attributes=attributes or {},
                outcome="enqueue",
                ended_by="flow",
            ),
        )
        return contact.id


async def _answered(api: ApiHarness, contact_id: str, *, waited: float = 12.0) -> None:
    routing = api.live.routing
    await routing.arrive(contact_id, "medical")
    api.clock.advance(waited)
    await routing.answer(contact_id)


async def _audit(api: ApiHarness, action: str) -> list[AuditEntry]:
    async with api.sessions() as session:
        rows = await session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        )
        return list(rows.all())


async def test_a_state_chosen_on_the_desktop_logs_the_agent_in_and_out_of_the_router(
    api: ApiHarness, desk: AgentDesk
) -> None:
    agent_id = await _user_id(api, "agent01")
    async with api.signed_in("agent01") as client:
        answer = await client.post("/api/v1/agent/state", json={"state": "not_ready"})
        assert answer.status_code == 200, answer.text
        assert _state(api, agent_id) == (AgentState.NOT_READY, "login")
        answer = await client.post(
            "/api/v1/agent/state", json={"state": "not_ready", "reason": "training"}
        )
        body = answer.json()
        assert (body["state"], body["reason"], body["since"]) == (
            "not_ready",
            "training",
            api.clock.now(),
        )
        assert _state(api, agent_id) == (AgentState.NOT_READY, "training")
        assert [q["id"] for q in body["queues"]] == ["medical", "overflow"]
        assert (body["phone"], body["reachable"], body["contact"]) == ("sip", False, None)

        answer = await client.post("/api/v1/agent/state", json={"state": "logged_out"})
        assert answer.json()["state"] == "offline"
        assert _state(api, agent_id)[0] is AgentState.OFFLINE
    async with api.sessions() as session:
        history = await session.scalars(
            select(AgentStateRecord.state)
            .where(AgentStateRecord.user_id == agent_id)
            .order_by(AgentStateRecord.id)
        )
        assert list(history) == ["not_ready", "not_ready", "offline"]


async def test_ready_is_refused_while_the_chosen_phone_cannot_ring(
    api: ApiHarness, desk: AgentDesk
) -> None:
    agent_id = await _user_id(api, "agent01")
    async with api.signed_in("agent01") as client:
        answer = await client.post("/api/v1/agent/state", json={"state": "ready"})
        assert answer.status_code == 409
        assert answer.json()["code"] == "phone_unreachable"
        assert answer.json()["details"] == {"phone": "sip"}
    assert agent_id not in {a.agent_id for a in api.live.routing.engine.agents()}


async def test_a_ready_agent_who_picks_a_phone_that_cannot_ring_is_no_longer_offered_calls(
    api: ApiHarness, desk: AgentDesk
) -> None:
    agent_id = await _ready_on_the_router(api, "agent01")
    async with api.signed_in("agent01") as client:
        answer = await client.post("/api/v1/agent/phone", json={"phone": "webrtc"})
        assert answer.json() == {"phone": "webrtc", "reachable": False}
        assert _state(api, agent_id) == (AgentState.NOT_READY, "phone_unreachable")
        assert (await client.get("/api/v1/agent/me")).json()["phone"] == "webrtc"
        refused = await client.post("/api/v1/agent/phone", json={"phone": "fax"})
        assert refused.status_code == 422
        assert refused.json()["details"]["problems"][0]["loc"] == ["body", "phone"]


async def test_the_softphone_is_refused_plainly_while_the_server_has_no_browser_media(
    api: ApiHarness, desk: AgentDesk
) -> None:
    async with api.signed_in("agent01") as client:
        await client.post("/api/v1/agent/phone", json={"phone": "webrtc"})
        opened = await client.post("/api/v1/agent/softphone", json={"sdp": "v=0\r\n"})
        assert opened.status_code == 503
        assert opened.json()["code"] == "softphone_unavailable"
        accepted = await client.post("/api/v1/agent/offer/accept")
        assert accepted.status_code == 409
        assert accepted.json()["code"] == "no_offer"
        assert (await client.delete("/api/v1/agent/softphone")).status_code == 204
        assert (await client.post("/api/v1/agent/state", json={"state": "ready"})).json()[
            "code"
        ] == "phone_unreachable"


async def test_call_control_without_a_call_answers_not_on_call(
    api: ApiHarness, desk: AgentDesk
) -> None:
    async with api.signed_in("agent01") as client:
        for action in ("hangup", "hold", "resume", "transfer/complete", "transfer/cancel"):
            answer = await client.post(f"/api/v1/agent/call/{action}")
            assert answer.status_code == 409, action
            assert answer.json()["code"] == "not_on_call", action
        answer = await client.post(
            "/api/v1/agent/call/transfer", json={"mode": "blind", "target": "queue:overflow"}
        )
        assert answer.json()["code"] == "not_on_call"
        bad = await client.post("/api/v1/agent/call/digits", json={"digits": "12x"})
        assert bad.status_code == 422
        bad = await client.post(
            "/api/v1/agent/call/transfer", json={"mode": "blind", "target": "somewhere"}
        )
        assert bad.status_code == 422


async def test_only_those_who_answer_contacts_use_the_desktop(
    api: ApiHarness, desk: AgentDesk
) -> None:
    await api.add_user("admin1", roles=["admin"])
    async with api.signed_in("boss") as supervisor, api.signed_in("admin1") as admin:
        for client in (supervisor, admin):
            answer = await client.get("/api/v1/agent/me")
            assert answer.status_code == 403
            assert answer.json()["code"] == "forbidden"
        contact_id = await _contact(api)
        assert (await admin.get(f"/api/v1/contacts/{contact_id}")).status_code == 403
    async with api.client() as anonymous:
        assert (await anonymous.get("/api/v1/agent/me")).status_code == 401


async def test_an_agent_reads_the_pop_of_their_contact_but_not_another_agents_and_reads_are_audited(
    api: ApiHarness, desk: AgentDesk
) -> None:
    await api.add_user("agent02")
    agent_id = await _ready_on_the_router(api, "agent01")
    earlier = await _contact(api, attributes={"topic": "vaccination"})
    async with api.sessions() as session, session.begin():
        row = await session.get(Contact, earlier)
        assert row is not None
        row.state, row.outcome = "ended", "abandoned"
    api.clock.advance(60)
    other = await _contact(api, caller="+79995550000")
    api.clock.advance(60)
    contact_id = await _contact(api, attributes={"topic": SCRIPT})
    await _answered(api, contact_id, waited=12.0)

    async with (
        api.signed_in("agent01") as agent01,
        api.signed_in("agent02", address="198.51.100.7") as agent02,
        api.signed_in("boss") as supervisor,
    ):
        refused = await agent02.get(f"/api/v1/contacts/{contact_id}")
        assert refused.status_code == 403
        assert refused.json()["code"] == "forbidden"
        assert (await agent01.get(f"/api/v1/contacts/{other}")).status_code == 403
        assert (await agent01.get("/api/v1/contacts/no-such-contact")).status_code == 404

        answer = await agent01.get(f"/api/v1/contacts/{contact_id}")
        assert answer.status_code == 200, answer.text
        pop = answer.json()
        assert pop["id"] == contact_id
        assert pop["caller"] == {"number": CALLER}
        assert (pop["line"], pop["line_id"]) == ("City line", "city")
        assert (pop["queue"], pop["queue_id"]) == ("Medical help", "medical")
        assert pop["topic"] == SCRIPT  # as data: the browser escapes it
        assert pop["ivr_path"] == ["menu=1", "to_medical"]
        assert pop["waited"] == 12.0
        assert (pop["callback"], pop["state"], pop["requests"]) == (False, "connected", [])
        assert [(h["id"], h["topic"], h["outcome"]) for h in pop["history"]] == [
            (earlier, "vaccination", "abandoned")
        ]

        me = (await agent01.get("/api/v1/agent/me")).json()
        assert (me["state"], me["contact"]["id"]) == ("busy", contact_id)
        assert (await supervisor.get(f"/api/v1/contacts/{contact_id}")).status_code == 200

    reads = await _audit(api, "contact.read")
    assert [(r.actor_username, r.object_id, r.details["via"]) for r in reads] == [
        ("agent01", contact_id, "contact"),
        ("agent01", contact_id, "agent.me"),
        ("boss", contact_id, "contact"),
    ]
    assert reads[0].ip == "127.0.0.1"
    assert reads[0].actor_id == agent_id
    denied = await _audit(api, "contact.read_denied")
    assert [(r.actor_username, r.object_id, r.ip) for r in denied] == [
        ("agent02", contact_id, "198.51.100.7"),
        ("agent01", other, "127.0.0.1"),
    ]
    assert CALLER not in str([(r.details, r.object_id) for r in reads + denied])


async def test_wrap_up_writes_the_disposition_to_the_contact_and_ends_wrap_up(
    api: ApiHarness, desk: AgentDesk
) -> None:
    engine = api.live.routing.engine
    medical = api.live.specs["medical"]
    engine.set_queue(replace(medical, wrap_up_seconds=300), api.clock.now())
    agent_id = await _ready_on_the_router(api, "agent01")
    contact_id = await _contact(api)
    await _answered(api, contact_id)
    async with api.signed_in("agent01") as client:
        nothing_yet = await client.post("/api/v1/agent/wrapup", json={"code": "nope"})
        assert nothing_yet.status_code == 422  # the code is checked before anything is written
        # Not ready after this call, chosen during it: wrap-up then ends in not ready.
        answer = await client.post(
            "/api/v1/agent/state", json={"state": "not_ready", "reason": "lunch"}
        )
        assert answer.json()["state"] == "busy"
        api.clock.advance(95)
        await api.live.routing.hangup(contact_id)
        assert _state(api, agent_id)[0] is AgentState.WRAP_UP
        assert (await client.get("/api/v1/agent/me")).json()["contact"]["id"] == contact_id

        answer = await client.post(
            "/api/v1/agent/wrapup", json={"code": "consultation", "note": "<b>call back</b>"}
        )
        assert answer.status_code == 204, answer.text
        assert _state(api, agent_id) == (AgentState.NOT_READY, "lunch")
        again = await client.post("/api/v1/agent/wrapup", json={"code": "consultation"})
        assert again.status_code == 409
        assert again.json()["code"] == "nothing_to_wrap_up"
        today = (await client.get("/api/v1/agent/me")).json()["today"]
        assert today == {"answered": 1, "aht": 95.0, "talk_seconds": 95.0}

    async with api.sessions() as session:
        row = await session.get(Contact, contact_id)
        assert row is not None
        assert (row.wrap_up_code_id, row.wrap_up_note) == ("consultation", "<b>call back</b>")
        logged = await session.scalars(
            select(ContactEvent.payload).where(
                ContactEvent.contact_id == contact_id, ContactEvent.type == "contact.wrapped_up"
            )
        )
        assert list(logged) == [{"agent_id": agent_id, "code": "consultation", "has_note": True}]
    (audited,) = await _audit(api, "contact.wrap_up")
    assert (audited.actor_username, audited.object_id, audited.details) == (
        "agent01",
        contact_id,
        {"code": "consultation"},
    )


async def test_wrap_up_is_only_for_a_contact_the_agent_answered(
    api: ApiHarness, desk: AgentDesk
) -> None:
    await api.add_user("agent02")
    await _ready_on_the_router(api, "agent01")
    contact_id = await _contact(api)
    await _answered(api, contact_id)
    await api.live.routing.hangup(contact_id)
    async with api.signed_in("agent02") as client:
        answer = await client.post(
            "/api/v1/agent/wrapup", json={"code": "consultation", "contact_id": contact_id}
        )
        assert answer.status_code == 409
        assert answer.json()["code"] == "nothing_to_wrap_up"
    async with api.sessions() as session:
        row = await session.get(Contact, contact_id)
        assert row is not None
        assert row.wrap_up_code_id is None


async def test_the_desktop_lists_wrap_up_codes_and_transfer_targets_with_their_names(
    api: ApiHarness,
) -> None:
    async with api.sessions() as session, session.begin():
        session.add(
            Line(
                id="ministry",
                name="Health ministry",
                number="+74950003344",
                kind="department",
                department="health",
            )
        )
    async with api.signed_in("agent01") as agent, api.signed_in("boss") as supervisor:
        answer = await agent.get("/api/v1/agent/options")
        assert answer.status_code == 200, answer.text
        assert (await supervisor.get("/api/v1/agent/options")).status_code == 403
    assert answer.json() == {
        "wrapup_codes": [{"id": "consultation", "name": "Consultation given", "description": None}],
        "transfer_targets": [  # queues, then department lines (public lines are not targets)
            {"target": "queue:medical", "kind": "queue", "id": "medical", "name": "Medical help"},
            {"target": "queue:overflow", "kind": "queue", "id": "overflow", "name": "Overflow"},
            {
                "target": "line:ministry",
                "kind": "line",
                "id": "ministry",
                "name": "Health ministry",
            },
        ],
    }
