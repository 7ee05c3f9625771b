"""The agent desktop on a running platform, over loopback HTTP, with real phones (SIPp) and test
RTP peers hearing what each side hears: the desktop and a phone's registration deciding together
who is offered calls; hold, keys, hang-up and wrap-up of a bridged call; warm and blind transfers,
with the screen pop, the script's answers and the form's draft going along."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from hotline.contacts.models import Contact, WrapUpCode
from hotline.routing.types import AgentState
from hotline.scripts.models import ContactForm, ContactScript
from hotline.telephony.media.peer import RtpPeer
from tests.agents.conftest import desk_on, signed_in
from tests.calls import scenarios
from tests.calls.conftest import (
    SCRIPTS_AND_FORMS,
    TOPIC_FLOW,
    Hotline,
    eventually,
    running_hotline,
    web_hotline,
)
from tests.telephony.sip.sipp import free_port

PCMU = 0
EVENTS = 101  # telephone-event, as the test callers offer it


async def _connected(h: Hotline, username: str) -> Contact | None:
    agent_id = await h.user_id(username)
    for row in await h.contacts():
        if row.state == "connected" and row.agent_id == agent_id and row.direction == "inbound":
            return row
    return None


def _heard(peer: RtpPeer, payload: bytes) -> int:
    return sum(1 for r in peer.received if r.packet.payload == payload * 160)


async def test_the_desktop_and_the_phones_registration_decide_together_who_is_offered_calls(
    tmp_path: Path, prompt_cache: Path
) -> None:
    async with (
        running_hotline(tmp_path, prompt_cache, http=True, http_cookie_secure=False) as h,
        desk_on(h),
        signed_in(h, "agent01") as browser,
    ):
        port = free_port()
        await h.logged_in("agent01", port)  # the phone's registration logged them in, ready

        async def state(body: dict[str, str]) -> int:
            return (await browser.post("/api/v1/agent/state", json=body)).status_code

        assert await state({"state": "not_ready", "reason": "break"}) == 200
        assert await h.agent_state("agent01") == (AgentState.NOT_READY, "break")
        assert await state({"state": "ready"}) == 200
        assert await h.agent_state("agent01") == (AgentState.READY, None)
        me = (await browser.get("/api/v1/agent/me")).json()
        assert (me["state"], me["phone"], me["reachable"]) == ("ready", "sip", True)
        assert [q["id"] for q in me["queues"]] == ["help"]

        assert await state({"state": "logged_out"}) == 200
        await h.register("agent01", port)  # a refresh no longer logs them in: the desktop does
        assert (await h.agent_state("agent01"))[0] is AgentState.OFFLINE
        assert await state({"state": "ready"}) == 200
        assert (await h.agent_state("agent01"))[0] is AgentState.READY

        await h.register("agent01", port, unregister=True)
        assert await h.agent_state("agent01") == (AgentState.NOT_READY, "phone_unreachable")
        refused = await browser.post("/api/v1/agent/state", json={"state": "ready"})
        assert (refused.status_code, refused.json()["code"]) == (409, "phone_unreachable")
        await h.register("agent01", port)
        assert await h.agent_state("agent01") == (AgentState.READY, None)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_from_the_desktop_an_agent_holds_sends_keys_hangs_up_and_wraps_up(
    backend: str, tmp_path: Path, prompt_cache: Path
) -> None:
    async with (
        web_hotline(backend, tmp_path, prompt_cache) as h,
        desk_on(h),
        signed_in(h, "agent01") as browser,
    ):
        async with h.sessions() as session, session.begin():
            session.add(WrapUpCode(id="advice", name="Advice given"))
        routing = h.platform.routing
        routing.engine.set_queue(  # a long wrap-up: it ends by the desktop, not by its timer
            replace(h.platform.specs["help"], wrap_up_seconds=120), h.platform.app.clock.now()
        )
        phone_port = free_port()
        await h.logged_in("agent01", phone_port)
        caller_audio, agent_audio = await RtpPeer.open(), await RtpPeer.open()
        agent = await h.phone(
            scenarios.answering_phone(h.folder("agent"), media_port=agent_audio.address[1]),
            phone_port,
        )
        caller = await h.call(
            scenarios.caller(
                h.folder("caller"), end="await_bye", media_port=caller_audio.address[1]
            )
        )
        assert await caller_audio.wait_for(lambda: len(caller_audio.received) > 5, 10)
        caller_audio.target = caller_audio.received[0].source
        await caller_audio.send_digits("1", EVENTS)  # the menu's "1": the help queue
        row = await eventually(lambda: _connected(h, "agent01"), 10, "agent01 answered")

        me = (await browser.get("/api/v1/agent/me")).json()
        assert (me["state"], me["contact"]["id"]) == ("busy", row.id)
        assert "menu=1" in me["contact"]["ivr_path"]

        # Held: the caller hears music, the agent nothing of the caller; resumed: they do again.
        assert (await browser.post("/api/v1/agent/call/hold")).status_code == 204
        heard = len(caller_audio.received)
        await caller_audio.send_audio(b"\x33" * 8000, PCMU)
        assert len(caller_audio.received) - heard > 25  # the music went on meanwhile
        assert (await browser.post("/api/v1/agent/call/resume")).status_code == 204
        await caller_audio.send_audio(b"\x44" * 8000, PCMU)
        assert await agent_audio.wait_for(lambda: _heard(agent_audio, b"\x44") > 30, 5)
        assert _heard(agent_audio, b"\x33") == 0

        # The agent's keypad reaches the caller as RFC 4733 events.
        assert (await browser.post("/api/v1/agent/call/digits", json={"digits": "5"})).is_success
        assert await caller_audio.wait_for(
            lambda: any(
                r.packet.payload_type == EVENTS and r.packet.payload[0] == 5
                for r in caller_audio.received
            ),
            5,
        )

        assert (await browser.post("/api/v1/agent/call/hangup")).status_code == 204
        caller_result = await h.finish(caller, "caller")
        agent_result = await h.finish(agent, "agent")
        assert caller_result.returncode == 0, caller_result.explain()  # it got Hotline's BYE
        assert agent_result.returncode == 0, agent_result.explain()
        contact = await h.ended()
        assert contact.outcome == "handled"
        log = await h.log(contact.id)
        agent_id = await h.user_id("agent01")
        assert [
            (kind, p["agent_id"]) for kind, p in log if kind in ("call.held", "call.resumed")
        ] == [
            ("call.held", agent_id),
            ("call.resumed", agent_id),
        ]
        assert dict(log)["call.ended"] == {
            "by": "agent",
            "reason": "hung up from the agent desktop",
        }

        assert (await h.agent_state("agent01"))[0] is AgentState.WRAP_UP
        me = (await browser.get("/api/v1/agent/me")).json()
        assert (me["state"], me["contact"]["id"], me["contact"]["state"]) == (
            "wrap_up",
            contact.id,
            "ended",
        )
        answer = await browser.post(
            "/api/v1/agent/wrapup", json={"code": "advice", "note": "will call again"}
        )
        assert answer.status_code == 204, answer.text
        assert (await h.agent_state("agent01"))[0] is AgentState.READY
        row = await h.contact(contact.id)
        assert (row.wrap_up_code_id, row.wrap_up_note) == ("advice", "will call again")
        assert (await browser.get("/api/v1/agent/me")).json()["today"]["answered"] == 1
        caller_audio.close()
        agent_audio.close()


async def test_a_warm_transfer_through_the_desktop_hands_the_caller_to_the_consulted_specialist(
    tmp_path: Path, prompt_cache: Path
) -> None:
    async with (
        running_hotline(tmp_path, prompt_cache, http=True, http_cookie_secure=False) as h,
        desk_on(h),
        signed_in(h, "agent01") as agent01,
        signed_in(h, "health01") as health01,
    ):
        agent_port, specialist_port = free_port(), free_port()
        await h.logged_in("agent01", agent_port)
        await h.logged_in("health01", specialist_port)
        agent = await h.phone(
            scenarios.answering_phone(h.folder("agent"), name="agent"), agent_port
        )
        specialist = await h.phone(
            scenarios.answering_phone(h.folder("specialist"), name="specialist"), specialist_port
        )
        caller = await h.call(
            scenarios.caller(
                h.folder("caller"), steps=[("pause", 1200), ("key", 1), ("pause", 6000)]
            )
        )
        row = await eventually(lambda: _connected(h, "agent01"), 10, "agent01 answered")

        answer = await agent01.post(
            "/api/v1/agent/call/transfer", json={"mode": "warm", "target": "queue:ministry"}
        )
        assert answer.status_code == 204, answer.text

        async def consultation() -> Contact | None:
            health_id = await h.user_id("health01")
            for contact in await h.contacts():
                if contact.direction == "consult" and contact.state == "connected":
                    return contact if contact.agent_id == health_id else None
            return None

        consult = await eventually(consultation, 10, "health01 answered the consultation")
        refused = await health01.post("/api/v1/agent/call/transfer/complete")
        assert (refused.status_code, refused.json()["code"]) == (409, "not_on_call")
        assert (await health01.get("/api/v1/agent/me")).json()["contact"]["id"] == consult.id

        assert (await agent01.post("/api/v1/agent/call/transfer/complete")).status_code == 204
        agent_result = await h.finish(agent, "agent")
        assert agent_result.returncode == 0, agent_result.explain()  # Hotline hung it up
        assert (await h.finish(caller, "caller")).returncode == 0
        assert (await h.finish(specialist, "specialist")).returncode == 0

        first = await h.contact(row.id)
        assert (first.outcome, first.agent_id) == ("handled", await h.user_id("agent01"))

        async def consult_ended() -> bool:
            return (await h.contact(consult.id)).state == "ended"

        await eventually(consult_ended, 10, "the consultation's contact ended")
        assert (await h.contact(consult.id)).agent_id == await h.user_id("health01")
        stages = [p["stage"] for kind, p in await h.log(row.id) if kind == "call.transferred"]
        assert stages == ["started", "completed"]


async def _script_form(browser: httpx.AsyncClient, contact_id: str) -> dict[str, Any]:
    answer = await browser.get(f"/api/v1/contacts/{contact_id}/script-form")
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


async def _answer(browser: httpx.AsyncClient, contact_id: str, step: str, answer: str) -> None:
    saved = await browser.put(
        f"/api/v1/contacts/{contact_id}/script-answers", json={"step": step, "answer": answer}
    )
    assert saved.status_code == 200, saved.text


async def _save_draft(
    browser: httpx.AsyncClient,
    contact_id: str,
    base_version: int,
    data: dict[str, Any],
    *,
    submit: bool = False,
) -> httpx.Response:
    body = {"base_version": base_version, "data": data}
    if submit:
        return await browser.post(f"/api/v1/contacts/{contact_id}/form", json=body)
    return await browser.put(f"/api/v1/contacts/{contact_id}/form-draft", json=body)


async def test_a_warm_transfer_takes_the_topic_ivr_path_answers_and_draft_to_the_colleague(
    tmp_path: Path, prompt_cache: Path
) -> None:
    async with (
        running_hotline(
            tmp_path,
            prompt_cache,
            http=True,
            http_cookie_secure=False,
            flow=TOPIC_FLOW,
            extra_config=SCRIPTS_AND_FORMS,
        ) as h,
        desk_on(h),
        signed_in(h, "agent01") as agent01,
        signed_in(h, "health01") as health01,
    ):
        agent_port, specialist_port = free_port(), free_port()
        await h.logged_in("agent01", agent_port)
        await h.logged_in("health01", specialist_port)
        agent = await h.phone(
            scenarios.answering_phone(h.folder("agent"), name="agent"), agent_port
        )
        specialist = await h.phone(
            scenarios.answering_phone(h.folder("specialist"), name="specialist"), specialist_port
        )
        caller = await h.call(
            scenarios.caller(
                h.folder("caller"), steps=[("pause", 1200), ("key", 1), ("pause", 12000)]
            )
        )
        row = await eventually(lambda: _connected(h, "agent01"), 10, "agent01 answered")
        await _answer(agent01, row.id, "danger", "no")
        assert (await _save_draft(agent01, row.id, 0, {"age": 34})).status_code == 200

        answer = await agent01.post(
            "/api/v1/agent/call/transfer", json={"mode": "warm", "target": "queue:ministry"}
        )
        assert answer.status_code == 204, answer.text

        async def consultation() -> Contact | None:
            health_id = await h.user_id("health01")
            for contact in await h.contacts():
                if contact.direction == "consult" and contact.state == "connected":
                    return contact if contact.agent_id == health_id else None
            return None

        consult = await eventually(consultation, 10, "health01 answered the consultation")
        # The colleague's screen pop: the caller's topic and IVR path, and who consults them.
        pop = (await health01.get("/api/v1/agent/me")).json()["contact"]
        assert (pop["id"], pop["topic"], pop["queue_id"]) == (consult.id, "help", "ministry")
        assert "menu=1" in pop["ivr_path"]
        assert pop["consultation"] == {"for_contact": row.id, "from_agent": "Anna Ivanova"}
        assert [item["id"] for item in pop["history"]] == []  # not the contact itself
        first = (await agent01.get("/api/v1/agent/me")).json()
        assert (first["contact"]["id"], first["contact"]["consultation"]) == (row.id, None)
        assert first["transfer"] == {
            "contact_id": consult.id,
            "target": "queue:ministry",
            "target_name": "Ministry",
            "answered": True,
        }

        # ... and the answers and the draft so far, one draft for both while they talk.
        seen = await _script_form(health01, consult.id)
        assert (seen["contact_id"], seen["topic"], seen["script"]["id"]) == (
            consult.id,
            "help",
            "help_en",
        )
        assert seen["script_state"]["answers"] == {"danger": "no"}
        assert seen["script_state"]["current"] == "name"
        assert (seen["form"]["id"], seen["draft"]["version"], seen["draft"]["data"]) == (
            "help_en",
            1,
            {"age": 34},
        )
        more = {"age": 34, "address": "12 Lenin Street"}
        assert (await _save_draft(agent01, row.id, 1, more)).status_code == 200
        stale = await _save_draft(health01, consult.id, 1, {"age": 35})
        assert (stale.status_code, stale.json()["code"]) == (409, "stale_version")

        # Handed over: the colleague carries on with the same answers and draft.
        assert (await agent01.post("/api/v1/agent/call/transfer/complete")).status_code == 204
        assert (await health01.get("/api/v1/agent/me")).json()["contact"]["id"] == consult.id
        assert (await agent01.get("/api/v1/agent/me")).json()["transfer"] is None
        seen = await _script_form(health01, consult.id)
        assert (seen["draft"]["version"], seen["draft"]["data"]) == (2, more)
        await _answer(health01, consult.id, "name", "Maria")
        submitted = await _save_draft(health01, consult.id, 2, more, submit=True)
        assert submitted.status_code == 200, submitted.text

        agent_result = await h.finish(agent, "agent")
        assert agent_result.returncode == 0, agent_result.explain()
        assert (await h.finish(caller, "caller")).returncode == 0
        assert (await h.finish(specialist, "specialist")).returncode == 0
        async with h.sessions() as session:
            answers = (await session.scalars(select(ContactScript))).one()
            form_row = (await session.scalars(select(ContactForm))).one()
        assert (answers.contact_id, answers.script_id, answers.answers) == (
            row.id,
            "help_en",
            {"danger": "no", "name": "Maria"},
        )
        assert (form_row.contact_id, form_row.status, form_row.data, form_row.submitted_by) == (
            row.id,
            "submitted",
            more,
            "health01",
        )
        # The submission is logged where the data is, the caller's contact, naming the
        # consultation it came through; the consultation's log has none.
        health_id = await h.user_id("health01")
        submissions = [data for kind, data in await h.log(row.id) if kind == "form.submitted"]
        assert submissions == [
            {
                "form_id": "help_en",
                "form_version": 1,
                "version": 3,
                "agent_id": health_id,
                "consultation": consult.id,
            }
        ]
        assert "form.submitted" not in [kind for kind, _ in await h.log(consult.id)]


async def test_a_blind_transfer_leaves_the_answers_and_draft_to_the_agent_who_takes_the_call(
    tmp_path: Path, prompt_cache: Path
) -> None:
    async with (
        running_hotline(
            tmp_path,
            prompt_cache,
            http=True,
            http_cookie_secure=False,
            extra_config=SCRIPTS_AND_FORMS,  # no topic: the help queue's script and form
        ) as h,
        desk_on(h),
        signed_in(h, "agent01") as agent01,
        signed_in(h, "health01") as health01,
    ):
        agent_port, specialist_port = free_port(), free_port()
        await h.logged_in("agent01", agent_port)
        await h.logged_in("health01", specialist_port)
        agent = await h.phone(
            scenarios.answering_phone(h.folder("agent"), name="agent"), agent_port
        )
        specialist = await h.phone(
            scenarios.answering_phone(h.folder("specialist"), name="specialist"), specialist_port
        )
        caller = await h.call(
            scenarios.caller(
                h.folder("caller"), steps=[("pause", 1200), ("key", 1), ("pause", 8000)]
            )
        )
        row = await eventually(lambda: _connected(h, "agent01"), 10, "agent01 answered")
        assert (await _script_form(agent01, row.id))["script"]["id"] == "help_en"
        await _answer(agent01, row.id, "danger", "no")
        assert (await _save_draft(agent01, row.id, 0, {"age": 34})).status_code == 200

        answer = await agent01.post(
            "/api/v1/agent/call/transfer", json={"mode": "blind", "target": "line:ministry"}
        )
        assert answer.status_code == 204, answer.text
        moved = await eventually(lambda: _connected(h, "health01"), 10, "health01 answered")
        assert (moved.id, moved.queue_id) == (row.id, "ministry")

        seen = await _script_form(health01, row.id)
        assert (seen["script"]["id"], seen["script_state"]["answers"]) == (
            "help_en",
            {"danger": "no"},
        )
        assert (seen["form"]["id"], seen["draft"]["version"], seen["draft"]["data"]) == (
            "help_en",
            1,
            {"age": 34},
        )
        more = {"age": 34, "address": "12 Lenin Street"}
        assert (await _save_draft(health01, row.id, 1, more)).status_code == 200

        assert (await h.finish(agent, "agent")).returncode == 0
        assert (await h.finish(caller, "caller")).returncode == 0
        assert (await h.finish(specialist, "specialist")).returncode == 0
        async with h.sessions() as session:
            form_row = (await session.scalars(select(ContactForm))).one()
        assert (form_row.contact_id, form_row.data, form_row.updated_by) == (
            row.id,
            more,
            "health01",
        )
