"""What routes declare they need, as `Annotated` aliases (docs/web-api.md, "Rules every route
follows"):

- `Live`: the `LiveState` the composition root handed to `create_api`;
- `DbSession`: an `AsyncSession` whose transaction begins at its first statement and is committed
  before the answer is sent (rolled back if the route raises). A request that never touches the
  database opens no transaction. It is function-scoped: a dependency with `yield` that uses it
  must be declared `Depends(..., scope="function")` too;
- `ClientIp`: the caller's address, for audit rows and the login rate limit;
- `CurrentUser`: the signed-in user (401 `not_signed_in`; 403 `password_change_required` while
  they must choose a new password); `CurrentAgent`, `CurrentSupervisor`, `CurrentAdmin` and
  `require_roles(...)` add a role check (403 `forbidden`);
- `CsrfChecked`: every POST, PUT, PATCH and DELETE that comes with a session must carry its
  `X-CSRF-Token` (403 `csrf_failed`), and a WebSocket opened from a page must come from this
  server's own origin. `create_api` applies it to every route; `csrf_exempt` marks the one route
  that needs no token (sign-in, which has no session yet).

These work in WebSocket routes too: the session lookup is committed at once there, so a socket
never holds a transaction open, and a catalogued error accepts, then closes the socket with code
4000 + its HTTP status and the error's code as reason (4401 `not_signed_in`, 4403 `forbidden`).
A socket's own later database work should use short sessions from `live.sessions`, not
`DbSession`, which would stay open as long as the socket."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar, cast
from urllib.parse import urlsplit

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection

from hotline.auth import service as auth
from hotline.auth.service import CSRF_HEADER, SESSION_COOKIE, LoginLimiter, SignedInUser
from hotline.core.clock import Clock
from hotline.core.errors import CsrfFailed, Forbidden, NotSignedIn, PasswordChangeRequired
from hotline.core.events import EventBus
from hotline.core.settings import Settings
from hotline.routing.service import RoutingService
from hotline.routing.types import QueueSpec
from hotline.users.models import Role

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass
class LiveState:
    """What the routes read and drive: the live parts, handed over by the composition root.
    Callables keep this module free of the SIP and media types."""

    routing: RoutingService
    specs: dict[str, QueueSpec]  # updated in place by a configuration publish
    queue_names: dict[str, str]
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    timezone: str
    sip: Callable[[], dict[str, Any]]
    media: Callable[[], list[dict[str, Any]]]
    calls: Callable[[], int]
    started: float
    settings: Settings
    login_limiter: LoginLimiter
    bus: EventBus | None = None  # where routes announce what they committed (None: nobody listens)


def _live(connection: HTTPConnection) -> LiveState:
    state: LiveState = connection.app.state.live
    return state


Live = Annotated[LiveState, Depends(_live)]


async def _db_session(live: Live) -> AsyncIterator[AsyncSession]:
    async with live.sessions() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        if session.in_transaction():
            await session.commit()


DbSession = Annotated[AsyncSession, Depends(_db_session, scope="function")]


def _client_ip(connection: HTTPConnection) -> str | None:
    return connection.client.host if connection.client is not None else None


ClientIp = Annotated[str | None, Depends(_client_ip)]

_UNRESOLVED = object()


async def _session_user(
    connection: HTTPConnection, live: LiveState, db: AsyncSession
) -> SignedInUser | None:
    """The session's user, looked up once per request (CSRF check and routes share it)."""
    found = getattr(connection.state, "hotline_user", _UNRESOLVED)
    if found is not _UNRESOLVED:
        return cast(SignedInUser | None, found)
    token = connection.cookies.get(SESSION_COOKIE)
    user = None
    if token:
        user = await auth.session_user(
            session=db,
            token=token,
            now=live.clock.now(),
            idle_seconds=live.settings.web_session_idle_minutes * 60,
        )
        if connection.scope["type"] == "websocket":
            await db.commit()  # a socket lives long: hold no transaction (nor SQLite's lock)
    connection.state.hotline_user = user
    return user


async def _signed_in(connection: HTTPConnection, live: Live, db: DbSession) -> SignedInUser:
    user = await _session_user(connection, live, db)
    if user is None:
        raise NotSignedIn("sign in first (or again: the session is over)")
    return user


SignedIn = Annotated[SignedInUser, Depends(_signed_in)]
"""Signed in, even while a password change is due: for `/auth/*` routes only."""


async def _current_user(user: SignedIn) -> SignedInUser:
    if user.must_change_password:
        raise PasswordChangeRequired("choose a new password first (POST /api/v1/auth/password)")
    return user


CurrentUser = Annotated[SignedInUser, Depends(_current_user)]

SESSION_CHECKS: frozenset[Callable[..., Any]] = frozenset({_signed_in, _current_user})
"""The dependencies that insist on a signed-in user: a route that depends on none of them is
public (tests/api/test_route_access.py walks every route for them, and for `require_roles`'
`hotline_roles`)."""


def require_roles(*roles: Role | str) -> Callable[..., Awaitable[SignedInUser]]:
    """A dependency: the signed-in user, who must hold at least one of `roles`. Use as
    `Annotated[SignedInUser, Depends(require_roles(Role.ADMIN))]`, or in a router's
    `dependencies=[Depends(require_roles(...))]`."""
    wanted = frozenset(str(role) for role in roles)
    if not wanted <= {str(role) for role in Role}:
        raise ValueError(f"unknown roles: {sorted(wanted - {str(r) for r in Role})}")

    async def user_with_role(user: CurrentUser) -> SignedInUser:
        if not user.has_role(*wanted):
            raise Forbidden(
                f"this needs the role {' or '.join(sorted(wanted))}", required=sorted(wanted)
            )
        return user

    user_with_role.hotline_roles = wanted  # type: ignore[attr-defined]  # for route audits
    return user_with_role


CurrentAgent = Annotated[SignedInUser, Depends(require_roles(Role.AGENT))]
CurrentSupervisor = Annotated[SignedInUser, Depends(require_roles(Role.SUPERVISOR))]
CurrentAdmin = Annotated[SignedInUser, Depends(require_roles(Role.ADMIN))]

_Endpoint = TypeVar("_Endpoint", bound=Callable[..., Any])


def csrf_exempt(endpoint: _Endpoint) -> _Endpoint:
    """Mark a route that takes changes without a CSRF token: only one with no session to protect
    (sign-in, which must then insist on a JSON body, as a cross-site form cannot send one)."""
    endpoint.hotline_csrf_exempt = True  # type: ignore[attr-defined]
    return endpoint


async def check_csrf(connection: HTTPConnection, live: Live, db: DbSession) -> None:
    if connection.scope["type"] == "websocket":
        _check_origin(connection)
        return
    if connection.scope["method"] in SAFE_METHODS:
        return
    if getattr(connection.scope.get("endpoint"), "hotline_csrf_exempt", False):
        return
    user = await _session_user(connection, live, db)
    if user is None:
        return  # no session for a forged request to ride on; routes needing one answer 401
    sent = connection.headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(sent.encode(), user.csrf_token.encode()):
        raise CsrfFailed(
            f"this change needs the {CSRF_HEADER} header of your session",
            header=CSRF_HEADER,
        )


def _check_origin(connection: HTTPConnection) -> None:
    """A page on another site may open a WebSocket here, and the browser would send our cookie
    with it: browsers always say the page's origin, which must be this server (the Host the
    browser asked for). Clients that send no Origin are not browsers and carry no one's cookie."""
    origin = connection.headers.get("origin")
    if origin is None:
        return
    if urlsplit(origin).netloc.lower() != connection.headers.get("host", "").lower():
        raise CsrfFailed("a WebSocket must be opened by this server's own pages", origin=origin)


CsrfChecked = Annotated[None, Depends(check_csrf)]
