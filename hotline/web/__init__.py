"""The browser app (agent desktop, wallboard), served by the same FastAPI app as the API.

`make web` builds it from `web/` (Vite) into `hotline/web/static/`, which git ignores. The hashed
files under `/assets` are cached for good; every other GET that no route answers (`/login`,
`/agent`, `/wallboard`: the app's own paths) gets `index.html`, so a reload stays on the same
screen. The page is the router's fallback, not a catch-all route: API routes keep their own 404
and 405 answers whatever the order they are added in, and nothing under `/api` is ever answered
with the page. This module knows nothing of the API package; the composition root calls
`mount_web_app` once on the app it builds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

STATIC_DIR = Path(__file__).parent / "static"
"""Where `make web` puts the built app."""

IMMUTABLE = "public, max-age=31536000, immutable"

# The page loads only its own scripts and styles and talks only to its own origin (fetch and the
# events WebSocket); any markup that slipped through could not run a script.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


class _Assets(StaticFiles):
    """Vite's output names carry a content hash, so a browser may keep each file for good."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = IMMUTABLE
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def _not_found(path: str) -> JSONResponse:
    return JSONResponse(
        status_code=404,
        content={"code": "not_found", "message": "no such resource", "details": {"path": path}},
    )


def _page(static_dir: Path, path: str) -> Response:
    """The answer to GET `path` (without its leading slash) that no route took."""
    index = static_dir / "index.html"
    if not index.is_file():
        return JSONResponse(
            status_code=503,
            content={
                "code": "web_app_not_built",
                "message": "the browser app is not built: run `make web`",
                "details": {},
            },
        )
    if any(part.startswith(".") for part in path.split("/")):
        return _not_found(f"/{path}")  # the build stamp and the like are not for browsers
    if path:
        candidate = (static_dir / path).resolve()
        if candidate.is_relative_to(static_dir) and candidate.is_file():
            return FileResponse(candidate, headers={"X-Content-Type-Options": "nosniff"})
        if "." in path.rsplit("/", 1)[-1]:
            return _not_found(f"/{path}")  # a missing file, not one of the app's paths
    return FileResponse(index, media_type="text/html", headers=PAGE_HEADERS)


def mount_web_app(app: FastAPI, *, static_dir: Path = STATIC_DIR) -> None:
    """Serve the built app from `static_dir` on `app`: `/assets/*`, the build's top-level files,
    and `index.html` for the app's own paths."""
    static_dir = static_dir.resolve()
    assets = static_dir / "assets"
    if assets.is_dir():
        app.mount("/assets", _Assets(directory=assets), name="web-assets")
    otherwise: ASGIApp = app.router.default

    async def fallback(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"].lstrip("/") if scope["type"] == "http" else ""
        if (
            scope["type"] != "http"
            or scope["method"] not in ("GET", "HEAD")
            or path == "api"
            or path.startswith("api/")
        ):
            await otherwise(scope, receive, send)  # the API's own 404
            return
        await _page(static_dir, path)(scope, receive, send)

    app.router.default = fallback
