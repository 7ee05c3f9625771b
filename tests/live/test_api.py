"""The live API end to end on both databases: the WebSocket through a real uvicorn server and a real
WebSocket client (sign-in by cookie, refusal without it, snapshot then events, resume, role
filtering), and the wallboard and agent-control routes in-process."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
import websockets
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.app import HttpServer
from hotline.audit.models import AuditEntry
from hotline.auth.service import CSRF_HEADER
from hotline.contacts.service import create_contact
from hotline.core.events import InProcessBus
from hotline.live.events import (
    AGENT_STATE,
    CLOSE_NOT_SIGNED_IN,
    CONTACT_OFFERED,
    HEARTBEAT,
    SNAPSHOT,
)
from hotline.live.service import LiveFeed
from hotline.live.wallboard import Snapshot
from hotline.routing import types as rt
from hotline.routing.service import RoutingService, agent_skills
from hotline.users.models import User
from tests.api.harness import ApiHarness, build_harness


@dataclass
class LiveApi:
    harness: ApiHarness
    routing: RoutingService
    feed: LiveFeed
    server: HttpServer

    def url(self, query: str = "") -> str:
        return f"ws://127.0.0.1:{self.server.port}/api/v1/events{query}"

    async def cookie(self, username: str) -> str:
        async with self.harness.signed_in(username) as client:
            return f"hotline_session={client.cookies['hotline_session']}"

    async def user_id(self, username: str) -> str:
        async with self.harness.sessions() as session:
            return (await session.scalars(select(User.id).where(User.username == username))).one()

    async def login(self, username: str) -> None:
        user_id = await self.user_id(username)
        async with self.harness.sessions() as session:
            skills = await agent_skills(session=session, user_id=user_id)
        await self.routing.login(user_id, skills, ready=True)


@contextlib.asynccontextmanager
async def open_live_api(
    sessions: async_sessionmaker[AsyncSession], **settings: Any
) -> AsyncIterator[LiveApi]:
    """The API with a router, its live feed and a real HTTP server (`settings` over the
    harness's)."""
    harness = await build_harness(sessions, **settings)  # SMALL: agent01 (medical), boss
    await harness.add_user("agent02", roles=["agent"])
    bus = InProcessBus()
    routing = RoutingService(
        engine=harness.live.routing.engine, clock=harness.clock, sessions=sessions, bus=bus
    )
    harness.live.routing = routing  # the routes drive this one, whose events the feed follows
    await routing.start(run_timers=False)
    feed = await harness.live_feed(routing, bus)
    server = HttpServer(harness.api, host="127.0.0.1", port=0)
    await server.start()
    try:
        yield LiveApi(harness, routing, feed, server)
    finally:
        await server.stop()
        await feed.close()
        await routing.close()


@pytest_asyncio.fixture(loop_scope="function")
async def live_api(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[LiveApi]:
    async with open_live_api(sessions) as live:
        yield live


async def _messages(socket: Any, count: int) -> list[dict[str, Any]]:
    return [json.loads(await socket.recv()) for _ in range(count)]


async def _until(socket: Any, kind: str) -> list[dict[str, Any]]:
    """Messages up to and including the first of type `kind`."""
    out = []
    while not out or out[-1]["type"] != kind:
        out.append(json.loads(await socket.recv()))
    return out


async def test_a_supervisors_page_gets_a_snapshot_then_the_events(live_api: LiveApi) -> None:
    cookie = await live_api.cookie("boss")
    async with websockets.connect(live_api.url(), additional_headers={"Cookie": cookie}) as page:
        (snapshot,) = await _messages(page, 1)
        assert snapshot["type"] == SNAPSHOT
        assert [q["queue_id"] for q in snapshot["data"]["queues"]] == ["medical", "overflow"]
        await live_api.login("agent01")
        (state,) = [m for m in await _until(page, AGENT_STATE) if m["type"] == AGENT_STATE]
        assert (state["data"]["username"], state["data"]["state"]) == ("agent01", "ready")
        assert state["id"] > snapshot["id"]
        assert set(state) == {"id", "type", "at", "data"}


async def test_a_page_resumes_with_the_events_it_missed(live_api: LiveApi) -> None:
    cookie = await live_api.cookie("boss")
    headers = {"Cookie": cookie}
    async with websockets.connect(live_api.url(), additional_headers=headers) as stayed:
        async with websockets.connect(live_api.url(), additional_headers=headers) as dropped:
            (snapshot,) = await _messages(dropped, 1)
        await _messages(stayed, 1)
        await live_api.login("agent01")
        await live_api.feed.settle()
        last = live_api.feed.last_id
        seen = []
        while not seen or seen[-1]["id"] < last:
            seen.append(json.loads(await stayed.recv()))

    query = f"?last_event_id={snapshot['id']}"
    async with websockets.connect(live_api.url(query), additional_headers=headers) as resumed:
        assert await _messages(resumed, len(seen)) == seen


async def test_a_quiet_page_gets_a_heartbeat_that_is_not_an_event(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with open_live_api(sessions, live_heartbeat_seconds=0.3) as live_api:
        headers = {"Cookie": await live_api.cookie("boss")}
        async with websockets.connect(live_api.url(), additional_headers=headers) as page:
            (snapshot,) = await _messages(page, 1)
            assert snapshot["heartbeat"] == 0.3  # the page learns the interval from it
            quiet_since = time.monotonic()
            beats = await asyncio.wait_for(_messages(page, 2), 5)
            assert time.monotonic() - quiet_since >= 0.5  # two intervals after the snapshot left
            beat = {"type": HEARTBEAT, "at": live_api.feed.now(), "data": {"interval": 0.3}}
            assert beats == [beat, beat]
            await live_api.login("agent01")
            state = (await _until(page, AGENT_STATE))[-1]
            assert state["id"] == snapshot["id"] + 1  # heartbeats took no number

        query = f"?last_event_id={snapshot['id']}"
        async with websockets.connect(live_api.url(query), additional_headers=headers) as resumed:
            (replayed,) = await _messages(resumed, 1)  # the event, no heartbeat replayed
            assert replayed == state


async def test_a_page_that_events_keep_busy_gets_no_heartbeat(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with open_live_api(sessions, live_heartbeat_seconds=1.0) as live_api:
        headers = {"Cookie": await live_api.cookie("boss")}
        anna = await live_api.user_id("agent01")
        await live_api.login("agent01")
        await live_api.feed.settle()
        async with websockets.connect(live_api.url(), additional_headers=headers) as page:
            received = await _messages(page, 1)

            async def read_until_a_heartbeat() -> None:
                while not received or received[-1]["type"] != HEARTBEAT:
                    received.append(json.loads(await page.recv()))

            reader = asyncio.create_task(read_until_a_heartbeat())
            for turn in range(12):  # an agent.state every 0.2 s for 2.4 s: 5 per interval
                await asyncio.sleep(0.2)
                if turn % 2:
                    await live_api.routing.set_ready(anna)
                else:
                    await live_api.routing.set_not_ready(anna, "break")
            assert not reader.done()
            await asyncio.wait_for(reader, 5)  # then quiet: a heartbeat comes
        kinds = [m["type"] for m in received]
        assert kinds.count(AGENT_STATE) == 12
        assert kinds.index(HEARTBEAT) == len(kinds) - 1


async def test_an_agents_page_does_not_get_another_agents_offer(live_api: LiveApi) -> None:
    anna, pavel = await live_api.cookie("agent01"), await live_api.cookie("agent02")
    async with (
        websockets.connect(live_api.url(), additional_headers={"Cookie": anna}) as annas,
        websockets.connect(live_api.url(), additional_headers={"Cookie": pavel}) as pavels,
    ):
        await _messages(annas, 1)
        (pavels_snapshot,) = await _messages(pavels, 1)
        await live_api.login("agent01")
        async with live_api.harness.sessions() as session, session.begin():
            contact = await create_contact(session=session)
        await live_api.routing.arrive(contact.id, "medical")
        await live_api.login("agent02")  # an event Pavel does get, after Anna's offer
        offer = (await _until(annas, CONTACT_OFFERED))[-1]
        assert (offer["data"]["contact_id"], offer["data"]["username"]) == (contact.id, "agent01")
        for message in await _until(pavels, AGENT_STATE):
            assert message["type"] != CONTACT_OFFERED
            if message["type"] == AGENT_STATE:
                assert message["data"]["username"] == "agent02"
        assert pavels_snapshot["data"]["agents"] == []


async def test_a_page_without_a_session_is_told_to_sign_in(live_api: LiveApi) -> None:
    with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
        async with websockets.connect(live_api.url()) as page:
            await page.recv()
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (
        CLOSE_NOT_SIGNED_IN,
        "not_signed_in",
    )


async def test_a_page_of_another_site_is_refused(live_api: LiveApi) -> None:
    cookie = await live_api.cookie("boss")
    with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
        async with websockets.connect(
            live_api.url(), additional_headers={"Cookie": cookie}, origin="http://evil.example"
        ) as page:
            await page.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.reason == "csrf_failed"


async def test_the_wallboard_is_for_supervisors(live_api: LiveApi) -> None:
    await live_api.login("agent01")
    await live_api.feed.settle()
    async with live_api.harness.signed_in("boss") as boss:
        answer = await boss.get("/api/v1/wallboard")
    assert answer.status_code == 200
    body = answer.json()
    assert body["id"] == live_api.feed.last_id
    assert Snapshot.from_dict(body["data"]) == live_api.feed.snapshot()[1]
    assert [a["username"] for a in body["data"]["agents"]] == ["agent01"]
    async with live_api.harness.signed_in("agent01") as agent:
        assert (await agent.get("/api/v1/wallboard")).json()["code"] == "forbidden"
    async with live_api.harness.client() as anonymous:
        assert (await anonymous.get("/api/v1/wallboard")).status_code == 401


async def test_a_supervisor_sets_an_agents_state(live_api: LiveApi) -> None:
    await live_api.login("agent01")
    anna = await live_api.user_id("agent01")
    async with live_api.harness.signed_in("boss") as boss:
        answer = await boss.post(
            "/api/v1/agents/agent01/state", json={"state": "not_ready", "reason": "coaching"}
        )
        assert answer.status_code == 204
        agent = live_api.routing.engine.agent(anna)
        assert (agent.state, agent.reason) == (rt.AgentState.NOT_READY, "coaching")

        assert (
            await boss.post("/api/v1/agents/agent01/state", json={"state": "logged_out"})
        ).status_code == 204
        assert live_api.routing.engine.agent(anna).state is rt.AgentState.OFFLINE
        refused = await boss.post("/api/v1/agents/agent01/state", json={"state": "ready"})
        assert (refused.status_code, refused.json()["code"]) == (409, "routing_rejected")
        unknown = await boss.post("/api/v1/agents/nobody/state", json={"state": "ready"})
        assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")
        invalid = await boss.post("/api/v1/agents/agent01/state", json={"state": "asleep"})
        assert invalid.json()["details"]["problems"][0]["loc"] == ["body", "state"]

        del boss.headers[CSRF_HEADER]
        forged = await boss.post("/api/v1/agents/agent01/state", json={"state": "logged_out"})
        assert forged.json()["code"] == "csrf_failed"
    async with live_api.harness.signed_in("agent02") as agent:
        answer = await agent.post("/api/v1/agents/agent01/state", json={"state": "logged_out"})
        assert answer.json()["code"] == "forbidden"


async def test_a_supervisor_changes_skills_live_stored_and_audited(live_api: LiveApi) -> None:
    await live_api.login("agent01")
    anna = await live_api.user_id("agent01")
    skills = [{"skill": "ru", "level": 4, "preference": 0}]
    async with live_api.harness.signed_in("boss") as boss:
        answer = await boss.put("/api/v1/agents/agent01/skills", json=skills)
    assert answer.status_code == 204
    assert live_api.routing.engine.agent(anna).skills == {"ru": rt.AgentSkill("ru", 4, 0)}
    async with live_api.harness.sessions() as session:
        assert await agent_skills(session=session, user_id=anna) == [rt.AgentSkill("ru", 4, 0)]
        (entry,) = await session.scalars(
            select(AuditEntry).where(AuditEntry.action == "agent_skills.change")
        )
    assert (entry.actor_username, entry.object_id) == ("boss", anna)
    await live_api.feed.settle()
    assert live_api.feed.snapshot()[1].agents["agent01"].queues == ("overflow",)


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ([{"skill": "ru", "level": 11}], ["body", 0, "level"]),
        ([{"skill": "plumbing", "level": 3}], ["body", 0, "skill"]),
        ([{"skill": "ru", "level": 3}, {"skill": "ru", "level": 4}], ["body", 1, "skill"]),
    ],
)
async def test_skills_that_cannot_be_are_refused_field_by_field(
    live_api: LiveApi, body: list[dict[str, Any]], loc: list[Any]
) -> None:
    async with live_api.harness.signed_in("boss") as boss:
        answer = await boss.put("/api/v1/agents/agent01/skills", json=body)
    assert (answer.status_code, answer.json()["code"]) == (422, "invalid_input")
    assert [p["loc"] for p in answer.json()["details"]["problems"]] == [loc]
