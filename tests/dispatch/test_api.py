"""The field worker's page API on both databases: their own tasks only, the caller's number
masked, accept / start / done with an outcome note / failed with a reason / decline, duty status,
and what the supervisor sees of field workers; the dispatch timers; "call the citizen" without
telephony."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from hotline.dispatch.timers import DispatchTimers
from tests.requests.field_api import CALLER, FieldApi


async def _assigned(field_api: FieldApi, **overrides: object) -> dict[str, object]:
    async with field_api.signed_in("agent01") as agent:
        return await field_api.create(agent, **overrides)


async def test_a_field_worker_sees_only_their_tasks_and_never_the_full_number(
    field_api: FieldApi,
) -> None:
    centre = await _assigned(field_api)
    north = await _assigned(
        field_api, address={"postcode": "127001", "street": "Any", "house": "1"}
    )
    assert north["worker"] == "vol_north"
    async with field_api.signed_in(str(centre["worker"])) as worker:
        listed = await worker.get("/api/v1/tasks")
        mine = await worker.get(f"/api/v1/tasks/{centre['id']}")
        others = await worker.get(f"/api/v1/tasks/{north['id']}")
        accept_others = await worker.post(f"/api/v1/tasks/{north['id']}/accept")
    assert [t["id"] for t in listed.json()] == [centre["id"]]
    assert mine.json()["caller_number"] == "***-**-22"
    assert (mine.json()["street"], mine.json()["flat"]) == ("ул. Тверская", "12")
    digits = "".join(c for c in CALLER if c.isdigit())
    for answer in (listed, mine, others, accept_others):
        assert digits not in "".join(c for c in answer.text if c.isdigit())
    assert (others.status_code, accept_others.status_code) == (403, 403)
    assert [a.object_id for a in await field_api.audit("request.tasks_read")] == [
        await field_api.user_id(str(centre["worker"]))
    ]


async def test_a_task_is_accepted_started_and_done_with_an_outcome_note(
    field_api: FieldApi,
) -> None:
    task = await _assigned(field_api)
    async with field_api.signed_in(str(task["worker"])) as worker:
        accepted = await worker.post(f"/api/v1/tasks/{task['id']}/accept")
        started = await worker.post(f"/api/v1/tasks/{task['id']}/start")
        no_note = await worker.post(f"/api/v1/tasks/{task['id']}/done", json={})
        done = await worker.post(
            f"/api/v1/tasks/{task['id']}/done", json={"note": "delivered, paid in cash"}
        )
        again = await worker.post(f"/api/v1/tasks/{task['id']}/accept")
        ended = (await worker.get("/api/v1/tasks", params={"include_ended": True})).json()
        open_now = (await worker.get("/api/v1/tasks")).json()
    assert [accepted.json()["state"], started.json()["state"]] == ["accepted", "in_progress"]
    assert no_note.status_code == 422
    assert [p["loc"] for p in no_note.json()["details"]["problems"]] == [["body", "note"]]
    assert (done.json()["state"], done.json()["outcome_note"]) == (
        "done",
        "delivered, paid in cash",
    )
    assert (again.status_code, again.json()["code"]) == (409, "invalid_transition")
    assert [t["id"] for t in ended] == [task["id"]]
    assert open_now == []


async def test_a_failed_task_needs_a_reason(field_api: FieldApi) -> None:
    task = await _assigned(field_api)
    async with field_api.signed_in(str(task["worker"])) as worker:
        await worker.post(f"/api/v1/tasks/{task['id']}/accept")
        blank = await worker.post(f"/api/v1/tasks/{task['id']}/failed", json={"reason": "  "})
        failed = await worker.post(
            f"/api/v1/tasks/{task['id']}/failed", json={"reason": "pharmacy out of stock"}
        )
    assert blank.status_code == 422
    assert (failed.json()["state"], failed.json()["reason"]) == ("failed", "pharmacy out of stock")


async def test_a_declined_task_goes_to_the_next_field_worker(field_api: FieldApi) -> None:
    task = await _assigned(field_api)
    first = str(task["worker"])
    async with field_api.signed_in(first) as worker:
        declined = await worker.post(
            f"/api/v1/tasks/{task['id']}/decline", json={"reason": "I am ill"}
        )
        gone = await worker.get(f"/api/v1/tasks/{task['id']}")
    async with field_api.signed_in("boss") as boss:
        now = (await boss.get(f"/api/v1/requests/{task['id']}")).json()
    assert declined.status_code == 204
    assert gone.status_code == 403
    assert now["state"] == "assigned"
    assert now["worker"] in {"vol_a", "vol_b"} - {first}


async def test_a_field_worker_off_duty_gets_no_new_tasks(field_api: FieldApi) -> None:
    async with field_api.signed_in("vol_north") as worker:
        off = await worker.put("/api/v1/field-workers/me/availability", json={"available": False})
    async with field_api.signed_in("boss") as boss:  # the north's other field worker too
        await boss.put("/api/v1/field-workers/courier/availability", json={"available": False})
    north = await _assigned(
        field_api, address={"postcode": "127001", "street": "Any", "house": "1"}
    )
    async with field_api.signed_in("boss") as boss:
        roster = (await boss.get("/api/v1/field-workers", params={"district_id": "north"})).json()
        on = await boss.put(
            "/api/v1/field-workers/vol_north/availability", json={"available": True}
        )
        again = await boss.post(f"/api/v1/requests/{north['id']}/auto-assign")
    assert off.json()["available"] is False
    assert (north["state"], north["worker"]) == ("new", None)
    assert {w["username"]: w["available"] for w in roster} == {
        "vol_north": False,
        "courier": False,
    }
    assert on.json()["available"] is True
    assert again.json()["worker"] == "vol_north"


async def test_agents_and_supervisors_have_no_task_page(field_api: FieldApi) -> None:
    async with field_api.signed_in("agent01") as agent:
        assert (await agent.get("/api/v1/tasks")).status_code == 403
        assert (await agent.get("/api/v1/field-workers")).status_code == 403


async def test_calling_the_citizen_without_telephony_says_so(field_api: FieldApi) -> None:
    task = await _assigned(field_api)
    async with field_api.signed_in(str(task["worker"])) as worker:
        answer = await worker.post(f"/api/v1/tasks/{task['id']}/call")
    async with field_api.signed_in("vol_north") as other:
        refused = await other.post(f"/api/v1/tasks/{task['id']}/call")
    assert (answer.status_code, answer.json()["code"]) == (503, "no_outbound_route")
    assert refused.status_code == 403


async def test_timers_hand_on_tasks_not_accepted_in_time_and_alert_on_breaches(
    field_api: FieldApi,
) -> None:
    first = await _assigned(field_api)
    second = await _assigned(field_api, caller={"number": "+7 495 111-22-33", "age": 30})
    timers = DispatchTimers(
        sessions=field_api.sessions,
        bus=field_api.runtime.bus,
        clock=field_api.harness.clock,
        batch=1,
    )
    field_api.harness.clock.advance(timedelta(minutes=31).total_seconds())
    assert (await timers.run_once()).handed_on == 1  # bounded: one per pass
    assert (await timers.run_once()).handed_on == 1
    async with field_api.signed_in("boss") as boss:
        moved = [(await boss.get(f"/api/v1/requests/{r['id']}")).json() for r in (first, second)]
        log = (await boss.get(f"/api/v1/requests/{first['id']}/log")).json()
    # Each went to the other volunteer (the one who let it time out is not offered it again;
    # the request that found nobody free at first was assigned once the other was handed on).
    assert [m["worker"] for m in moved] == [second["worker"], first["worker"]]
    assert "accept_timeout" in [e["data"].get("cause") for e in log]
    field_api.harness.clock.advance(timedelta(hours=24).total_seconds())
    assert (await timers.run_once()).breaches == 1
    assert (await timers.run_once()).breaches == 1
    assert (await timers.run_once()).breaches == 0  # once each
    breached = [e for e in field_api.published if e.type == "request.sla_breached"]
    assert len(breached) == 2


async def test_dispatch_timers_run_by_themselves_and_stop_cleanly(field_api: FieldApi) -> None:
    task = await _assigned(field_api)
    field_api.harness.clock.advance(timedelta(minutes=31).total_seconds())
    timers = DispatchTimers(
        sessions=field_api.sessions,
        bus=field_api.runtime.bus,
        clock=field_api.harness.clock,
        interval=0.05,
    )
    await timers.start()
    for _ in range(200):
        if any(getattr(e, "cause", None) == "accept_timeout" for e in field_api.published):
            break
        await asyncio.sleep(0.05)
    await timers.close()
    causes = [getattr(e, "cause", None) for e in field_api.published]
    assert "accept_timeout" in causes
    assert task["id"] in {getattr(e, "request_id", None) for e in field_api.published}
