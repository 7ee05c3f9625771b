"""The field worker's page (`/api/v1/tasks`: their own tasks, the caller's number masked; accept,
decline, start, done with an outcome note, failed with a reason; call the citizen through the
platform) and field workers' duty status (`/api/v1/field-workers`). Thin over
`hotline.dispatch.service` and `hotline.requests.service`, which check who may do what."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from hotline.api.deps import ClientIp, DbSession, require_roles
from hotline.audit import service as audit
from hotline.auth.service import SignedInUser
from hotline.contacts.models import Contact
from hotline.core.errors import Conflict, NotFound
from hotline.dispatch import service as dispatch
from hotline.dispatch.calls import NoOutboundRoute
from hotline.dispatch.roster import field_worker_id, roster
from hotline.dispatch.schemas import (
    AvailabilityIn,
    CitizenCallOut,
    FieldTaskView,
    FieldWorkerView,
    OutcomeIn,
)
from hotline.requests.lifecycle import ACCEPTED, ACTIVE_STATES, DONE, FAILED, IN_PROGRESS
from hotline.requests.lifecycle import RequestState as State
from hotline.requests.models import Request
from hotline.requests.runtime import Runtime
from hotline.requests.schemas import ReasonIn
from hotline.requests.service import transition
from hotline.users.models import Role

router = APIRouter(prefix="/api/v1", tags=["dispatch"])

Worker = Annotated[SignedInUser, Depends(require_roles(Role.FIELD_WORKER))]
Overseer = Annotated[SignedInUser, Depends(require_roles(Role.SUPERVISOR, Role.ADMIN))]

_READ: dict[int | str, dict[str, Any]] = {401: {}, 403: {}, 404: {}}
_CHANGE: dict[int | str, dict[str, Any]] = {401: {}, 403: {}, 404: {}, 409: {}, 422: {}}


@router.get("/tasks", responses={401: {}, 403: {}})
async def tasks(
    user: Worker, db: DbSession, ip: ClientIp, include_ended: bool = False
) -> list[FieldTaskView]:
    """Your tasks, most urgent first (with `include_ended`, the finished ones too). The caller's
    number is masked: call them with `POST /tasks/{id}/call`. Audited."""
    return await dispatch.worker_tasks(session=db, actor=user, include_ended=include_ended, ip=ip)


@router.get("/tasks/{request_id}", responses=_READ)
async def task(request_id: str, user: Worker, db: DbSession, ip: ClientIp) -> FieldTaskView:
    """One of your tasks (another's: 403). Audited."""
    return await dispatch.worker_task(session=db, request_id=request_id, actor=user, ip=ip)


async def _step(
    request_id: str,
    to: State,
    user: SignedInUser,
    db: DbSession,
    runtime: Runtime,
    ip: str | None,
    *,
    reason: str | None = None,
    note: str | None = None,
) -> FieldTaskView:
    change = await transition(
        session=db,
        request_id=request_id,
        to=to,
        actor=user,
        reason=reason,
        note=note,
        now=runtime.now(),
    )
    view = dispatch.task_view(change.request)
    await runtime.finish(db, change.events)
    return view


@router.post("/tasks/{request_id}/accept", responses=_CHANGE)
async def accept(
    request_id: str, user: Worker, db: DbSession, runtime: Runtime, ip: ClientIp
) -> FieldTaskView:
    """Take the task on (the caller is told, if the category says so)."""
    return await _step(request_id, ACCEPTED, user, db, runtime, ip)


@router.post("/tasks/{request_id}/start", responses=_CHANGE)
async def start(
    request_id: str, user: Worker, db: DbSession, runtime: Runtime, ip: ClientIp
) -> FieldTaskView:
    """On the way (optional: done may follow accept directly)."""
    return await _step(request_id, IN_PROGRESS, user, db, runtime, ip)


@router.post("/tasks/{request_id}/done", responses=_CHANGE)
async def done(
    request_id: str, body: OutcomeIn, user: Worker, db: DbSession, runtime: Runtime, ip: ClientIp
) -> FieldTaskView:
    """Fulfilled, with what was done (the caller is told)."""
    return await _step(request_id, DONE, user, db, runtime, ip, note=body.note)


@router.post("/tasks/{request_id}/failed", responses=_CHANGE)
async def failed(
    request_id: str, body: ReasonIn, user: Worker, db: DbSession, runtime: Runtime, ip: ClientIp
) -> FieldTaskView:
    """Could not be fulfilled, and why (the caller is told; supervisors see the reason)."""
    return await _step(request_id, FAILED, user, db, runtime, ip, reason=body.reason)


@router.post("/tasks/{request_id}/decline", status_code=204, responses=_CHANGE)
async def decline(
    request_id: str, body: ReasonIn, user: Worker, db: DbSession, runtime: Runtime
) -> Response:
    """Give the task back, with a reason: it goes to the next field worker, never to you again."""
    result = await dispatch.decline(
        session=db, request_id=request_id, actor=user, reason=body.reason, now=runtime.now()
    )
    await runtime.finish(db, result.events)
    return Response(status_code=204)


@router.post("/tasks/{request_id}/call", status_code=202, responses={**_CHANGE, 502: {}, 503: {}})
async def call_citizen(
    request_id: str, user: Worker, db: DbSession, runtime: Runtime, ip: ClientIp
) -> CitizenCallOut:
    """Call the citizen through the platform: your phone rings, then theirs, and you are
    connected; their number never reaches you. When your phone cannot be rung, an agent calls
    them for you (`mode: agent_callback`). 503 `no_outbound_route` when Hotline cannot dial
    out."""
    request = await db.get(Request, request_id)
    if request is None:
        raise NotFound(f"no request {request_id!r}", request_id=request_id)
    await dispatch.worker_task(session=db, request_id=request_id, actor=user, ip=ip)
    if State(request.state) not in ACTIVE_STATES:
        raise Conflict("the task is over", request_id=request_id, state=request.state)
    if not request.caller_number:
        raise Conflict("the request has no number to call", request_id=request_id)
    if runtime.citizen_calls is None:
        raise NoOutboundRoute("this Hotline does not make calls (no telephony running)")
    number = request.caller_number
    queue = None
    if request.contact_id is not None:
        contact = await db.get(Contact, request.contact_id)
        queue = contact.queue_id if contact is not None else None
    await audit.record(
        session=db,
        actor=user,
        action="request.citizen_call",
        object_type="request",
        object_id=request_id,
        ip=ip,
    )
    await db.commit()
    started = await runtime.citizen_calls.call(
        request_id=request_id,
        number=number,
        worker_id=user.id,
        worker_username=user.username,
        queue_id=queue,
    )
    return CitizenCallOut(call_id=started.call_id, mode=started.mode)


# ---------------------------------------------------------------------------- field workers


@router.get("/field-workers/me", responses=_READ)
async def me(user: Worker, db: DbSession) -> FieldWorkerView:
    """Your dispatch status: on duty or not, open tasks against capacity."""
    return await dispatch.worker_view(session=db, worker_id=user.id)


@router.put("/field-workers/me/availability", responses=_CHANGE)
async def my_availability(
    body: AvailabilityIn, user: Worker, db: DbSession, runtime: Runtime
) -> FieldWorkerView:
    """Go on or off duty (tasks you hold stay yours; no new ones while off)."""
    return await dispatch.set_available(
        session=db, worker_id=user.id, available=body.available, actor=user, now=runtime.now()
    )


@router.get("/field-workers", responses={401: {}, 403: {}})
async def field_workers(
    user: Overseer,
    db: DbSession,
    district_id: Annotated[str | None, Query(max_length=64)] = None,
    kind: Annotated[str | None, Query(max_length=64)] = None,
    available: bool | None = None,
) -> list[FieldWorkerView]:
    """Field workers with their load, to assign by hand (supervisors)."""
    return await roster(session=db, district_id=district_id, kind=kind, available=available)


@router.put("/field-workers/{username}/availability", responses=_CHANGE)
async def availability(
    username: str, body: AvailabilityIn, user: Overseer, db: DbSession, runtime: Runtime
) -> FieldWorkerView:
    """Put a field worker on or off duty."""
    worker_id = await field_worker_id(session=db, username=username)
    return await dispatch.set_available(
        session=db, worker_id=worker_id, available=body.available, actor=user, now=runtime.now()
    )
