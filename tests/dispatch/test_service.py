"""Dispatch on both databases: automatic assignment by district, kind, category, availability,
capacity and load; manual override; decline and the acceptance timeout handing a task on; and a
field worker's own view of their tasks, with the caller's number hidden."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from hotline.audit.models import AuditEntry
from hotline.core.errors import Forbidden
from hotline.dispatch import service as dispatch
from hotline.dispatch.assignment import AssignmentRefused
from hotline.requests.lifecycle import ACCEPTED
from hotline.requests.service import request_log, transition
from tests.requests.city import T0, City


async def auto(city: City, request_id: str, *, minutes: float = 0) -> str | None:
    async with city.sessions() as session, session.begin():
        result = await dispatch.auto_assign(
            session=session,
            request_id=request_id,
            actor=None,
            now=T0 + timedelta(minutes=minutes),
        )
    return result.worker_id


async def test_tasks_go_to_the_least_loaded_and_never_beyond_capacity(city: City) -> None:
    # vol_a holds 2, vol_b 1; the courier and vol_north serve another district.
    requests = [await city.create() for _ in range(4)]
    chosen = [await auto(city, rid, minutes=n) for n, rid in enumerate(requests)]
    names = {p.id: name for name, p in city.people.items()}
    assert [names.get(w) if w else None for w in chosen] == ["vol_a", "vol_b", "vol_a", None]
    assert await city.loads() == {
        "vol_a": 2,
        "vol_b": 1,
        "vol_north": 0,
        "courier": 0,
        "nurse": 0,
    }
    assert (await city.request(requests[3])).state == "new"


async def test_a_category_goes_only_to_the_kinds_that_fulfil_it(city: City) -> None:
    request_id = await city.create(category="sick_leave", form={})
    assert await auto(city, request_id) == city["nurse"].id


async def test_a_worker_off_duty_gets_no_new_task(city: City) -> None:
    async with city.sessions() as session, session.begin():
        view = await dispatch.set_available(
            session=session, worker_id=city["vol_a"].id, available=False, actor=city["vol_a"]
        )
        assert (view.username, view.available) == ("vol_a", False)
        with pytest.raises(Forbidden):
            await dispatch.set_available(
                session=session, worker_id=city["vol_b"].id, available=False, actor=city["vol_a"]
            )
    assert await auto(city, await city.create()) == city["vol_b"].id


async def test_a_declined_task_goes_to_the_next_worker_and_not_back(city: City) -> None:
    request_id = await city.create()
    assert await auto(city, request_id) == city["vol_a"].id
    async with city.sessions() as session, session.begin():
        handed = await dispatch.decline(
            session=session,
            request_id=request_id,
            actor=city["vol_a"],
            reason="I am ill",
            now=T0 + timedelta(minutes=3),
        )
    assert handed.worker_id == city["vol_b"].id
    async with city.sessions() as session, session.begin():
        again = await dispatch.decline(
            session=session, request_id=request_id, actor=city["vol_b"], reason="too far"
        )
    assert again.worker_id is None  # vol_a declined before: not offered it again
    request = await city.request(request_id)
    assert (request.state, request.reason) == ("new", "too far")
    assert sorted(request.excluded_workers) == sorted([city["vol_a"].id, city["vol_b"].id])
    assert await city.loads() == dict.fromkeys(
        ["vol_a", "vol_b", "vol_north", "courier", "nurse"], 0
    )


async def test_a_task_not_accepted_in_time_is_handed_on(city: City) -> None:
    slow = await city.create()
    assert await auto(city, slow) == city["vol_a"].id
    async with city.sessions() as session, session.begin():
        early = await dispatch.reassign_overdue(session=session, now=T0 + timedelta(minutes=29))
    assert early == []
    async with city.sessions() as session, session.begin():
        (moved,) = await dispatch.reassign_overdue(session=session, now=T0 + timedelta(minutes=31))
    assert moved.worker_id == city["vol_b"].id
    async with city.sessions() as session:
        log = await request_log(session=session, request_id=slow)
    assert [(e.event.payload().get("to_state"), e.event.payload().get("cause")) for e in log] == [
        (None, None),
        ("assigned", "auto_assign"),
        ("new", "accept_timeout"),
        ("assigned", "auto_assign"),
    ]
    assert log[2].event.payload()["reason"] == "not accepted in time"


async def test_an_accepted_task_is_not_handed_on(city: City) -> None:
    request_id = await city.create()
    await auto(city, request_id)
    async with city.sessions() as session, session.begin():
        await transition(session=session, request_id=request_id, to=ACCEPTED, actor=city["vol_a"])
        assert await dispatch.reassign_overdue(session=session, now=T0 + timedelta(hours=5)) == []


async def test_a_supervisor_may_assign_across_districts_but_not_beyond_capacity_or_kind(
    city: City,
) -> None:
    request_id = await city.create()  # in the centre
    async with city.sessions() as session, session.begin():
        result = await dispatch.assign(
            session=session,
            request_id=request_id,
            worker_id=city["vol_north"].id,
            actor=city["boss"],
        )
    assert result.worker_id == city["vol_north"].id
    other = await city.create()
    async with city.sessions() as session:
        with pytest.raises(AssignmentRefused, match="already holds 1 of 1 tasks"):
            await dispatch.assign(
                session=session,
                request_id=other,
                worker_id=city["vol_north"].id,
                actor=city["boss"],
            )
        with pytest.raises(AssignmentRefused, match="does not fulfil"):
            await dispatch.assign(
                session=session, request_id=other, worker_id=city["nurse"].id, actor=city["boss"]
            )
        with pytest.raises(Forbidden, match="supervisor"):
            await dispatch.assign(
                session=session, request_id=other, worker_id=city["vol_a"].id, actor=city["agent01"]
            )


async def test_a_reassignment_moves_the_task_and_its_count(city: City) -> None:
    request_id = await city.create()
    await auto(city, request_id)
    async with city.sessions() as session, session.begin():
        await dispatch.assign(
            session=session, request_id=request_id, worker_id=city["vol_b"].id, actor=city["boss"]
        )
    loads = await city.loads()
    assert (loads["vol_a"], loads["vol_b"]) == (0, 1)


async def test_two_assignments_racing_for_the_last_slot_cannot_both_win(city: City) -> None:
    # In the north only vol_north (one slot) takes medicine once the courier is off duty.
    async with city.sessions() as session, session.begin():
        await dispatch.set_available(
            session=session, worker_id=city["courier"].id, available=False, actor=None
        )
    north = {"street": "Мира", "house": "1", "postcode": "127000"}
    first = await city.create(address=north)
    second = await city.create(address=north)
    chosen = await asyncio.gather(auto(city, first), auto(city, second))
    assert sorted(chosen, key=str) == sorted([city["vol_north"].id, None], key=str)
    assert (await city.loads())["vol_north"] == 1


async def test_a_field_worker_sees_only_their_tasks_and_not_the_full_number(city: City) -> None:
    mine = await city.create()
    await auto(city, mine)
    theirs = await city.create()
    await auto(city, theirs)  # vol_b's
    async with city.sessions() as session, session.begin():
        tasks = await dispatch.worker_tasks(session=session, actor=city["vol_a"], ip="127.0.0.1")
        with pytest.raises(Forbidden, match="not your task"):
            await dispatch.worker_task(session=session, request_id=theirs, actor=city["vol_a"])
        with pytest.raises(Forbidden, match="for field workers"):
            await dispatch.worker_tasks(session=session, actor=city["agent01"])
        one = await dispatch.worker_task(session=session, request_id=mine, actor=city["vol_a"])
    assert [t.id for t in tasks] == [mine]
    assert (tasks[0].caller_number, tasks[0].street, tasks[0].house) == (
        "***-**-22",
        "ул. Тверская",
        "5",
    )
    assert "0001122" not in one.model_dump_json()
    async with city.sessions() as session:
        actions = (await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id))).all()
    assert actions[-2:] == ["request.tasks_read", "request.read"]
