"""The HTTP API of a running Hotline: `GET /api/v1/health` and `GET /api/v1/queues`.

Small but real: routes are thin readers of the live parts (router, SIP endpoint, media workers,
database) handed over by the composition root in a `LiveState`; errors answer with the catalogue's
shape `{code, message, details}` and its HTTP status, never an HTML page or a bare "Internal
Server Error". No authentication yet, so `hotline serve` binds it to 127.0.0.1 by default
(`http_bind_address`); the browser API brings sign-in."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException

from hotline.core.clock import Clock
from hotline.core.errors import HotlineError
from hotline.db.engine import read_sessions
from hotline.routing.figures import queue_figures
from hotline.routing.service import RoutingService
from hotline.routing.types import QueueSpec

log = logging.getLogger(__name__)


@dataclass
class LiveState:
    """What the routes read. Callables keep this module free of the SIP and media types."""

    routing: RoutingService
    specs: Mapping[str, QueueSpec]
    queue_names: Mapping[str, str]
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    timezone: str
    sip: Callable[[], dict[str, Any]]
    media: Callable[[], list[dict[str, Any]]]
    calls: Callable[[], int]
    started: float


def _error(
    status: int, code: str, message: str, details: dict[str, Any] | None = None
) -> JSONResponse:
    return JSONResponse(
        status_code=status, content={"code": code, "message": message, "details": details or {}}
    )


def _day_start(now: float, timezone: str) -> float:
    zone = ZoneInfo(timezone)
    local = datetime.fromtimestamp(now, zone)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight.timestamp()


def create_api(state: LiveState) -> FastAPI:
    api = FastAPI(
        title="Hotline", docs_url=None, redoc_url=None, openapi_url="/api/v1/openapi.json"
    )

    @api.exception_handler(HotlineError)
    async def _hotline_error(request: Request, exc: HotlineError) -> JSONResponse:
        return _error(exc.http_status, exc.code, exc.message, exc.details)

    @api.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        message = "no such resource" if exc.status_code == 404 else str(exc.detail)
        return _error(exc.status_code, code, message, {"path": request.url.path})

    @api.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [{"loc": list(e["loc"]), "message": e["msg"]} for e in exc.errors()]
        return _error(422, "invalid_input", "the request is not valid", {"problems": problems})

    @api.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("API request %s failed", request.url.path)
        return _error(500, "internal_error", "the server failed to answer; see its log")

    @api.get("/api/v1/health")
    async def health() -> JSONResponse:
        """Whether each part answers: 200 when all do, 503 (same body) when one does not."""
        database = "ok"
        try:
            # A read: it never waits behind the calls' writes (a busy Hotline is not a dead one).
            async with read_sessions(state.sessions)() as session:
                await session.execute(text("SELECT 1"))
        except Exception as exc:  # the database's own error types vary by driver
            database = f"error: {type(exc).__name__}"
        media = state.media()
        healthy = database == "ok" and all(w.get("alive") for w in media)
        agents: dict[str, int] = {}
        for agent in state.routing.engine.agents():
            agents[agent.state.value] = agents.get(agent.state.value, 0) + 1
        body = {
            "status": "ok" if healthy else "degraded",
            "uptime_seconds": round(time.monotonic() - state.started, 1),
            "database": database,
            "sip": state.sip(),
            "media_workers": media,
            "calls_in_progress": state.calls(),
            "agents": agents,
        }
        return JSONResponse(status_code=200 if healthy else 503, content=body)

    @api.get("/api/v1/queues")
    async def queues() -> dict[str, Any]:
        """Each queue now: waiting, longest wait, agents by state, today's service level."""
        now = state.clock.now()
        figures = queue_figures(
            state.routing.engine,
            state.specs,
            now=now,
            day_start=_day_start(now, state.timezone),
            names=state.queue_names,
        )
        return {"at": now, "queues": [f.as_dict() for f in figures]}

    return api
