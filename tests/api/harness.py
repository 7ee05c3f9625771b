"""The browser API on a real database, driven in-process through httpx's ASGI transport: a
configuration (SMALL: queues `medical` and `overflow`, users agent01 and boss), a real router
(not started: routes read it), a manual clock, and users made on demand with any roles.

Other API tests build on `ApiHarness` (fixture `api` in tests/api/conftest.py and the auth and
audit test folders)."""

from __future__ import annotations

import functools
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.api.app import create_api
from hotline.api.deps import LiveState
from hotline.auth.service import CSRF_HEADER, LoginLimiter
from hotline.config.loader import parse_config
from hotline.config.service import export_config, import_config, to_routing_specs
from hotline.core.clock import ManualClock
from hotline.core.events import EventBus, InProcessBus
from hotline.core.settings import Settings
from hotline.live.api import attach
from hotline.live.service import LiveFeed, start_live
from hotline.routing.service import RoutingService, load_engine
from hotline.users.models import RoleRecord, User
from hotline.users.passwords import Argon2Cost, hash_password
from tests.config.factories import SMALL

START = 1_741_078_800.0  # a Tuesday, 09:00 in Moscow: the SMALL configuration's line is open
PASSWORD = "correct horse battery"
CHEAP = Argon2Cost(time_cost=1, memory_kib=64, parallelism=1)


@functools.cache
def password_hash(password: str) -> str:
    """Today's hash of `password`, made once per test run (so sign-in does not re-hash)."""
    return hash_password(password)


@dataclass
class ApiHarness:
    api: FastAPI
    live: LiveState
    clock: ManualClock
    sessions: async_sessionmaker[AsyncSession]
    settings: Settings

    def client(self, *, address: str = "127.0.0.1") -> httpx.AsyncClient:
        """A browser at `address`: keeps cookies, talks to the app in-process."""
        transport = httpx.ASGITransport(app=self.api, client=(address, 40000))
        return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080")

    async def add_user(
        self,
        username: str,
        *,
        roles: Iterable[str] = ("agent",),
        password: str = PASSWORD,
        must_change_password: bool = False,
        active: bool = True,
        password_hash_: str | None = None,
        department: str | None = None,
    ) -> str:
        async with self.sessions() as session, session.begin():
            records = (
                await session.scalars(select(RoleRecord).where(RoleRecord.id.in_(list(roles))))
            ).all()
            user = User(
                username=username,
                name=username.title(),
                password_hash=password_hash_ or password_hash(password),
                active=active,
                must_change_password=must_change_password,
                department=department,
                roles=list(records),
            )
            session.add(user)
            await session.flush()
            return user.id

    @asynccontextmanager
    async def signed_in(
        self, username: str, password: str = PASSWORD, *, address: str = "127.0.0.1"
    ) -> AsyncIterator[httpx.AsyncClient]:
        """A client signed in as `username`, sending its CSRF token with every request."""
        async with self.client(address=address) as client:
            answer = await client.post(
                "/api/v1/auth/login", json={"username": username, "password": password}
            )
            assert answer.status_code == 200, answer.text
            client.headers[CSRF_HEADER] = answer.json()["csrf_token"]
            yield client

    async def live_feed(self, routing: RoutingService, bus: EventBus) -> LiveFeed:
        """A started live feed following `routing`'s events on `bus`, attached to the API as the
        composition root attaches it (close it before the router)."""
        feed = await start_live(
            settings=self.settings,
            routing=routing,
            bus=bus,
            sessions=self.sessions,
            clock=self.clock,
            specs=self.live.specs,
            names=self.live.queue_names,
        )
        attach(self.api, feed)
        return feed


async def build_harness(
    sessions: async_sessionmaker[AsyncSession], *, configure: bool = True, **settings: Any
) -> ApiHarness:
    """The API on the database `sessions` reach: with `configure`, SMALL is imported first
    (agent01 and boss get `PASSWORD`); otherwise the database holds a configuration already."""
    if configure:
        async with sessions() as session:
            await import_config(
                session=session,
                config=parse_config(SMALL, filename="small.yaml"),
                passwords={"agent01": PASSWORD, "boss": PASSWORD},
                password_cost=CHEAP,
            )
    async with sessions() as session:
        engine = await load_engine(session=session)
        config = await export_config(session=session)
    clock = ManualClock(START)
    routing = RoutingService(engine=engine, clock=clock, sessions=sessions, bus=InProcessBus())
    values: dict[str, Any] = {"http_cookie_secure": False, "timezone": "Europe/Moscow"}
    values.update(settings)
    config_settings = Settings(**values)
    live = LiveState(
        routing=routing,
        specs=to_routing_specs(config).queues,
        queue_names={q.id: q.name for q in config.queues},
        sessions=sessions,
        clock=clock,
        timezone=config_settings.timezone,
        sip=dict,
        media=list,
        calls=lambda: 0,
        started=time.monotonic(),
        settings=config_settings,
        login_limiter=LoginLimiter.from_settings(config_settings, clock),
    )
    return ApiHarness(
        api=create_api(live),
        live=live,
        clock=clock,
        sessions=sessions,
        settings=config_settings,
    )


@pytest_asyncio.fixture(loop_scope="function", name="api")
async def api_fixture(sessions: async_sessionmaker[AsyncSession]) -> ApiHarness:
    """The browser API on each database, SMALL configured (import it into a conftest.py)."""
    return await build_harness(sessions)
