"""The requests API on both databases, through the browser API in-process: an agent's request
from their call's form (prefilled, assigned at once), double submission, field-level errors, an
address outside every district, who sees which request, audited reads, the caller's history,
duplicates and merge, and supervisors' manual assignment."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from hotline.notifications.models import OutboxMessage
from hotline.requests.models import Request
from tests.requests.field_api import CALLER, FieldApi


async def test_an_agent_makes_a_request_from_their_calls_prefilled_form_and_it_is_assigned(
    field_api: FieldApi,
) -> None:
    contact_id = await field_api.contact("agent01", attributes={"topic": "medical"})
    async with field_api.signed_in("agent01") as agent:
        draft = (await agent.get(f"/api/v1/contacts/{contact_id}/request-draft")).json()
        assert draft["caller"]["number"] == CALLER
        assert draft["topic"] == "medical"
        form = field_api.form(
            idempotency_key=draft["idempotency_key"],
            contact_id=contact_id,
            caller={**draft["caller"], "name": "Ivan Petrov", "age": 70},
        )
        answer = await agent.post("/api/v1/requests", json=form)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    request = body["request"]
    assert body["created"] is True
    assert (request["state"], request["district_id"], request["source"]) == (
        "assigned",
        "centre",
        "agent",
    )
    assert request["worker"] in {"vol_a", "vol_b"}
    assert request["priority"] == 1  # aged 70: high
    assert [e.type for e in field_api.published] == ["request.created", "request.state_changed"]
    assert [a.object_id for a in await field_api.audit("contact.request_draft")] == [contact_id]
    assert [a.object_id for a in await field_api.audit("request.create")] == [request["id"]]


async def test_a_request_made_on_a_warm_transfers_consultation_is_the_callers(
    field_api: FieldApi,
) -> None:
    # agent01 took the call and consults agent02 (a warm transfer): the consultation is a contact
    # of its own, with the caller's number but neither their topic nor their language.
    call = await field_api.contact("agent01", attributes={"topic": "medical", "language": "en"})
    consult = await field_api.contact(
        "agent02", attributes={"consult_for": call, "from_agent": "agent01"}, direction="consult"
    )
    async with field_api.signed_in("agent02") as colleague:
        draft = (await colleague.get(f"/api/v1/contacts/{consult}/request-draft")).json()
        assert (draft["contact_id"], draft["topic"], draft["language"]) == (
            consult,
            "medical",
            "en",
        )
        assert draft["caller"]["number"] == CALLER
        caller = {**draft["caller"], "name": "Ivan Petrov", "age": 70}
        made = await colleague.post(
            "/api/v1/requests",
            json=field_api.form(
                idempotency_key=draft["idempotency_key"], contact_id=consult, caller=caller
            ),
        )
        assert made.status_code == 201, made.text
        again = await colleague.post(
            "/api/v1/requests", json=field_api.form(contact_id=consult, caller=caller)
        )
        assert again.status_code == 201, again.text
        on_consult = (await colleague.get(f"/api/v1/contacts/{consult}/requests")).json()
    request, second = made.json()["request"], again.json()["request"]
    assert (request["contact_id"], second["contact_id"]) == (call, call)
    assert [d["id"] for d in again.json()["duplicates"]] == [request["id"]]
    assert [r["id"] for r in on_consult] == [second["id"], request["id"]]
    async with field_api.signed_in("agent01") as agent:
        # The caller's agent sees it as a request of their call, and on the caller's next call.
        assert (await agent.get(f"/api/v1/requests/{request['id']}")).status_code == 200
        next_call = await field_api.contact("agent01")
        history = (await agent.get(f"/api/v1/contacts/{next_call}/requests")).json()
    assert [r["id"] for r in history] == [second["id"], request["id"]]
    async with field_api.signed_in(str(request["worker"])) as worker:
        accepted = await worker.post(f"/api/v1/tasks/{request['id']}/accept")
        assert accepted.status_code == 200, accepted.text
    async with field_api.sessions() as session:
        (message,) = (await session.scalars(select(OutboxMessage))).all()
    # The status message goes to the citizen, in the language they spoke on their call.
    assert (message.to_number, message.language, message.topic) == (CALLER, "en", "accepted")
    assert message.text.startswith("Your request #")


async def test_the_same_form_submitted_twice_makes_one_request(field_api: FieldApi) -> None:
    form = field_api.form()
    async with field_api.signed_in("agent01") as agent:
        first, second = await asyncio.gather(
            agent.post("/api/v1/requests", json=form), agent.post("/api/v1/requests", json=form)
        )
        again = await agent.post("/api/v1/requests", json=form)
        other = await agent.post(
            "/api/v1/requests", json={**form, "form": {"medicines": "insulin"}}
        )
    answers = sorted([first, second], key=lambda a: a.status_code)
    assert [a.status_code for a in answers] == [200, 201]
    assert again.status_code == 200
    ids = {a.json()["request"]["id"] for a in (first, second, again)}
    assert len(ids) == 1
    assert again.json()["created"] is False
    assert other.status_code == 409
    assert other.json()["code"] == "conflict"
    async with field_api.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Request)) == 1


async def test_invalid_fields_answer_422_with_one_problem_per_field(field_api: FieldApi) -> None:
    async with field_api.signed_in("agent01") as agent:
        bad_form = await agent.post(
            "/api/v1/requests",
            json=field_api.form(form={"budget": -5}, address={"house": "5"}),
        )
        bad_shape = await agent.post(
            "/api/v1/requests",
            json=field_api.form(caller={"number": CALLER, "age": 200}, surprise=1),
        )
    assert bad_form.status_code == 422
    assert bad_form.json()["code"] == "invalid_input"
    locs = sorted(tuple(p["loc"]) for p in bad_form.json()["details"]["problems"])
    assert locs == [("address", "street"), ("form", "budget"), ("form", "medicines")]
    assert bad_shape.status_code == 422
    locs = sorted(tuple(p["loc"]) for p in bad_shape.json()["details"]["problems"])
    assert locs == [("body", "caller", "age"), ("body", "surprise")]


async def test_an_address_in_no_district_is_accepted_flagged_and_placed_by_a_supervisor(
    field_api: FieldApi,
) -> None:
    async with field_api.signed_in("agent01") as agent:
        request = await field_api.create(
            agent, address={"postcode": "999001", "street": "Unknown lane", "house": "1"}
        )
    assert (request["state"], request["needs_district"], request["district_id"]) == (
        "new",
        True,
        None,
    )
    async with field_api.signed_in("boss") as boss:
        unplaced = (await boss.get("/api/v1/requests/unplaced")).json()
        placed = await boss.post(
            f"/api/v1/requests/{request['id']}/place", json={"district_id": "north"}
        )
    assert [r["id"] for r in unplaced] == [request["id"]]
    assert placed.status_code == 200, placed.text
    assert (placed.json()["state"], placed.json()["worker"]) == ("assigned", "vol_north")


async def test_an_agent_cannot_use_or_read_another_agents_contact(field_api: FieldApi) -> None:
    contact_id = await field_api.contact("agent01")
    async with field_api.signed_in("agent02") as other:
        draft = await other.get(f"/api/v1/contacts/{contact_id}/request-draft")
        history = await other.get(f"/api/v1/contacts/{contact_id}/requests")
        create = await other.post("/api/v1/requests", json=field_api.form(contact_id=contact_id))
    assert [draft.status_code, history.status_code, create.status_code] == [403, 403, 403]
    assert CALLER not in draft.text + history.text + create.text


async def test_agents_see_their_own_requests_only_and_supervisors_all(field_api: FieldApi) -> None:
    async with field_api.signed_in("agent01") as agent:
        mine = await field_api.create(agent)
    async with field_api.signed_in("agent02") as other:
        listed = (await other.get("/api/v1/requests")).json()
        read = await other.get(f"/api/v1/requests/{mine['id']}")
        cancel = await other.post(
            f"/api/v1/requests/{mine['id']}/cancel", json={"reason": "not mine"}
        )
    async with field_api.signed_in("boss") as boss:
        everything = (await boss.get("/api/v1/requests")).json()
    assert listed["requests"] == []
    assert (read.status_code, cancel.status_code) == (403, 403)
    assert [r["id"] for r in everything["requests"]] == [mine["id"]]


async def test_a_department_specialist_sees_only_their_departments_requests(
    field_api: FieldApi,
) -> None:
    async with field_api.signed_in("health01") as health:
        theirs = await field_api.create(health)
        assert theirs["department"] == "health"
        assert theirs["source"] == "specialist"
        assert [r["id"] for r in (await health.get("/api/v1/requests")).json()["requests"]] == [
            theirs["id"]
        ]
    async with field_api.signed_in("social01") as social:
        listed = (await social.get("/api/v1/requests")).json()
        read = await social.get(f"/api/v1/requests/{theirs['id']}")
    assert listed["requests"] == []
    assert read.status_code == 403


async def test_a_department_specialist_makes_a_request_with_no_call_from_a_blank_draft(
    field_api: FieldApi,
) -> None:
    async with field_api.signed_in("health01") as health:
        answer = await health.get("/api/v1/request-draft")
        assert answer.status_code == 200, answer.text
        draft = answer.json()
        again = (await health.get("/api/v1/request-draft")).json()
        form = field_api.form(
            idempotency_key=draft["idempotency_key"],
            caller={"number": "+7 495 000-77-88", "name": "Olga Sidorova", "age": 81},
        )
        created = await health.post("/api/v1/requests", json=form)
        twice = await health.post("/api/v1/requests", json=form)
    assert (draft["contact_id"], draft["caller"]["number"], draft["topic"]) == (None, None, None)
    assert draft["idempotency_key"] != again["idempotency_key"]
    assert created.status_code == 201, created.text
    request = created.json()["request"]
    assert (request["contact_id"], request["source"], request["department"]) == (
        None,
        "specialist",
        "health",
    )
    assert request["caller"]["number"] == "+7 495 000-77-88"
    assert (request["state"], request["district_id"]) == ("assigned", "centre")
    assert (twice.status_code, twice.json()["request"]["id"]) == (200, request["id"])
    async with field_api.signed_in("boss") as boss:
        listed = (await boss.get("/api/v1/requests")).json()["requests"]
    assert [r["id"] for r in listed] == [request["id"]]


async def test_field_workers_cannot_use_the_staff_request_routes(field_api: FieldApi) -> None:
    async with field_api.signed_in("agent01") as agent:
        request = await field_api.create(agent)
    async with field_api.signed_in(request["worker"]) as worker:
        listed = await worker.get("/api/v1/requests")
        read = await worker.get(f"/api/v1/requests/{request['id']}")
        create = await worker.post("/api/v1/requests", json=field_api.form())
        blank = await worker.get("/api/v1/request-draft")
    assert [listed.status_code, read.status_code, create.status_code] == [403, 403, 403]
    assert blank.status_code == 403
    assert CALLER not in read.text


async def test_reading_a_request_is_audited(field_api: FieldApi) -> None:
    async with field_api.signed_in("agent01") as agent:
        request = await field_api.create(agent)
        answer = await agent.get(f"/api/v1/requests/{request['id']}")
    assert answer.json()["caller"]["number"] == CALLER
    (entry,) = await field_api.audit("request.read")
    assert (entry.actor_username, entry.object_id) == ("agent01", request["id"])
    assert CALLER not in str(entry.details)


async def test_the_desktop_shows_the_callers_requests_from_their_next_call(
    field_api: FieldApi,
) -> None:
    async with field_api.signed_in("agent01") as agent:
        first = await field_api.create(agent)
        second = await field_api.create(agent, category="sick_leave", form={})
    again = await field_api.contact("agent02", number="8 (495) 000-11-22")
    async with field_api.signed_in("agent02") as other:
        history = (await other.get(f"/api/v1/contacts/{again}/requests")).json()
    assert [r["id"] for r in history] == [second["id"], first["id"]]
    assert {r["state"] for r in history} == {"assigned"}
    assert [a.object_type for a in await field_api.audit("caller.requests_read")] == ["caller"]


async def test_duplicates_are_listed_and_merged_into_the_older_request(
    field_api: FieldApi,
) -> None:
    async with field_api.signed_in("agent01") as agent:
        older = await field_api.create(agent)
        answer = await agent.post(
            "/api/v1/requests",
            json=field_api.form(caller={"number": "84950001122", "age": 30}, urgent=True),
        )
        newer = answer.json()
        assert [d["id"] for d in newer["duplicates"]] == [older["id"]]
        listed = (await agent.get(f"/api/v1/requests/{newer['request']['id']}/duplicates")).json()
        merged = await agent.post(
            f"/api/v1/requests/{older['id']}/merge",
            json={"duplicate_id": newer["request"]["id"]},
        )
        duplicate = (await agent.get(f"/api/v1/requests/{newer['request']['id']}")).json()
    assert [d["matches"] for d in listed] == [["same_phone", "same_address"]]
    assert merged.status_code == 200, merged.text
    assert merged.json()["priority"] == 2  # the duplicate was urgent
    assert (duplicate["state"], duplicate["merged_into"]) == ("cancelled", older["id"])


async def test_supervisors_assign_by_hand_and_reassign_and_agents_may_not(
    field_api: FieldApi,
) -> None:
    async with field_api.signed_in("agent01") as agent:
        request = await field_api.create(agent)
        refused = await agent.post(
            f"/api/v1/requests/{request['id']}/assign", json={"worker": "vol_north"}
        )
    async with field_api.signed_in("boss") as boss:
        north = await boss.post(
            f"/api/v1/requests/{request['id']}/assign", json={"worker": "vol_north"}
        )
        nurse = await boss.post(
            f"/api/v1/requests/{request['id']}/assign", json={"worker": "nurse"}
        )
        back = await boss.post(
            f"/api/v1/requests/{request['id']}/assign", json={"worker": request["worker"]}
        )
        log = (await boss.get(f"/api/v1/requests/{request['id']}/log")).json()
    assert refused.status_code == 403
    assert north.status_code == 200, north.text
    assert north.json()["worker"] == "vol_north"  # another district: a supervisor's choice
    assert (nurse.status_code, nurse.json()["code"]) == (409, "assignment_refused")
    assert back.json()["worker"] == request["worker"]
    causes = [e["data"].get("cause") for e in log if e["type"] == "request.state_changed"]
    assert causes == ["auto_assign", "manual_assign", "manual_assign"]


async def test_an_information_only_request_is_answered_by_the_agent(field_api: FieldApi) -> None:
    async with field_api.signed_in("agent01") as agent:
        request = await field_api.create(
            agent, category="payments", address=None, form={"question": "when?"}
        )
        done = await agent.post(
            f"/api/v1/requests/{request['id']}/done", json={"note": "explained the dates"}
        )
    assert request["state"] == "new"
    assert (done.json()["state"], done.json()["outcome_note"]) == ("done", "explained the dates")


async def test_categories_list_their_forms(field_api: FieldApi) -> None:
    async with field_api.signed_in("vol_a") as worker:
        categories = (await worker.get("/api/v1/request-categories")).json()
    assert [c["id"] for c in categories] == ["medicine", "sick_leave", "payments"]
    assert categories[0]["form"]["required"] == ["medicines"]
    assert categories[2]["information_only"] is True
