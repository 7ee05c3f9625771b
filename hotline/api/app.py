"""The HTTP API of a running Hotline: the browser API under `/api/v1` (docs/web-api.md) with its
OpenAPI document at `/api/v1/openapi.json` and Swagger UI at `/api/v1/docs` (served from the
swagger-ui-py package's files: no CDN), plus `GET /api/v1/health` (public) and
`GET /api/v1/queues`.

Routes are thin readers and drivers of the live parts handed over by the composition root in a
`LiveState` (`hotline.api.deps`); each domain's routes live in its own `api.py` and are included
here. Errors answer with the catalogue's shape `{code, message, details}` and its HTTP status,
never an HTML page or a bare "Internal Server Error". No route reads a body larger than
`http_max_body_bytes` (`BodyLimit`: 413 `upload_too_large`)."""

from __future__ import annotations

import importlib.util
import logging
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from sqlalchemy import text
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketState

from hotline.api.deps import LiveState, check_csrf, require_roles
from hotline.core import heap
from hotline.core.errors import HotlineError, NotFound, UploadTooLarge
from hotline.db.engine import read_sessions
from hotline.routing.figures import queue_figures
from hotline.users.models import Role

__all__ = ["BodyLimit", "LiveState", "create_api"]

log = logging.getLogger(__name__)

DOCS_ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}
"""The Swagger UI files `/api/v1/docs` loads, served from the swagger-ui-py package."""


def _error(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    *,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        status_code=status,
        content={"code": code, "message": message, "details": details or {}},
        headers=headers,
    )


class BodyLimit:
    """ASGI middleware: a request body over `limit` bytes is refused with 413 `upload_too_large`,
    whether its Content-Length says so (answered before a byte of it is read) or it streams past
    the limit (chunked): reading stops there, and whatever the route makes of the error (FastAPI
    turns a failed body read into a 400), the answer is the catalogue's 413. Routes may keep
    lower limits of their own (prompt uploads: `prompt_upload_max_bytes`)."""

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit

    def _error(self) -> UploadTooLarge:
        return UploadTooLarge(
            f"the request body is larger than {self.limit / (1024 * 1024):g} MiB",
            limit=self.limit,
        )

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        exc = self._error()
        await _error(exc.http_status, exc.code, exc.message, exc.details)(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            await self._refuse(scope, receive, send)
            return
        received = 0
        exceeded = False  # the body streamed past the limit: the answer is ours
        started = False  # a response has begun (the app's, or our refusal)

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                raise self._error()
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    exceeded = True
                    raise self._error()
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded:
                if not started:  # the app's own answer to the error is replaced by ours
                    started = True
                    await self._refuse(scope, receive, send)
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            await self._refuse(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def _day_start(now: float, timezone: str) -> float:
    zone = ZoneInfo(timezone)
    local = datetime.fromtimestamp(now, zone)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight.timestamp()


def _domain_routers() -> list[APIRouter]:
    """Every domain's routes. Imported here, when the API is built, not when this module is."""
    from hotline.agents.api import router as agents
    from hotline.audit.api import router as audit
    from hotline.auth.api import router as auth
    from hotline.config.api import router as config
    from hotline.dispatch.api import router as dispatch
    from hotline.ivr.api import router as ivr
    from hotline.live.api import router as live
    from hotline.notifications.api import router as notifications
    from hotline.prompts.api import router as prompts
    from hotline.reports.api import router as reports
    from hotline.requests.api import router as requests
    from hotline.scripts.api import router as scripts
    from hotline.users.api import router as users

    return [
        auth,
        audit,
        live,
        agents,
        scripts,
        ivr,
        config,
        prompts,
        users,
        requests,
        dispatch,
        notifications,
        reports,
    ]


def create_api(state: LiveState) -> FastAPI:
    api = FastAPI(
        title="Hotline",
        summary="The browser API of Hotline (docs/web-api.md)",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
        dependencies=[Depends(check_csrf)],
    )
    api.state.live = state
    api.add_middleware(BodyLimit, limit=state.settings.http_max_body_bytes)

    @api.exception_handler(HotlineError)
    async def _hotline_error(connection: HTTPConnection, exc: HotlineError) -> JSONResponse | None:
        if isinstance(connection, WebSocket):
            # Accepted first: a browser sees only the close code, never a refused handshake's
            # status, and 4401 tells the page to sign in again rather than to retry.
            if connection.client_state is WebSocketState.CONNECTING:
                await connection.accept()
            await connection.close(code=4000 + exc.http_status, reason=exc.code)
            return None
        return _error(
            exc.http_status, exc.code, exc.message, exc.details, headers=exc.http_headers()
        )

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

    for router in _domain_routers():
        api.include_router(router)
    _add_docs(api)

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
        collector = heap.report()
        if collector is not None:
            body["gc"] = collector
        return JSONResponse(status_code=200 if healthy else 503, content=body)

    @api.get(
        "/api/v1/queues",
        dependencies=[Depends(require_roles(Role.SUPERVISOR, Role.AGENT))],
        responses={401: {}, 403: {}},
    )
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


def _swagger_ui_files() -> Path | None:
    """Where swagger-ui-py keeps Swagger UI's files, found without importing the package."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "static"


DOCS_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Hotline API</title>
<link rel="stylesheet" href="/api/v1/docs/swagger-ui.css">
<link rel="icon" href="/api/v1/docs/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/api/v1/docs/swagger-ui-bundle.js"></script>
<script>
SwaggerUIBundle({
  url: "/api/v1/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  requestInterceptor: (request) => {
    const found = document.cookie.match(/(?:^|; )hotline_csrf=([^;]*)/);
    if (found) request.headers["X-CSRF-Token"] = decodeURIComponent(found[1]);
    return request;
  },
});
</script>
</body>
</html>
"""
"""Swagger UI from this server's own files. The validator badge (which calls out) is off, and
"Try it out" sends the session's CSRF token, so changes can be tried after signing in there."""


def _add_docs(api: FastAPI) -> None:
    """Swagger UI at /api/v1/docs: a browser on a closed network must not reach for a CDN."""
    files = _swagger_ui_files()

    @api.get("/api/v1/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        if files is None:
            return HTMLResponse(
                "<p>Swagger UI is not installed (pip install swagger-ui-py); the API is described "
                'by <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</p>'
            )
        return HTMLResponse(DOCS_PAGE)

    @api.get("/api/v1/docs/{asset}", include_in_schema=False)
    async def docs_asset(asset: str) -> FileResponse:
        if files is None or asset not in DOCS_ASSETS:
            raise NotFound("no such file", asset=asset)
        return FileResponse(files / asset, media_type=DOCS_ASSETS[asset])
