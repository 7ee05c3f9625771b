"""A supervisor's change of an agent's skills: stored in the database, then live in the router
(the next offer follows it), and published for the wallboard."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.contacts.service import create_contact
from hotline.core.clock import ManualClock
from hotline.core.errors import InvalidInput
from hotline.core.events import Event, InProcessBus
from hotline.routing import events as ev
from hotline.routing import types as rt
from hotline.routing.service import RoutingService, agent_skills, load_engine, save_agent_skills
from hotline.users.models import User
from tests.live.conftest import START, configure

ENGLISH = [rt.AgentSkill("en", 6, 0)]


@pytest.fixture
def bus() -> InProcessBus:
    return InProcessBus()


@pytest_asyncio.fixture(loop_scope="function")
async def routing(
    sessions: async_sessionmaker[AsyncSession], bus: InProcessBus
) -> AsyncIterator[RoutingService]:
    await configure(sessions)
    async with sessions() as session:
        engine = await load_engine(session=session)
    service = RoutingService(engine=engine, clock=ManualClock(START), sessions=sessions, bus=bus)
    await service.start(run_timers=False)
    try:
        yield service
    finally:
        await service.close()


async def _user(sessions: async_sessionmaker[AsyncSession], username: str) -> str:
    async with sessions() as session:
        return (await session.scalars(select(User.id).where(User.username == username))).one()


async def _save(
    sessions: async_sessionmaker[AsyncSession], user_id: str, skills: list[rt.AgentSkill]
) -> None:
    async with sessions() as session, session.begin():
        await save_agent_skills(session=session, user_id=user_id, skills=skills)


async def test_saved_skills_replace_the_agents_skills(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await configure(sessions)
    anna = await _user(sessions, "agent01")
    await _save(sessions, anna, ENGLISH)
    async with sessions() as session:
        assert await agent_skills(session=session, user_id=anna) == ENGLISH


async def test_unknown_skills_are_refused_one_problem_each(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await configure(sessions)
    anna = await _user(sessions, "agent01")
    with pytest.raises(InvalidInput) as refused:
        await _save(
            sessions, anna, [rt.AgentSkill("plumbing"), rt.AgentSkill("en"), rt.AgentSkill("x")]
        )
    assert [p["loc"] for p in refused.value.details["problems"]] == [
        ["body", 0, "skill"],
        ["body", 2, "skill"],
    ]
    async with sessions() as session:
        assert [s.skill for s in await agent_skills(session=session, user_id=anna)] == [
            "medical",
            "ru",
        ]


async def test_a_logged_in_agent_is_offered_by_the_new_skills_at_once(
    routing: RoutingService, sessions: async_sessionmaker[AsyncSession]
) -> None:
    anna = await _user(sessions, "agent01")
    async with sessions() as session:
        skills = await agent_skills(session=session, user_id=anna)
    # Outside the session: on SQLite its connection is the one writer the router needs.
    await routing.login(anna, skills, ready=True)
    offers: list[rt.Decision] = []
    routing.subscribe(offers.append)
    async with sessions() as session, session.begin():
        contact = await create_contact(session=session)
    await routing.arrive(contact.id, "english")
    assert not [d for d in offers if isinstance(d, rt.Offer)]  # Anna speaks no English yet

    await _save(sessions, anna, ENGLISH)
    await routing.set_skills(anna, ENGLISH)
    assert [(d.contact_id, d.agent_id) for d in offers if isinstance(d, rt.Offer)] == [
        (contact.id, anna)
    ]


async def test_skills_of_an_agent_the_router_has_not_seen_are_published_and_used_at_login(
    routing: RoutingService, sessions: async_sessionmaker[AsyncSession], bus: InProcessBus
) -> None:
    published: list[Event] = []
    bus.subscribe(published.append)
    olga = await _user(sessions, "agent03")
    await _save(sessions, olga, ENGLISH)
    await routing.set_skills(olga, ENGLISH)
    (changed,) = published
    assert isinstance(changed, ev.AgentSkillsChanged)
    assert (changed.agent_id, changed.skills) == (
        olga,
        [{"skill": "en", "level": 6, "preference": 0}],
    )
    async with sessions() as session:
        skills = await agent_skills(session=session, user_id=olga)
    await routing.login(olga, skills)
    assert routing.engine.agent(olga).skills == {"en": ENGLISH[0]}
