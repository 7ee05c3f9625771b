"""The agent desktop under test, two ways:

- `desk` (each database): the API harness (tests/api/harness.py) with a live `AgentDesk` on its
  router, which is started (the desk drives it) on a manual clock with no timers running. No
  phone registers to a harness and its softphone's media engine is not started, so no agent's
  phone can ring here: tests that need a ready agent log them in on the router itself, as a phone's
  registration would;
- `desk_on(hotline)`: the desk wired into a running platform (tests/calls) the way the
  composition root wires it, served by the platform's own HTTP server, with `signed_in` browsers
  talking to it over loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest_asyncio
from sqlalchemy import select

from hotline.agents.api import attach_desk
from hotline.agents.service import AgentDesk
from hotline.auth.service import CSRF_HEADER
from hotline.calls.browser import BrowserDialer, ChosenPhoneDialer
from hotline.calls.legs import SipPhoneDialer
from hotline.core.events import InProcessBus
from hotline.telephony.media.config import MediaConfig
from hotline.telephony.media.engine import LocalMediaEngine
from hotline.telephony.sip.endpoint import Endpoint
from hotline.telephony.sip.registrar import Registrar, RegistrarConfig
from hotline.users.models import User
from tests.api.harness import PASSWORD, ApiHarness, api_fixture, password_hash
from tests.calls.conftest import Hotline, prompt_cache

__all__ = ["api_fixture", "prompt_cache"]


@pytest_asyncio.fixture(loop_scope="function")
async def desk(api: ApiHarness) -> AsyncIterator[AgentDesk]:
    registrar = Registrar(RegistrarConfig(require_auth=False), authenticator=None)
    unstarted_media = LocalMediaEngine(MediaConfig())
    unstarted = SipPhoneDialer(Endpoint(), registrar, unstarted_media)
    routing = api.live.routing
    await routing.start(run_timers=False)
    agent_desk = AgentDesk(
        routing=routing,
        phones=ChosenPhoneDialer(sip=unstarted, browser=BrowserDialer(unstarted_media)),
        sessions=api.sessions,
        clock=api.clock,
        bus=InProcessBus(),
        specs=api.live.specs,
        queue_names=api.live.queue_names,
        timezone=api.live.timezone,
    )
    agent_desk.start()
    attach_desk(api.api, agent_desk)
    try:
        yield agent_desk
    finally:
        await agent_desk.close()
        await routing.close()


@asynccontextmanager
async def desk_on(h: Hotline) -> AsyncIterator[AgentDesk]:
    """The desk on a running platform (started with `http=True`), wired as hotline/app.py wires
    it: the same SIP phones the call layer rings, the platform's router, calls and bus."""
    platform = h.platform
    assert platform.http is not None, "start the platform with http=True"
    phones = ChosenPhoneDialer(
        sip=SipPhoneDialer(
            platform.endpoint, platform.registrar, platform.media, sdp_address="127.0.0.1"
        ),
        browser=BrowserDialer(platform.media),
    )
    names = {queue_id: queue_id.title() for queue_id in platform.specs}
    agent_desk = AgentDesk(
        routing=platform.routing,
        phones=phones,
        sessions=platform.app.sessions,
        clock=platform.app.clock,
        bus=platform.app.bus,
        specs=platform.specs,
        queue_names=names,
        timezone=h.settings.timezone,
        calls=platform.calls,
    )
    agent_desk.start()
    attach_desk(platform.http.server.config.app, agent_desk)
    try:
        yield agent_desk
    finally:
        await agent_desk.close()
        await phones.browser.close()


@asynccontextmanager
async def signed_in(h: Hotline, username: str) -> AsyncIterator[httpx.AsyncClient]:
    """A browser signed in to the platform's HTTP API as `username` (given `PASSWORD` here)."""
    async with h.sessions() as session, session.begin():
        user = (await session.scalars(select(User).where(User.username == username))).one()
        user.password_hash = password_hash(PASSWORD)
    assert h.platform.http is not None
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{h.platform.http.port}", timeout=20
    ) as client:
        answer = await client.post(
            "/api/v1/auth/login", json={"username": username, "password": PASSWORD}
        )
        assert answer.status_code == 200, answer.text
        client.headers[CSRF_HEADER] = answer.json()["csrf_token"]
        yield client
