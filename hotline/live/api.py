"""`GET /api/v1/events` (WebSocket: the live events of one browser page) and the supervisor's
`/api/v1/wallboard` and agent controls. Thin: the feed and the router do the work."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Response, WebSocket
from pydantic import Field
from starlette.requests import HTTPConnection
from starlette.websockets import WebSocketDisconnect

from hotline.api.deps import ClientIp, CurrentUser, DbSession, Live, require_roles
from hotline.auth.service import SignedInUser
from hotline.core.errors import InvalidInput
from hotline.live.events import CLOSE_GOING_AWAY, CLOSE_RESUME, heartbeat_text
from hotline.live.schemas import AgentStateIn, SkillLevelIn, WallboardOut
from hotline.live.service import (
    LiveFeed,
    Subscription,
    Viewer,
    change_agent_skills,
    set_agent_state,
    user_id_of,
)
from hotline.routing.types import AgentSkill
from hotline.users.models import Role

router = APIRouter(prefix="/api/v1", tags=["live"])

SEES_ALL = (Role.SUPERVISOR, Role.ADMIN)


def attach(api: FastAPI, feed: LiveFeed) -> None:
    """Hand the running feed to the API (the composition root calls this after `create_api`)."""
    api.state.live_feed = feed


def _feed(connection: HTTPConnection) -> LiveFeed:
    feed: LiveFeed | None = getattr(connection.app.state, "live_feed", None)
    if feed is None:
        raise RuntimeError("no live feed attached to this API (hotline.live.api.attach)")
    return feed


Feed = Annotated[LiveFeed, Depends(_feed)]
Supervisor = Annotated[SignedInUser, Depends(require_roles(Role.SUPERVISOR))]
Overseer = Annotated[SignedInUser, Depends(require_roles(*SEES_ALL))]


@router.websocket("/events")
async def events(
    websocket: WebSocket,
    user: CurrentUser,
    feed: Feed,
    last_event_id: Annotated[int | None, Query(ge=0)] = None,
) -> None:
    """One page's live events: a snapshot first (or, with `last_event_id`, the events missed
    since, while the server still holds them), then every event as it happens, filtered by role,
    and a heartbeat whenever nothing else was sent for the feed's `heartbeat_seconds`. Closes
    with 4001 when the page falls behind (reconnect with the last id seen), 4401 without a
    valid session, 1001 when the server stops."""
    viewer = Viewer(user.id, user.username, sees_all=user.has_role(*SEES_ALL))
    await websocket.accept()
    subscription = await feed.connect(viewer, last_event_id=last_event_id)
    sender = asyncio.create_task(_send(websocket, subscription, feed))
    listener = asyncio.create_task(_until_gone(websocket))
    try:
        await asyncio.wait((sender, listener), return_when=asyncio.FIRST_COMPLETED)
    finally:
        subscription.close()
        for task in (sender, listener):
            task.cancel()
        await asyncio.gather(sender, listener, return_exceptions=True)
    if sender.done() and not sender.cancelled() and sender.exception() is None:
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close(code=sender.result())


async def _send(websocket: WebSocket, subscription: Subscription, feed: LiveFeed) -> int:
    """Send until the stream ends; the close code tells the page what to do next. A heartbeat
    goes out when nothing else did for `heartbeat_seconds`: the page reconnects when even those
    stop arriving (a connection dropped on the way without either end being told)."""
    interval = feed.heartbeat_seconds
    while True:
        try:
            async with asyncio.timeout(interval):
                event = await subscription.next()
        except TimeoutError:
            await websocket.send_text(heartbeat_text(feed.now(), interval))
            continue
        if event is None:
            return CLOSE_RESUME if subscription.cut_off else CLOSE_GOING_AWAY
        await websocket.send_text(event.text)


async def _until_gone(websocket: WebSocket) -> None:
    """Pages send nothing that matters; reading is how a closed page is noticed."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return


@router.get("/wallboard", responses={401: {}, 403: {}})
async def wallboard(user: Overseer, feed: Feed) -> WallboardOut:
    """Every queue's figures and every agent's row, as of event `id`."""
    last_id, snapshot = feed.snapshot()
    return WallboardOut.model_validate(
        {"id": last_id, "at": feed.now(), "data": snapshot.as_dict()}
    )


@router.post(
    "/agents/{username}/state", status_code=204, responses={401: {}, 403: {}, 404: {}, 409: {}}
)
async def agent_state(
    username: str, body: AgentStateIn, user: Supervisor, db: DbSession, live: Live
) -> Response:
    """Set an agent's state (409 `routing_rejected` when they are not logged in to be ready or
    not ready)."""
    user_id = await user_id_of(session=db, username=username)
    # End the lookup's transaction before the router writes: on SQLite it holds the write lock
    # (transactions begin IMMEDIATE), and the router's writer, on its own connection, would wait
    # for it in SQLite's busy handler while this request waits for the router (a minute each).
    await db.commit()
    await set_agent_state(
        routing=live.routing, user_id=user_id, state=body.state, reason=body.reason
    )
    return Response(status_code=204)


@router.put(
    "/agents/{username}/skills", status_code=204, responses={401: {}, 403: {}, 404: {}, 422: {}}
)
async def agent_skills(
    username: str,
    body: Annotated[list[SkillLevelIn], Field(max_length=100)],
    user: Overseer,
    db: DbSession,
    live: Live,
    ip: ClientIp,
) -> Response:
    """Replace an agent's skills: stored, audited, and live in the router at once."""
    seen: dict[str, int] = {}
    problems: list[dict[str, Any]] = []
    for index, entry in enumerate(body):
        if entry.skill in seen:
            problems.append({"loc": ["body", index, "skill"], "message": "given twice"})
        seen[entry.skill] = index
    if problems:
        raise InvalidInput("each skill once", problems=problems)
    skills = [AgentSkill(e.skill, e.level, e.preference) for e in body]
    await change_agent_skills(
        session=db, routing=live.routing, username=username, skills=skills, actor=user, ip=ip
    )
    return Response(status_code=204)
