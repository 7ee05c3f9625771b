"""Every route of the API, walked from the app itself (`app.routes`, included routers expanded),
against who may use it as its own dependencies say: the session checks (`SESSION_CHECKS`) and
each `require_roles(...)`'s roles. A route with no session check must be one of the few public
ones; every other one answers 401 `not_signed_in` without a session (a WebSocket closes with
4401), and 403 `forbidden` to a signed-in user of a role its dependencies do not allow. The API
runs as the composition root wires it (the agent desk, the live feed and the field runtime
attached), so a route that needed one of them before its role check would show here too."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, APIWebSocketRoute, iter_route_contexts
from starlette.convertors import IntegerConvertor

from hotline.agents.service import AgentDesk
from hotline.api.deps import SESSION_CHECKS
from hotline.app import HttpServer
from hotline.core.events import InProcessBus
from hotline.requests.runtime import FieldRuntime
from hotline.requests.runtime import attach as attach_field
from hotline.users.models import Role
from tests.agents.conftest import desk
from tests.api.harness import ApiHarness

__all__ = ["desk"]

ROLES = frozenset(role.value for role in Role)
PUBLIC = {
    ("POST", "/api/v1/auth/login"),
    ("GET", "/api/v1/health"),
    ("GET", "/api/v1/openapi.json"),
    ("HEAD", "/api/v1/openapi.json"),
    ("GET", "/api/v1/docs"),
    ("GET", "/api/v1/docs/{asset}"),
}
"""The routes anyone may call: signing in, the health check and the API's own description."""


@dataclass(frozen=True)
class Access:
    """Who may call one method of one route, as its dependencies say."""

    method: str  # "WEBSOCKET" for a WebSocket route
    path: str  # as declared: /api/v1/requests/{request_id}
    url: str  # with each path parameter filled in
    signed_in: bool
    roles: frozenset[str]  # the roles allowed (all of them when only a session is needed)


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def _url(path: str, convertors: dict[str, Any]) -> str:
    for name, convertor in convertors.items():
        value = "1" if isinstance(convertor, IntegerConvertor) else "x1"
        path = path.replace(f"{{{name}}}", value).replace(f"{{{name}:int}}", value)
    return path


def access_table(api: FastAPI) -> list[Access]:
    """Every route's methods with the session and roles its dependencies (the app's, its
    router's and its own, however deep) require. Roles of several `require_roles` intersect."""
    table = []
    for context in iter_route_contexts(api.routes):
        route = context.original_route
        url = _url(context.path, getattr(context, "param_convertors", {}))
        if isinstance(route, (APIRoute, APIWebSocketRoute)):
            calls = list(_calls(context.dependant))
            roles = ROLES
            for call in calls:
                roles &= getattr(call, "hotline_roles", ROLES)
            signed_in = any(call in SESSION_CHECKS for call in calls)
            methods = sorted(route.methods) if isinstance(route, APIRoute) else ["WEBSOCKET"]
        else:  # Starlette's own (the OpenAPI document): no dependencies at all
            signed_in, roles, methods = False, ROLES, sorted(context.methods or ["GET"])
        table += [Access(m, context.path, url, signed_in, roles) for m in methods]
    return table


@pytest_asyncio.fixture(loop_scope="function")
async def wired(api: ApiHarness, desk: AgentDesk) -> AsyncIterator[ApiHarness]:
    """The API with everything the composition root attaches, and a user of each role."""
    bus = InProcessBus()
    feed = await api.live_feed(api.live.routing, bus)
    attach_field(api.api, FieldRuntime(bus=bus, clock=api.clock))
    for role in sorted(ROLES):
        department = "ministry" if role == Role.DEPARTMENT_SPECIALIST.value else None
        await api.add_user(f"only_{role}", roles=[role], department=department)
    try:
        yield api
    finally:
        await feed.close()


async def _call(client: httpx.AsyncClient, access: Access) -> httpx.Response:
    return await client.request(access.method, access.url)


async def test_the_table_is_read_from_the_routes_dependencies(api: ApiHarness) -> None:
    table = {(a.method, a.path): a for a in access_table(api.api)}
    assert len(table) > 80
    assert table["GET", "/api/v1/audit"].roles == {"admin"}
    assert table["POST", "/api/v1/requests"].roles == ROLES - {"field_worker"}
    assert table["GET", "/api/v1/tasks"].roles == {"field_worker"}
    assert table["PUT", "/api/v1/admin/prompts/{name}/audio"].roles == {"admin"}
    assert table["GET", "/api/v1/auth/me"].signed_in
    assert table["GET", "/api/v1/auth/me"].roles == ROLES
    assert table["WEBSOCKET", "/api/v1/events"].signed_in


async def test_every_route_but_the_public_ones_needs_a_session(api: ApiHarness) -> None:
    public = {(a.method, a.path) for a in access_table(api.api) if not a.signed_in}
    assert public == PUBLIC


async def test_without_a_session_every_protected_route_answers_401(wired: ApiHarness) -> None:
    table = [a for a in access_table(wired.api) if a.signed_in]
    wrong = {}
    async with wired.client() as anonymous:
        for access in table:
            if access.method == "WEBSOCKET":
                continue
            answer = await _call(anonymous, access)
            if (answer.status_code, answer.json().get("code")) != (401, "not_signed_in"):
                wrong[access.method, access.path] = (answer.status_code, answer.text[:200])
    assert wrong == {}


async def test_without_a_session_every_websocket_closes_with_4401(wired: ApiHarness) -> None:
    websockets = pytest.importorskip("websockets")
    sockets = [a for a in access_table(wired.api) if a.signed_in and a.method == "WEBSOCKET"]
    assert sockets
    server = HttpServer(wired.api, host="127.0.0.1", port=0)
    await server.start()
    try:
        for access in sockets:
            with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
                async with websockets.connect(f"ws://127.0.0.1:{server.port}{access.url}") as ws:
                    await ws.recv()
            assert closed.value.rcvd is not None
            assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4401, "not_signed_in")
    finally:
        await server.stop()


async def test_a_role_the_routes_dependencies_do_not_allow_answers_403(
    wired: ApiHarness,
) -> None:
    table = [a for a in access_table(wired.api) if a.signed_in and a.method != "WEBSOCKET"]
    wrong = {}
    checked = 0
    for role in sorted(ROLES):
        async with wired.signed_in(f"only_{role}") as client:
            for access in table:
                if role in access.roles:
                    continue
                checked += 1
                answer = await _call(client, access)
                body = answer.json()
                refused = (answer.status_code, body.get("code")) == (403, "forbidden")
                # A role check names the roles it wanted, and never this one.
                if not refused or role in body["details"].get("required", [role]):
                    wrong[role, access.method, access.path] = answer.status_code, answer.text
    assert checked > 200
    assert wrong == {}
