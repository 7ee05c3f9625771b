"""Requests on both databases: created with field-level validation, placed in a district or
flagged, idempotent, moved along the lifecycle by the right people with every step in the
append-only log, merged, and alerted on when past their SLA."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError

from hotline.audit.models import AuditEntry
from hotline.config.loader import parse_config
from hotline.config.service import import_config
from hotline.core.errors import Conflict, Forbidden, InvalidInput
from hotline.dispatch import service as dispatch
from hotline.requests.duplicates import Match
from hotline.requests.events import RequestCreated, RequestMerged, RequestStateChanged
from hotline.requests.lifecycle import (
    ACCEPTED,
    CANCELLED,
    DONE,
    FAILED,
    IN_PROGRESS,
    InvalidTransition,
    Priority,
)
from hotline.requests.models import Request, RequestEvent
from hotline.requests.service import (
    caller_requests,
    create_request,
    get_request,
    merge,
    record_sla_breaches,
    request_log,
    transition,
)
from tests.config.factories import FAST_HASHING, SMALL
from tests.requests.city import T0, City


async def test_a_request_is_placed_in_its_district_with_priority_and_sla(city: City) -> None:
    async with city.sessions() as session, session.begin():
        change = await create_request(
            session=session, data=city.form(), actor=city["agent01"], now=T0, ip="127.0.0.1"
        )
    assert change.created
    request = await city.request(change.request.id)
    assert (request.state, request.district_id, request.needs_district) == ("new", "centre", False)
    assert request.priority == Priority.HIGH  # the caller is 70
    assert request.sla_deadline == T0 + timedelta(hours=12)  # 24 h halved
    assert (request.phone_key, request.address_key) == ("74950001122", "тверская|5|12")
    async with city.sessions() as session:
        log = await request_log(session=session, request_id=request.id)
        audit = (await session.scalars(select(AuditEntry))).all()
    assert [(e.seq, e.actor, type(e.event)) for e in log] == [(1, "agent01", RequestCreated)]
    assert [(a.action, a.object_id, a.actor_username) for a in audit] == [
        ("request.create", request.id, "agent01")
    ]
    # No personal data in the log or the audit row (ids are random hex: "495" may be in them).
    logged = str(log[0].event.payload()) + str(audit[0].details)
    for personal in ("000-11-22", "0001122", "Ivan", "Petrov", "Тверская"):
        assert personal not in logged


async def test_invalid_fields_are_reported_one_by_one(city: City) -> None:
    data = city.form(
        form={"medicines": "x", "budget": "a lot", "colour": "red"},
        address={"street": "Тверская"},
    )
    async with city.sessions() as session:
        with pytest.raises(InvalidInput) as caught:
            await create_request(session=session, data=data, actor=city["agent01"], now=T0)
    assert caught.value.details["problems"] == [
        {"loc": ["form", "budget"], "message": "expected a whole number"},
        {"loc": ["form", "colour"], "message": "unknown field"},
        {"loc": ["form", "medicines"], "message": "too short: at least 2 characters"},
        {"loc": ["address", "house"], "message": "field required for a delivery"},
    ]
    assert caught.value.http_status == 422


async def test_an_unknown_category_is_a_field_problem(city: City) -> None:
    async with city.sessions() as session:
        with pytest.raises(InvalidInput) as caught:
            await create_request(
                session=session, data=city.form(category="medicin"), actor=city["agent01"]
            )
    assert caught.value.details["problems"] == [
        {"loc": ["category"], "message": "unknown category 'medicin'"}
    ]


async def test_an_address_outside_every_district_is_accepted_and_flagged(city: City) -> None:
    request_id = await city.create(address={"postcode": "101000", "street": "Арбат", "house": "1"})
    request = await city.request(request_id)
    assert (request.state, request.district_id, request.needs_district) == ("new", None, True)
    async with city.sessions() as session, session.begin():
        nobody = await dispatch.auto_assign(session=session, request_id=request_id, actor=None)
        assert nobody.worker_id is None
        assert [
            r.id for r in await dispatch.unplaced_requests(session=session, actor=city["boss"])
        ] == [request_id]
        placed = await dispatch.place(
            session=session, request_id=request_id, district_id="north", actor=city["boss"], now=T0
        )
    assert placed.worker_id == city["vol_north"].id
    request = await city.request(request_id)
    assert (request.district_id, request.needs_district, request.state) == (
        "north",
        False,
        "assigned",
    )


async def test_the_same_form_submitted_twice_makes_one_request(city: City) -> None:
    data = city.form()
    ids = []
    for _ in range(2):
        async with city.sessions() as session, session.begin():
            change = await create_request(session=session, data=data, actor=city["agent01"])
            ids.append((change.request.id, change.created))
    assert ids[1] == (ids[0][0], False)
    changed = data.model_copy(update={"note": "something else"})
    async with city.sessions() as session:
        with pytest.raises(Conflict, match="already used for a different request"):
            await create_request(session=session, data=changed, actor=city["agent01"])


async def test_two_simultaneous_submissions_of_one_form_make_one_request(city: City) -> None:
    data = city.form()

    async def submit() -> tuple[str, bool]:
        async with city.sessions() as session, session.begin():
            change = await create_request(session=session, data=data, actor=city["agent01"])
            await asyncio.sleep(0.05)  # hold the transaction open while the other one runs
            return change.request.id, change.created

    results = await asyncio.gather(submit(), submit())
    assert {rid for rid, _ in results} == {results[0][0]}
    assert sorted(created for _, created in results) == [False, True]
    async with city.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Request)) == 1


async def test_a_task_goes_through_its_lifecycle_with_every_step_logged(city: City) -> None:
    request_id = await city.create()
    volunteer = city["vol_a"]
    async with city.sessions() as session, session.begin():
        assigned = await dispatch.auto_assign(
            session=session, request_id=request_id, actor=city["agent01"], now=T0
        )
    assert assigned.worker_id == volunteer.id
    assert (await city.loads())["vol_a"] == 1
    for minutes, to in ((5, ACCEPTED), (10, IN_PROGRESS)):
        async with city.sessions() as session, session.begin():
            await transition(
                session=session,
                request_id=request_id,
                to=to,
                actor=volunteer,
                now=T0 + timedelta(minutes=minutes),
            )
    async with city.sessions() as session, session.begin():
        done = await transition(
            session=session,
            request_id=request_id,
            to=DONE,
            actor=volunteer,
            note="delivered, paid in cash",
            now=T0 + timedelta(hours=2),
        )
    assert done.events[0].payload()["to_state"] == "done"
    request = await city.request(request_id)
    assert (request.state, request.outcome_note, request.sla_breached) == (
        "done",
        "delivered, paid in cash",
        False,
    )
    assert (await city.loads())["vol_a"] == 0
    async with city.sessions() as session:
        log = await request_log(session=session, request_id=request_id)
    steps = [
        (e.seq, e.actor, e.event.payload().get("to_state"), e.event.payload().get("cause"))
        for e in log
    ]
    assert steps == [
        (1, "agent01", None, None),
        (2, "agent01", "assigned", "auto_assign"),
        (3, "vol_a", "accepted", None),
        (4, "vol_a", "in_progress", None),
        (5, "vol_a", "done", None),
    ]
    assert all(isinstance(e.event, RequestStateChanged) for e in log[1:])


async def test_a_field_worker_moves_only_their_own_tasks(city: City) -> None:
    request_id = await city.create()
    async with city.sessions() as session, session.begin():
        await dispatch.auto_assign(session=session, request_id=request_id, actor=None, now=T0)
    async with city.sessions() as session:
        with pytest.raises(Forbidden, match="not your task"):
            await transition(
                session=session, request_id=request_id, to=ACCEPTED, actor=city["vol_b"]
            )
        with pytest.raises(Forbidden, match="cannot mark a task cancelled"):
            await transition(
                session=session,
                request_id=request_id,
                to=CANCELLED,
                actor=city["vol_a"],
                reason="bored",
            )
        with pytest.raises(Forbidden, match="for its field worker or a supervisor"):
            await transition(
                session=session, request_id=request_id, to=ACCEPTED, actor=city["agent01"]
            )


async def test_failing_needs_a_reason_and_ends_the_request_once(city: City) -> None:
    request_id = await city.create()
    async with city.sessions() as session, session.begin():
        await dispatch.auto_assign(session=session, request_id=request_id, actor=None, now=T0)
    async with city.sessions() as session:
        with pytest.raises(InvalidTransition, match="a reason is required"):
            await transition(session=session, request_id=request_id, to=FAILED, actor=city["vol_a"])
    async with city.sessions() as session, session.begin():
        await transition(
            session=session,
            request_id=request_id,
            to=FAILED,
            actor=city["vol_a"],
            reason="nobody opened the door",
        )
    async with city.sessions() as session:
        with pytest.raises(InvalidTransition, match="already failed"):
            await transition(
                session=session,
                request_id=request_id,
                to=CANCELLED,
                actor=city["boss"],
                reason="twice",
            )
    request = await city.request(request_id)
    assert (request.state, request.reason) == ("failed", "nobody opened the door")
    assert (await city.loads())["vol_a"] == 0


async def test_an_information_only_request_is_answered_by_the_agent(city: City) -> None:
    request_id = await city.create(category="payments", form={"question": "when?"}, address=None)
    request = await city.request(request_id)
    assert (request.needs_district, request.district_id) == (False, None)
    async with city.sessions() as session, session.begin():
        nobody = await dispatch.auto_assign(session=session, request_id=request_id, actor=None)
        assert nobody.worker_id is None
        await transition(
            session=session,
            request_id=request_id,
            to=DONE,
            actor=city["agent01"],
            note="told the dates",
        )
    assert (await city.request(request_id)).state == "done"


async def test_an_agent_cannot_close_a_field_task_as_done(city: City) -> None:
    request_id = await city.create()
    async with city.sessions() as session:
        with pytest.raises(Forbidden):
            await transition(session=session, request_id=request_id, to=DONE, actor=city["agent01"])


async def test_same_person_same_category_is_a_duplicate_and_merges(city: City) -> None:
    first = await city.create(caller={"number": "8 495 000 11 22", "age": 40})
    async with city.sessions() as session, session.begin():
        second = await create_request(
            session=session,
            data=city.form(address={"street": "Тверская", "house": "7"}, urgent=True),
            actor=city["agent01"],
            now=T0 + timedelta(hours=1),
        )
        await dispatch.auto_assign(session=session, request_id=second.request.id, actor=None)
    assert [(c.id, c.matches) for c in second.duplicates] == [(first, (Match.SAME_PHONE,))]
    assert (await city.loads())["vol_a"] == 1
    async with city.sessions() as session, session.begin():
        merged = await merge(
            session=session,
            primary_id=first,
            duplicate_id=second.request.id,
            actor=city["agent01"],
            now=T0 + timedelta(hours=2),
        )
    assert isinstance(merged.events[-1], RequestMerged)
    primary, duplicate = await city.request(first), await city.request(second.request.id)
    assert (duplicate.state, duplicate.merged_into_id) == ("cancelled", first)
    assert duplicate.reason == f"duplicate of request {first}"
    # The urgent duplicate's priority and (earlier) deadline move to the primary.
    assert primary.priority == Priority.URGENT
    assert primary.sla_deadline == T0 + timedelta(hours=1) + timedelta(hours=6)
    assert (await city.loads())["vol_a"] == 0
    async with city.sessions() as session:
        with pytest.raises(InvalidTransition, match="already merged"):
            await merge(
                session=session,
                primary_id=first,
                duplicate_id=second.request.id,
                actor=city["agent01"],
            )


async def test_an_open_request_past_its_deadline_is_alerted_once(city: City) -> None:
    late = await city.create()  # 12 h (a caller of 70)
    on_time = await city.create(caller={"age": 30}, idempotency_key="other-form-1")
    async with city.sessions() as session, session.begin():
        alerts = await record_sla_breaches(session=session, now=T0 + timedelta(hours=13))
    assert [a.request_id for a in alerts] == [late]
    async with city.sessions() as session, session.begin():
        again = await record_sla_breaches(session=session, now=T0 + timedelta(hours=14))
    assert again == []
    assert (await city.request(late)).sla_breached
    assert not (await city.request(on_time)).sla_breached


async def test_a_request_done_after_its_deadline_counts_as_breached(city: City) -> None:
    request_id = await city.create(category="payments", form={"question": "?"}, address=None)
    async with city.sessions() as session, session.begin():
        await transition(
            session=session,
            request_id=request_id,
            to=DONE,
            actor=city["agent01"],
            now=T0 + timedelta(hours=100),
        )
    assert (await city.request(request_id)).sla_breached


async def test_request_events_cannot_be_changed_or_deleted(city: City) -> None:
    request_id = await city.create()
    for statement in (
        update(RequestEvent).values(type="forged"),
        text("DELETE FROM request_events"),
    ):
        async with city.sessions() as session:
            with pytest.raises(DBAPIError, match="append-only"):
                await session.execute(statement)
            await session.rollback()
    async with city.sessions() as session, session.begin():
        await session.execute(text("DELETE FROM requests"))
    async with city.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(RequestEvent)) == 0
    assert request_id


async def test_staff_read_requests_and_a_callers_history_with_an_audit_row(city: City) -> None:
    first = await city.create()
    second = await city.create(category="payments", form={"question": "?"}, address=None)
    await city.create(caller={"number": "+7 999 111-22-33"})
    async with city.sessions() as session, session.begin():
        view = await get_request(session=session, request_id=first, actor=city["agent01"])
        history = await caller_requests(
            session=session, number="84950001122", actor=city["agent01"], ip="127.0.0.1"
        )
        with pytest.raises(Forbidden):
            await get_request(session=session, request_id=first, actor=city["vol_a"])
    assert view.caller.number == "+7 495 000-11-22"
    assert {h.id for h in history} == {first, second}
    async with city.sessions() as session:
        actions = (await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id))).all()
    assert actions[-2:] == ["request.read", "caller.requests_read"]


async def test_a_replacing_configuration_import_erases_requests_with_their_logs(
    city: City,
) -> None:
    await city.create()
    async with city.sessions() as session:
        await import_config(
            session=session, config=parse_config(SMALL), replace=True, password_cost=FAST_HASHING
        )
    async with city.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Request)) == 0
        assert await session.scalar(select(func.count()).select_from(RequestEvent)) == 0
