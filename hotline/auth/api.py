"""`/api/v1/auth`: sign in, sign out, who am I, change my password. These are the only routes that
answer while a password change is due (they take `SignedIn`, not `CurrentUser`)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from hotline.api.deps import ClientIp, DbSession, Live, SignedIn, csrf_exempt
from hotline.auth import service
from hotline.auth.schemas import LoginIn, Me, MeChange, PasswordChangeIn
from hotline.auth.service import CSRF_COOKIE, SESSION_COOKIE
from hotline.core.errors import CsrfFailed
from hotline.core.settings import Settings

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


def _set_cookies(response: Response, *, token: str, csrf_token: str, settings: Settings) -> None:
    secure = settings.http_cookie_secure
    response.set_cookie(
        SESSION_COOKIE, token, httponly=True, samesite="lax", path="/", secure=secure
    )
    # Readable by the page's script, which echoes it in X-CSRF-Token; another site cannot read it.
    response.set_cookie(
        CSRF_COOKIE, csrf_token, httponly=False, samesite="lax", path="/", secure=secure
    )


def _clear_cookies(response: Response, settings: Settings) -> None:
    for name, httponly in ((SESSION_COOKIE, True), (CSRF_COOKIE, False)):
        response.delete_cookie(
            name,
            path="/",
            secure=settings.http_cookie_secure,
            httponly=httponly,
            samesite="lax",
        )


def _json_only(request: Request) -> None:
    """Sign-in takes no CSRF token, so it insists on JSON: a form on another site cannot send it.
    A dependency, so that it answers before the body is validated."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise CsrfFailed(
            "sign in with a JSON body (Content-Type: application/json)", reason="content_type"
        )


@router.post(
    "/login",
    dependencies=[Depends(_json_only)],
    responses={401: {}, 403: {}, 422: {}, 429: {}},
)
@csrf_exempt
async def login(
    body: LoginIn, request: Request, response: Response, db: DbSession, live: Live, ip: ClientIp
) -> Me:
    """Sign in with username and password: sets the session cookies. An unknown user and a wrong
    password get the same 401 `bad_credentials`; after too many failures, 429 with Retry-After,
    even for the right password. The body must be `application/json`."""
    new = await service.login(
        session=db,
        limiter=live.login_limiter,
        clock=live.clock,
        username=body.username,
        password=body.password,
        ip=ip,
        user_agent=request.headers.get("user-agent"),
        idle_seconds=live.settings.web_session_idle_minutes * 60,
    )
    _set_cookies(response, token=new.token, csrf_token=new.user.csrf_token, settings=live.settings)
    return Me.of(new.user)


@router.post("/logout", status_code=204, responses={401: {}, 403: {}})
async def logout(
    user: SignedIn, response: Response, db: DbSession, live: Live, ip: ClientIp
) -> None:
    """End this session and clear its cookies."""
    await service.logout(session=db, clock=live.clock, user=user, ip=ip)
    _clear_cookies(response, live.settings)


@router.get("/me", responses={401: {}})
async def me(user: SignedIn) -> Me:
    """Who is signed in, and the CSRF token (after a reload the page reads it here)."""
    return Me.of(user)


@router.patch("/me", responses={401: {}, 403: {}, 422: {}})
async def change_me(body: MeChange, user: SignedIn, db: DbSession) -> Me:
    """Keep your choice of the app's language (`ru` or `en`) on the server."""
    return Me.of(await service.set_language(session=db, user=user, language=body.language))


@router.post("/password", status_code=204, responses={401: {}, 403: {}, 422: {}, 429: {}})
async def change_password(
    body: PasswordChangeIn, user: SignedIn, db: DbSession, live: Live, ip: ClientIp
) -> None:
    """Choose a new password (the current one is asked again). The user's other sessions end;
    this one stays signed in."""
    await service.change_password(
        session=db,
        limiter=live.login_limiter,
        clock=live.clock,
        user=user,
        current_password=body.current_password,
        new_password=body.new_password,
        ip=ip,
    )
