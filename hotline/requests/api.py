"""Requests over HTTP (`/api/v1/requests`, `/api/v1/request-categories`, the request form of a
contact or a blank one (`/api/v1/request-draft`), and a contact's caller's history). Thin: who
may see which request is `hotline.requests.scope`, who may move it `hotline.requests.service`;
each change commits, then publishes its events and wakes the outbox (`FieldRuntime.finish`).

Creating a request answers 201 with the request (assigned at once when its district has a free
field worker); the same form submitted again (same idempotency key, same content) answers 200
with that same request and `created: false`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from hotline.api.deps import ClientIp, DbSession, require_roles
from hotline.auth.service import SignedInUser
from hotline.contacts.models import Contact
from hotline.core.errors import Forbidden
from hotline.core.events import Event
from hotline.dispatch import service as dispatch
from hotline.dispatch.roster import field_worker_id
from hotline.requests import scope
from hotline.requests.lifecycle import CANCELLED, DONE, FAILED, RequestState
from hotline.requests.models import Request
from hotline.requests.runtime import Runtime
from hotline.requests.schemas import (
    AssignIn,
    CallerLookupIn,
    CategoryView,
    DuplicateView,
    LogEntry,
    MergeIn,
    NoteIn,
    PlaceIn,
    ReasonIn,
    RequestCreate,
    RequestCreateResult,
    RequestDraft,
    RequestPage,
    RequestSummary,
    RequestView,
)
from hotline.requests.service import (
    caller_requests,
    create_request,
    duplicate_candidates,
    get_request,
    merge,
    transition,
    views,
)
from hotline.users.models import Role

router = APIRouter(prefix="/api/v1", tags=["requests"])

STAFF_ROLES = (Role.AGENT, Role.DEPARTMENT_SPECIALIST, Role.SUPERVISOR, Role.ADMIN)
Staff = Annotated[SignedInUser, Depends(require_roles(*STAFF_ROLES))]
Overseer = Annotated[SignedInUser, Depends(require_roles(Role.SUPERVISOR, Role.ADMIN))]
Anyone = Annotated[SignedInUser, Depends(require_roles(*STAFF_ROLES, Role.FIELD_WORKER))]

_READ: dict[int | str, dict[str, Any]] = {401: {}, 403: {}, 404: {}}
_CHANGE: dict[int | str, dict[str, Any]] = {401: {}, 403: {}, 404: {}, 409: {}, 422: {}}


@router.get("/request-categories", responses={401: {}, 403: {}})
async def request_categories(user: Anyone, db: DbSession) -> list[CategoryView]:
    """Every request category with its form (JSON Schema), SLA and who fulfils it."""
    return await scope.categories(session=db)


# ---------------------------------------------------------------------------- from a call


@router.get("/contacts/{contact_id}/request-draft", responses=_READ)
async def request_draft(contact_id: str, user: Staff, db: DbSession, ip: ClientIp) -> RequestDraft:
    """A new request's form prefilled from a call (the caller's number, the call's topic) with a
    fresh idempotency key: for the agent the contact was offered to or handled by. Audited."""
    return await scope.draft_from_contact(session=db, contact_id=contact_id, actor=user, ip=ip)


@router.get("/request-draft", responses={401: {}, 403: {}})
async def blank_request_draft(user: Staff) -> RequestDraft:
    """A new request's form with no call behind it (a department specialist takes a request
    from a citizen outside the platform): a fresh idempotency key, nothing prefilled; submit it
    to `POST /requests` without `contact_id`, with the citizen's number in `caller.number`."""
    return scope.blank_draft()


@router.get("/contacts/{contact_id}/requests", responses=_READ)
async def contact_requests(
    contact_id: str, user: Staff, db: DbSession, ip: ClientIp
) -> list[RequestSummary]:
    """The requests of this contact's caller, newest first (by the number on the contact, which
    never travels in the URL). Audited."""
    return await scope.contact_caller_requests(session=db, contact_id=contact_id, actor=user, ip=ip)


@router.post("/requests/caller-history", responses={401: {}, 403: {}, 422: {}})
async def caller_history(
    body: CallerLookupIn, user: Overseer, db: DbSession, ip: ClientIp
) -> list[RequestSummary]:
    """A caller's requests by number (supervisors; a POST, so the number stays out of URLs and
    access logs). Audited."""
    return await caller_requests(session=db, number=body.number, actor=user, ip=ip)


# ---------------------------------------------------------------------------- requests


@router.post("/requests", status_code=201, responses={**_CHANGE, 200: {}})
async def create(
    body: RequestCreate,
    user: Staff,
    db: DbSession,
    ip: ClientIp,
    runtime: Runtime,
    response: Response,
) -> RequestCreateResult:
    """A new request from a call's form, a department specialist or an API client. Invalid
    fields: 422 with one problem per field. An address in no district is accepted and flagged
    (`needs_district`). Assigned at once when a field worker of its district is free."""
    specialist = user.has_role(Role.DEPARTMENT_SPECIALIST)
    if not scope.sees_all(user):
        # The source says who made it, not what the client claims.
        source = "agent" if user.has_role(Role.AGENT) else "specialist"
        body = body.model_copy(update={"source": source})
        if body.contact_id is not None:
            contact = await db.get(Contact, body.contact_id)
            if contact is not None and not await scope.contact_is_theirs(db, contact, user):
                raise Forbidden(
                    "this contact was neither offered to you nor handled by you",
                    contact_id=body.contact_id,
                )
    change = await create_request(
        session=db,
        data=body,
        actor=user,
        ip=ip,
        now=runtime.now(),
        department=user.department if specialist else None,
    )
    events = list(change.events)
    if change.created:
        assigned = await dispatch.auto_assign(
            session=db, request_id=change.request.id, actor=None, now=runtime.now()
        )
        events += assigned.events
    else:
        response.status_code = 200
    (view,) = await views(db, [change.request])
    await runtime.finish(db, events)
    return RequestCreateResult(
        request=view,
        created=change.created,
        duplicates=[
            DuplicateView(id=c.id, matches=list(c.matches), created_at=c.created_at)
            for c in change.duplicates
        ],
    )


@router.get("/requests", responses={401: {}, 403: {}, 422: {}})
async def list_requests(
    user: Staff,
    db: DbSession,
    ip: ClientIp,
    state: RequestState | None = None,
    category: Annotated[str | None, Query(max_length=64)] = None,
    district_id: Annotated[str | None, Query(max_length=64)] = None,
    needs_district: bool | None = None,
    before: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> RequestPage:
    """The requests you may see, newest first: all (supervisors), your department's
    (specialists), yours and your calls' (agents). Audited."""
    return await scope.list_requests(
        session=db,
        actor=user,
        ip=ip,
        state=state.value if state is not None else None,
        category=category,
        district_id=district_id,
        needs_district=needs_district,
        before=before,
        limit=limit,
    )


@router.get("/requests/unplaced", responses={401: {}, 403: {}})
async def unplaced(user: Overseer, db: DbSession, ip: ClientIp) -> list[RequestView]:
    """Requests whose address matched no district, oldest first: to place by hand."""
    return await scope.unplaced(session=db, actor=user, ip=ip)


@router.get("/requests/{request_id}", responses=_READ)
async def read(request_id: str, user: Staff, db: DbSession, ip: ClientIp) -> RequestView:
    """A request with the caller's details (audited)."""
    await scope.visible_request(db, request_id, user)
    return await get_request(session=db, request_id=request_id, actor=user, ip=ip)


@router.get("/requests/{request_id}/log", responses=_READ)
async def log(
    request_id: str,
    user: Staff,
    db: DbSession,
    after_seq: Annotated[int, Query(ge=0)] = 0,
) -> list[LogEntry]:
    """The request's audit trail: every step, who made it and why."""
    await scope.visible_request(db, request_id, user)
    return await scope.log_entries(session=db, request_id=request_id, after_seq=after_seq)


@router.get("/requests/{request_id}/duplicates", responses=_READ)
async def duplicates(request_id: str, user: Staff, db: DbSession) -> list[DuplicateView]:
    """Open requests of the same category for the same caller or door, oldest first."""
    request = await scope.visible_request(db, request_id, user)
    found = await duplicate_candidates(
        session=db,
        category_id=request.category_id,
        phone_key=request.phone_key,
        address_key=request.address_key,
        exclude_id=request.id,
    )
    return [DuplicateView(id=c.id, matches=list(c.matches), created_at=c.created_at) for c in found]


@router.post("/requests/{request_id}/merge", responses=_CHANGE)
async def merge_duplicate(
    request_id: str, body: MergeIn, user: Staff, db: DbSession, runtime: Runtime
) -> RequestView:
    """Merge `duplicate_id` into this request: the duplicate is cancelled and linked here; this
    one takes the higher priority and the earlier deadline."""
    for rid in (request_id, body.duplicate_id):
        await scope.visible_request(db, rid, user)
    change = await merge(
        session=db,
        primary_id=request_id,
        duplicate_id=body.duplicate_id,
        actor=user,
        now=runtime.now(),
    )
    return await _finished(db, runtime, change.request, change.events)


async def _finished(
    db: DbSession, runtime: Runtime, request: Request, events: Sequence[Event]
) -> RequestView:
    """The request as staff see it, once its change is committed and published."""
    (view,) = await views(db, [request])
    await runtime.finish(db, events)
    return view


async def _move(
    request_id: str,
    to: RequestState,
    user: SignedInUser,
    db: DbSession,
    runtime: Runtime,
    *,
    reason: str | None = None,
    note: str | None = None,
) -> RequestView:
    await scope.visible_request(db, request_id, user)
    change = await transition(
        session=db,
        request_id=request_id,
        to=to,
        actor=user,
        reason=reason,
        note=note,
        now=runtime.now(),
    )
    return await _finished(db, runtime, change.request, change.events)


@router.post("/requests/{request_id}/cancel", responses=_CHANGE)
async def cancel(
    request_id: str, body: ReasonIn, user: Staff, db: DbSession, runtime: Runtime
) -> RequestView:
    """Cancel (with a reason); its field worker, if any, is released."""
    return await _move(request_id, CANCELLED, user, db, runtime, reason=body.reason)


@router.post("/requests/{request_id}/fail", responses=_CHANGE)
async def fail(
    request_id: str, body: ReasonIn, user: Staff, db: DbSession, runtime: Runtime
) -> RequestView:
    """Mark failed (with a reason): the caller is told, if the category says so."""
    return await _move(request_id, FAILED, user, db, runtime, reason=body.reason)


@router.post("/requests/{request_id}/done", responses=_CHANGE)
async def done(
    request_id: str, body: NoteIn, user: Staff, db: DbSession, runtime: Runtime
) -> RequestView:
    """Mark done: an information-only request the agent answered (supervisors: any request)."""
    return await _move(request_id, DONE, user, db, runtime, note=body.note)


# ---------------------------------------------------------------------------- dispatch by hand


@router.post("/requests/{request_id}/assign", responses=_CHANGE)
async def assign(
    request_id: str, body: AssignIn, user: Overseer, db: DbSession, runtime: Runtime
) -> RequestView:
    """Give the request to this field worker (any district), or re-assign it from another;
    409 `assignment_refused` when they are off duty, full, or of a kind that cannot fulfil it."""
    worker_id = await field_worker_id(session=db, username=body.worker)
    result = await dispatch.assign(
        session=db, request_id=request_id, worker_id=worker_id, actor=user, now=runtime.now()
    )
    return await _finished(db, runtime, result.request, result.events)


@router.post("/requests/{request_id}/auto-assign", responses=_CHANGE)
async def auto_assign(
    request_id: str, user: Overseer, db: DbSession, runtime: Runtime
) -> RequestView:
    """Try automatic assignment again (a new request that found nobody free before)."""
    result = await dispatch.auto_assign(
        session=db, request_id=request_id, actor=user, now=runtime.now()
    )
    return await _finished(db, runtime, result.request, result.events)


@router.post("/requests/{request_id}/place", responses=_CHANGE)
async def place(
    request_id: str, body: PlaceIn, user: Overseer, db: DbSession, runtime: Runtime
) -> RequestView:
    """Put a request into a district by hand, then assign it there automatically."""
    result = await dispatch.place(
        session=db,
        request_id=request_id,
        district_id=body.district_id,
        actor=user,
        now=runtime.now(),
    )
    return await _finished(db, runtime, result.request, result.events)
