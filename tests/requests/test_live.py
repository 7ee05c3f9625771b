"""Request events on the live feed, on both databases: published after commit by the routes, a
field worker's page gets their own task's events, the agent who created a request gets its status
changes, supervisors everything, and nobody else anything; no caller's details travel."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from hotline.live.events import REQUEST_CHANGED, LiveEvent
from hotline.live.service import LiveFeed, Subscription, Viewer
from tests.requests.field_api import CALLER, FieldApi


@pytest_asyncio.fixture(loop_scope="function")
async def feed(field_api: FieldApi) -> AsyncIterator[LiveFeed]:
    live = field_api.harness.live
    feed = LiveFeed(
        routing=live.routing,
        bus=field_api.runtime.bus,
        sessions=field_api.sessions,
        clock=field_api.harness.clock,
        specs=live.specs,
        names=live.queue_names,
    )
    await feed.start()
    yield feed
    await feed.close()


async def _page(field_api: FieldApi, feed: LiveFeed, username: str) -> Subscription:
    user_id = await field_api.user_id(username)
    viewer = Viewer(user_id, username, sees_all=username == "boss")
    subscription = await feed.connect(viewer)
    subscription.drain()  # the snapshot
    return subscription


def _requests(subscription: Subscription) -> list[LiveEvent]:
    return [e for e in subscription.drain() if e is not None and e.type == REQUEST_CHANGED]


async def test_request_steps_reach_the_field_worker_the_creator_and_supervisors_only(
    field_api: FieldApi, feed: LiveFeed
) -> None:
    pages = {
        name: await _page(field_api, feed, name)
        for name in ("agent01", "agent02", "boss", "vol_a", "vol_b", "vol_north")
    }
    async with field_api.signed_in("agent01") as agent:
        request = await field_api.create(agent)
    worker = request["worker"]
    async with field_api.signed_in(worker) as page:
        await page.post(f"/api/v1/tasks/{request['id']}/accept")
        await page.post(f"/api/v1/tasks/{request['id']}/done", json={"note": "delivered"})
    await feed.settle()
    seen = {name: _requests(subscription) for name, subscription in pages.items()}

    for name in ("agent01", "boss"):
        assert [(e.data["event"], e.data["state"]) for e in seen[name]] == [
            ("request.created", "new"),
            ("request.state_changed", "assigned"),
            ("request.state_changed", "accepted"),
            ("request.state_changed", "done"),
        ], name
    # The field worker hears of it from its assignment on.
    assert [e.data["state"] for e in seen[worker]] == ["assigned", "accepted", "done"]
    for name in {"agent02", "vol_a", "vol_b", "vol_north"} - {worker}:
        assert seen[name] == [], name
    last = seen[worker][-1]
    assert (last.data["request_id"], last.data["worker"]) == (request["id"], worker)
    digits = "".join(c for c in CALLER if c.isdigit())
    assert all(digits not in "".join(c for c in e.text if c.isdigit()) for e in seen["boss"])
