"""A live router on a real database (both kinds), a live feed on its bus, and helpers to read what
pages receive and what the wallboard should show."""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.config.loader import parse_config
from hotline.config.service import export_config, import_config, to_routing_specs
from hotline.contacts.service import create_contact
from hotline.core.clock import ManualClock
from hotline.core.events import InProcessBus
from hotline.live.events import LiveEvent
from hotline.live.service import LiveFeed, Subscription, Viewer, day_start
from hotline.live.wallboard import Person, Snapshot, build_snapshot
from hotline.routing.service import RoutingService, agent_skills, load_engine
from hotline.users.models import User
from tests.config.factories import FAST_HASHING

START = 1_741_078_800.0  # a Tuesday, 09:00 in Moscow: the city calendar is open
TIMEZONE = "Europe/Moscow"

LIVE = textwrap.dedent(
    """\
    version: 1
    skills:
      - {id: medical, name: Medical help}
      - {id: ru, name: Russian, kind: language}
      - {id: en, name: English, kind: language}
    calendars:
      - id: city
        name: City hours
        timezone: Europe/Moscow
        hours:
          - {days: mon-fri, open: "08:00", close: "22:00"}
    queues:
      - id: medical
        name: Medical help
        skills: [{skill: medical}, {skill: ru}]
        strategy: best_skill
        hours: city
        wrap_up_seconds: 15
        overflow:
          - {after: 60, action: callback}
          - {after: 120, action: widen, skills: [{skill: ru, min_level: 3}]}
      - id: english
        name: English line
        skills: [{skill: en}]
        strategy: longest_idle
        offer_timeout_seconds: 10
        overflow:
          - {after: 90, action: move, queue: overflow}
      - id: overflow
        name: Overflow
        strategy: round_robin
    lines:
      - {id: city, name: City line, number: "+7 495 000-11-22", queue: medical, hours: city}
    users:
      - username: agent01
        name: Anna Ivanova
        roles: [agent]
        skills: [{skill: medical, level: 7}, {skill: ru, level: 10, preference: 1}]
      - username: agent02
        name: Pavel Orlov
        roles: [agent]
        skills: [{skill: medical, level: 3}, {skill: ru, level: 5}, {skill: en, level: 5}]
      - username: agent03
        name: Olga Smirnova
        roles: [agent]
        skills: [{skill: en, level: 8}]
      - {username: boss, name: Boris Petrov, roles: [supervisor]}
    """
)


@dataclass
class Live:
    """The router, its feed, and who is who (user ids by username)."""

    routing: RoutingService
    feed: LiveFeed
    sessions: async_sessionmaker[AsyncSession]
    clock: ManualClock
    bus: InProcessBus
    users: dict[str, str]
    names: dict[str, str] = field(default_factory=dict)

    async def new_contact(self) -> str:
        async with self.sessions() as session, session.begin():
            contact = await create_contact(session=session, caller_number="+79990001122")
        return contact.id

    async def login(self, username: str, *, ready: bool = True) -> None:
        user_id = self.users[username]
        async with self.sessions() as session:
            skills = await agent_skills(session=session, user_id=user_id)
        await self.routing.login(user_id, skills, ready=ready)

    async def close(self) -> None:
        await self.feed.close()
        await self.routing.close()

    def viewer(self, username: str) -> Viewer:
        return Viewer(self.users[username], username, sees_all=username == "boss")

    async def fresh(self) -> Snapshot:
        """The wallboard straight from the router (not from the feed): what the events must add
        up to."""
        async with self.sessions() as session:
            people = {
                u.id: Person(u.id, u.username, u.name) for u in await session.scalars(select(User))
            }
        now = self.clock.now()
        return build_snapshot(
            self.routing.engine,
            self.feed._specs,
            people,
            now=now,
            day_start=day_start(now, TIMEZONE),
            names=self.names,
        )


def received(subscription: Subscription) -> list[LiveEvent]:
    """Everything the page has been sent so far (after `feed.settle()`), without waiting."""
    out = []
    for event in subscription.drain():
        assert event is not None, "the stream ended"
        out.append(event)
    return out


async def open_live(
    sessions: async_sessionmaker[AsyncSession],
    *,
    ring_size: int = 10_000,
    client_buffer: int = 100_000,
    coalesce_seconds: float = 0.2,
) -> Live:
    """A router (its timers driven by the test's clock) and a live feed following it."""
    clock = ManualClock(START)
    bus = InProcessBus()
    async with sessions() as session:
        engine = await load_engine(session=session)
        config = await export_config(session=session)
        users = {u.username: u.id for u in await session.scalars(select(User))}
    specs = to_routing_specs(config).queues
    names = {q.id: q.name for q in config.queues}
    routing = RoutingService(engine=engine, clock=clock, sessions=sessions, bus=bus)
    await routing.start(run_timers=False)
    feed = LiveFeed(
        routing=routing,
        bus=bus,
        sessions=sessions,
        clock=clock,
        specs=specs,
        names=names,
        timezone=TIMEZONE,
        ring_size=ring_size,
        client_buffer=client_buffer,
        coalesce_seconds=coalesce_seconds,
    )
    await feed.start()
    return Live(routing, feed, sessions, clock, bus, users, names)


async def configure(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        await import_config(
            session=session,
            config=parse_config(LIVE, filename="live.yaml"),
            password_cost=FAST_HASHING,
        )


@pytest_asyncio.fixture(loop_scope="function")
async def live(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[Live]:
    await configure(sessions)
    opened = await open_live(sessions)
    try:
        yield opened
    finally:
        await opened.close()
