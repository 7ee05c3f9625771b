"""`/api/v1/agent/*`, the agent desktop, and `GET /api/v1/contacts/{id}`, the screen pop
(docs/web-api.md). Routes are for whoever answers contacts (agents and department specialists);
a contact's pop also for supervisors. The live `AgentDesk` is handed over by the composition
root with `attach_desk`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Path
from starlette.requests import HTTPConnection

from hotline.agents.schemas import (
    AgentMe,
    ContactPop,
    DeskOptions,
    DigitsIn,
    PhoneIn,
    PhoneOut,
    SoftphoneIn,
    SoftphoneOut,
    StateIn,
    TransferIn,
    WrapUpIn,
)
from hotline.agents.service import AgentDesk, DeskUnavailable, desk_options
from hotline.api.deps import ClientIp, DbSession, require_roles
from hotline.auth.service import SignedInUser
from hotline.users.models import Role

router = APIRouter(prefix="/api/v1", tags=["agent desktop"])

Answering = Annotated[SignedInUser, Depends(require_roles(Role.AGENT, Role.DEPARTMENT_SPECIALIST))]
ContactReader = Annotated[
    SignedInUser,
    Depends(require_roles(Role.AGENT, Role.DEPARTMENT_SPECIALIST, Role.SUPERVISOR)),
]

_CHANGE: dict[int | str, dict[str, Any]] = {401: {}, 403: {}, 409: {}, 422: {}}
_CALL: dict[int | str, dict[str, Any]] = {**_CHANGE, 502: {}}


def attach_desk(api: FastAPI, desk: AgentDesk) -> None:
    """Serve `desk` from these routes (the composition root calls this once)."""
    api.state.agent_desk = desk


def _desk(connection: HTTPConnection) -> AgentDesk:
    desk: AgentDesk | None = getattr(connection.app.state, "agent_desk", None)
    if desk is None:
        raise DeskUnavailable("the agent desktop does not run on this server")
    return desk


Desk = Annotated[AgentDesk, Depends(_desk)]


@router.get("/agent/me", responses={401: {}, 403: {}})
async def me(user: Answering, desk: Desk, db: DbSession, ip: ClientIp) -> AgentMe:
    """Your state, phone, queues, today's figures, and the contact you are on (its reading is
    audited)."""
    return await desk.me(session=db, user=user, ip=ip)


@router.get("/agent/options", responses={401: {}, 403: {}})
async def options(user: Answering, db: DbSession) -> DeskOptions:
    """The wrap-up codes to pick from and where a call may be transferred (queues, department
    lines), with their names."""
    return await desk_options(session=db)


@router.post("/agent/state", responses=_CHANGE)
async def set_state(
    body: StateIn, user: Answering, desk: Desk, db: DbSession, ip: ClientIp
) -> AgentMe:
    """Ready, not ready (with a reason) or logged out. Ready needs a phone that can ring (409
    `phone_unreachable`); during a contact, not ready and logged out apply after it."""
    await desk.set_state(session=db, user=user, state=body.state, reason=body.reason)
    return await desk.me(session=db, user=user, ip=ip)


@router.post("/agent/phone", responses=_CHANGE)
async def choose_phone(body: PhoneIn, user: Answering, desk: Desk, db: DbSession) -> PhoneOut:
    """Which phone rings for your offers: the browser softphone or your SIP phone."""
    return await desk.choose_phone(session=db, user=user, phone=body.phone)


@router.post("/agent/softphone", responses={**_CHANGE, 503: {}})
async def open_softphone(
    body: SoftphoneIn, user: Answering, desk: Desk, db: DbSession
) -> SoftphoneOut:
    """Connect the page's softphone: the browser's SDP offer in, the server's answer out (503
    `softphone_unavailable` while this server has no browser media)."""
    return SoftphoneOut(sdp=await desk.open_softphone(session=db, user=user, sdp=body.sdp))


@router.delete("/agent/softphone", status_code=204, responses=_CHANGE)
async def close_softphone(user: Answering, desk: Desk, db: DbSession) -> None:
    """The page's softphone is gone (a ready agent whose phone it was becomes not ready)."""
    await desk.close_softphone(session=db, user=user)


@router.post("/agent/offer/accept", status_code=204, responses={**_CALL, 503: {}})
async def accept_offer(user: Answering, desk: Desk, db: DbSession) -> None:
    """Answer the offer ringing on your softphone (409 `no_offer` when none rings there)."""
    await desk.accept_offer(session=db, user=user)


@router.post("/agent/call/hangup", status_code=204, responses=_CALL)
async def hangup(user: Answering, desk: Desk, db: DbSession) -> None:
    """Hang up your call, as if you put your phone down."""
    await desk.hangup(session=db, user=user)


@router.post("/agent/call/hold", status_code=204, responses=_CALL)
async def hold(user: Answering, desk: Desk, db: DbSession) -> None:
    """The caller hears music and neither of you hears the other."""
    await desk.hold(session=db, user=user)


@router.post("/agent/call/resume", status_code=204, responses=_CALL)
async def resume(user: Answering, desk: Desk, db: DbSession) -> None:
    """Take the caller off hold."""
    await desk.resume(session=db, user=user)


@router.post("/agent/call/digits", status_code=204, responses=_CALL)
async def digits(body: DigitsIn, user: Answering, desk: Desk, db: DbSession) -> None:
    """Send keys (RFC 4733) to whoever you talk to."""
    await desk.send_digits(session=db, user=user, digits=body.digits)


@router.post("/agent/call/transfer", status_code=204, responses={**_CALL, 404: {}})
async def transfer(body: TransferIn, user: Answering, desk: Desk, db: DbSession) -> None:
    """Blind: the caller goes to the target's queue at once. Warm: the caller hears music while
    you talk to whoever takes it; then complete or cancel."""
    await desk.transfer(session=db, user=user, mode=body.mode, target=body.target)


@router.post("/agent/call/transfer/complete", status_code=204, responses=_CALL)
async def complete_transfer(user: Answering, desk: Desk, db: DbSession) -> None:
    """Hand the caller over to the colleague you consult."""
    await desk.complete_transfer(session=db, user=user)


@router.post("/agent/call/transfer/cancel", status_code=204, responses=_CALL)
async def cancel_transfer(user: Answering, desk: Desk, db: DbSession) -> None:
    """End the consultation: the caller is back with you."""
    await desk.cancel_transfer(session=db, user=user)


@router.post("/agent/wrapup", status_code=204, responses=_CHANGE)
async def wrap_up(body: WrapUpIn, user: Answering, desk: Desk, db: DbSession, ip: ClientIp) -> None:
    """The disposition of the contact you answered last (or of `contact_id`), then wrap-up ends:
    ready again unless you chose otherwise during the call."""
    await desk.wrap_up(
        session=db, user=user, code=body.code, note=body.note, ip=ip, contact_id=body.contact_id
    )


@router.get("/contacts/{contact_id}", responses={401: {}, 403: {}, 404: {}})
async def contact_pop(
    contact_id: Annotated[str, Path(min_length=1, max_length=64)],
    user: ContactReader,
    desk: Desk,
    db: DbSession,
    ip: ClientIp,
) -> ContactPop:
    """A contact's screen pop (audited): for an agent it was offered to or who handled it, and
    for supervisors."""
    return await desk.contact_pop(session=db, user=user, contact_id=contact_id, ip=ip)
