"""The live router on both databases: decisions are written down before they are handed on, the
contact's row and log follow the call, and a restart gives waiting callbacks their places back.
The call layer's own writes share the router's group commits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.config.loader import parse_config
from hotline.config.service import import_config
from hotline.contacts.models import Contact
from hotline.contacts.service import ContactChange, contact_log, create_contact
from hotline.core.clock import ManualClock
from hotline.core.errors import NotFound
from hotline.core.events import Event, InProcessBus
from hotline.routing import events as ev
from hotline.routing import types as rt
from hotline.routing.service import RoutingService, agent_skills, load_engine
from hotline.users.models import AgentStateRecord, User
from tests.config.factories import FAST_HASHING, SMALL

START = 1_741_078_800.0  # a Tuesday, 09:00 in Moscow: the SMALL configuration's line is open


@dataclass
class Harness:
    service: RoutingService
    sessions: async_sessionmaker[AsyncSession]
    clock: ManualClock
    bus: InProcessBus
    agent_id: str
    decisions: list[rt.Decision] = field(default_factory=list)
    published: list[Event] = field(default_factory=list)

    async def new_contact(self, *, queue: str = "medical") -> str:
        async with self.sessions() as session, session.begin():
            contact = await create_contact(
                session=session, caller_number="+79990001122", queue_id=queue
            )
        return contact.id

    async def row(self, contact_id: str) -> Contact:
        async with self.sessions() as session:
            row = await session.get(Contact, contact_id)
            assert row is not None
            return row

    async def log(self, contact_id: str) -> list[str]:
        async with self.sessions() as session:
            return [e.event.type for e in await contact_log(session=session, contact_id=contact_id)]


async def _configure(sessions: async_sessionmaker[AsyncSession]) -> str:
    async with sessions() as session, session.begin():
        config = parse_config(SMALL, filename="small.yaml")
        await import_config(session=session, config=config, password_cost=FAST_HASHING)
    async with sessions() as session:
        return (await session.scalars(select(User.id).where(User.username == "agent01"))).one()


async def _service(
    sessions: async_sessionmaker[AsyncSession], clock: ManualClock, bus: InProcessBus
) -> RoutingService:
    async with sessions() as session:
        engine = await load_engine(session=session)
    service = RoutingService(engine=engine, clock=clock, sessions=sessions, bus=bus)
    await service.start(run_timers=False)
    return service


@pytest_asyncio.fixture(loop_scope="function")
async def harness(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[Harness]:
    agent_id = await _configure(sessions)
    clock = ManualClock(START)
    bus = InProcessBus()
    service = await _service(sessions, clock, bus)
    h = Harness(service, sessions, clock, bus, agent_id)
    service.subscribe(h.decisions.append)
    bus.subscribe(h.published.append)
    try:
        yield h
    finally:
        await service.close()


async def _login(h: Harness, *, ready: bool = True) -> None:
    async with h.sessions() as session:
        skills = await agent_skills(session=session, user_id=h.agent_id)
    await h.service.login(h.agent_id, skills, ready=ready)


async def test_a_call_is_offered_answered_and_ended_with_its_log(h: Harness) -> None:
    await _login(h)
    contact_id = await h.new_contact()
    await h.service.arrive(contact_id, "medical")
    offers = [d for d in h.decisions if isinstance(d, rt.Offer)]
    assert [(o.contact_id, o.agent_id) for o in offers] == [(contact_id, h.agent_id)]
    row = await h.row(contact_id)
    assert (row.state, row.agent_id) == ("offered", h.agent_id)

    h.clock.advance(4)
    await h.service.answer(contact_id)
    h.clock.advance(60)
    await h.service.hangup(contact_id)

    row = await h.row(contact_id)
    assert (row.state, row.outcome) == ("ended", "handled")
    assert row.answered_at is not None
    assert row.ended_at is not None
    assert await h.log(contact_id) == [
        "contact.queued",
        "contact.offered",
        "contact.answered",
        "contact.ended",
    ]
    published = [e.type for e in h.published if e.correlation_id == contact_id]
    assert published == await h.log(contact_id)


async def test_agent_states_are_kept_in_the_history(h: Harness) -> None:
    await _login(h, ready=False)
    await h.service.set_ready(h.agent_id)
    await h.service.set_not_ready(h.agent_id, "lunch")
    async with h.sessions() as session:
        rows = (
            await session.scalars(
                select(AgentStateRecord)
                .where(AgentStateRecord.user_id == h.agent_id)
                .order_by(AgentStateRecord.id)
            )
        ).all()
    assert [(r.state, r.reason) for r in rows] == [
        ("not_ready", "login"),
        ("ready", None),
        ("not_ready", "lunch"),
    ]


async def test_an_unanswered_offer_times_out_on_the_clock(h: Harness) -> None:
    await _login(h)
    contact_id = await h.new_contact()
    await h.service.arrive(contact_id, "medical")
    h.clock.advance(21)  # the default offer timeout is 20 s
    await h.service.tick()
    withdrawn = [d for d in h.decisions if isinstance(d, rt.OfferWithdrawn)]
    assert [(w.contact_id, w.reason) for w in withdrawn] == [(contact_id, "missed")]
    assert (await h.row(contact_id)).state == "waiting"
    assert h.service.engine.agent(h.agent_id).state is rt.AgentState.NOT_READY


async def test_an_abandon_is_recorded_with_its_wait(h: Harness) -> None:
    contact_id = await h.new_contact()
    await h.service.arrive(contact_id, "medical")
    h.clock.advance(37)
    await h.service.abandon(contact_id)
    row = await h.row(contact_id)
    assert (row.state, row.outcome) == ("ended", "abandoned")
    async with h.sessions() as session:
        (*_, last) = await contact_log(session=session, contact_id=contact_id)
    assert last.event.model_dump()["waited"] == pytest.approx(37)


async def test_a_callback_survives_a_restart_in_its_place(h: Harness) -> None:
    first = await h.new_contact()
    await h.service.arrive(first, "medical")
    h.clock.advance(10)
    second = await h.new_contact()
    await h.service.arrive(second, "medical")
    h.clock.advance(5)
    await h.service.request_callback(first, number="+79990001122")
    # the callback is durable by the time request_callback returns
    assert (await h.row(first)).attributes["callback"]["number"] == "+79990001122"
    await h.service.close()

    # a new process: the waiting caller's call died with the old one; the callback did not
    h.clock.advance(300)
    service = await _service(h.sessions, h.clock, h.bus)
    try:
        async with h.sessions() as session:
            assert await service.restore(session=session) == 1
        (restored,) = service.engine.contacts()
        assert restored.contact_id == first
        assert restored.is_callback
        assert restored.arrived == pytest.approx(START)
        lost = await h.row(second)
        assert (lost.state, lost.outcome) == ("ended", "cancelled")

        decisions: list[rt.Decision] = []
        service.subscribe(decisions.append)
        async with h.sessions() as session:
            skills = await agent_skills(session=session, user_id=h.agent_id)
        await service.login(h.agent_id, skills, ready=True)
        offers = [d for d in decisions if isinstance(d, rt.Offer)]
        assert [(o.contact_id, o.is_callback) for o in offers] == [(first, True)]
    finally:
        await service.close()


async def test_a_callback_to_be_retried_waits_again_in_its_row_and_survives_a_restart(
    h: Harness,
) -> None:
    await _login(h)
    contact_id = await h.new_contact()
    await h.service.arrive(contact_id, "medical")
    await h.service.decline(contact_id)  # the agent is not ready now: the contact waits
    await h.service.request_callback(contact_id, number="+79990001122")
    await h.service.set_ready(h.agent_id)
    await h.service.answer(contact_id)  # the agent took the callback; the caller did not answer
    h.clock.advance(30)
    await h.service.callback_failed(contact_id, retry_in=300)
    row = await h.row(contact_id)
    assert (row.state, row.agent_id) == ("waiting", None)
    assert (await h.log(contact_id))[-1] == "contact.callback_rescheduled"
    await h.service.close()

    service = await _service(h.sessions, h.clock, h.bus)
    try:
        async with h.sessions() as session:
            assert await service.restore(session=session) == 1
        assert service.engine.contact(contact_id).is_callback
    finally:
        await service.close()


async def test_a_decision_for_a_contact_without_a_row_loses_nothing_else(h: Harness) -> None:
    await _login(h, ready=False)
    ghost = "0" * 32  # the call layer never created this contact's row
    real = await h.new_contact()
    await h.service.arrive(ghost, "medical")
    await h.service.arrive(real, "medical")
    assert await h.log(real) == ["contact.queued"]


def _suggested() -> ev.CallbackSuggested:
    return ev.CallbackSuggested(queue_id="medical", message=None)


async def test_the_call_layers_writes_at_once_share_a_commit_and_are_published(
    h: Harness,
) -> None:
    commits: list[object] = []

    def committed(connection: object) -> None:
        commits.append(connection)

    bind: Any = h.sessions.kw["bind"]
    event.listen(bind.sync_engine, "commit", committed)
    try:
        ids = [f"{n:032x}" for n in range(1, 41)]
        await asyncio.gather(
            *(
                h.service.log(
                    ContactChange(
                        contact_id,
                        (_suggested(),),
                        new={"caller_number": "+79990001122"},
                        attributes={"topic": "medical"},
                    )
                )
                for contact_id in ids
            )
        )
    finally:
        event.remove(bind.sync_engine, "commit", committed)
    assert len(commits) < len(ids)
    for contact_id in ids:
        assert await h.log(contact_id) == ["contact.callback_suggested"]
        row = await h.row(contact_id)
        assert (row.correlation_id, row.attributes, row.last_seq) == (
            contact_id,
            {"topic": "medical"},
            1,
        )
    published = {e.correlation_id for e in h.published if e.type == "contact.callback_suggested"}
    assert published == set(ids)


async def test_a_write_for_an_unknown_contact_fails_alone(h: Harness) -> None:
    real = await h.new_contact()
    ghost, written = await asyncio.gather(
        h.service.log(ContactChange("0" * 32, (_suggested(),))),
        h.service.log(ContactChange(real, (_suggested(),), {"state": "ended"})),
        return_exceptions=True,
    )
    assert isinstance(ghost, NotFound)
    assert written is None
    assert await h.log(real) == ["contact.callback_suggested"]
    assert (await h.row(real)).state == "ended"


async def test_attributes_are_merged_into_the_contacts(h: Harness) -> None:
    contact_id = await h.new_contact()
    await h.service.log(
        ContactChange(contact_id, attributes={"topic": "medical", "callback": {"number": "1"}})
    )
    await h.service.log(ContactChange(contact_id, attributes={"callback": {"attempts": 2}}))
    assert (await h.row(contact_id)).attributes == {
        "topic": "medical",
        "callback": {"number": "1", "attempts": 2},
    }


async def test_the_call_layer_still_writes_once_the_router_has_stopped(h: Harness) -> None:
    contact_id = await h.new_contact()
    await h.service.close()
    await h.service.log(ContactChange(contact_id, (_suggested(),)))
    assert await h.log(contact_id) == ["contact.callback_suggested"]
    assert [e.correlation_id for e in h.published] == [contact_id]


# the fixture is named `harness`; tests read better with `h`
@pytest.fixture
def h(harness: Harness) -> Harness:
    return harness
