"""Dispatch operations: give a request to a field worker automatically or by hand, take it back
when it is declined or not accepted in time and give it to the next one, place a request whose
address matched no district, and a field worker's own view of their tasks and availability.

Automatic assignment reads only the workers of the request's district and of the kinds its
category allows (the `field_worker_districts` index by district, then primary keys), ranks them
with the pure `hotline.dispatch.assignment`, and claims the first with a conditional UPDATE, falling
back to the next if another assignment took that slot meanwhile. Each step goes through
`hotline.requests.service.apply_step`, so it is logged with its actor in the caller's transaction;
the caller commits, then publishes the result's events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.audit import service as audit
from hotline.core.errors import Forbidden, InvalidInput, NotFound
from hotline.core.events import Event
from hotline.db.base import utcnow
from hotline.dispatch.assignment import (
    AssignmentRefused,
    CategorySpec,
    FieldWorkerSpec,
    check_manual,
    ranked,
)
from hotline.dispatch.models import District, FieldWorker, FieldWorkerCategory, FieldWorkerDistrict
from hotline.dispatch.roster import field_worker_view
from hotline.dispatch.schemas import FieldTaskView, FieldWorkerView
from hotline.requests.events import RequestPlaced
from hotline.requests.keys import masked_phone
from hotline.requests.lifecycle import ACTIVE_STATES, ASSIGNED, NEW, RequestState
from hotline.requests.models import Request, RequestCategory
from hotline.requests.service import (
    SUPERVISING,
    Actor,
    append_event,
    apply_step,
    category_of,
    locked_request,
    transition,
)
from hotline.users.models import Role, User


@dataclass
class Assignment:
    """What an assignment did: the request, the field worker now holding it (None: nobody could
    take it, it stays new), and the events to publish once committed."""

    request: Request
    worker_id: str | None = None
    events: list[Event] = field(default_factory=list)


def category_spec(category: RequestCategory) -> CategorySpec:
    """A request category in the assignment engine's terms."""
    return CategorySpec(
        id=category.id,
        kinds=tuple(category.kind_ids),
        information_only=category.information_only,
        accept_minutes=category.accept_minutes,
    )


def worker_spec(worker: FieldWorker) -> FieldWorkerSpec:
    """A field worker row (with its districts and categories) in the engine's terms."""
    return FieldWorkerSpec(
        id=worker.user_id,
        kind=worker.kind_id,
        districts=frozenset(d.district_id for d in worker.districts),
        categories=frozenset(c.category_id for c in worker.categories),
        capacity=worker.capacity,
        available=worker.available,
        load=worker.active_tasks,
        last_assigned_at=worker.last_assigned_at,
    )


# ---------------------------------------------------------------------------- assignment


async def auto_assign(
    *,
    session: AsyncSession,
    request_id: str,
    actor: Actor | None,
    now: datetime | None = None,
) -> Assignment:
    """Give a new request to the best field worker of its district who may take it now. A request
    that is not new, has no district yet, or is information-only is left as it is; so is one that
    nobody can take now (`worker_id` None): it waits for a worker to free up or a supervisor."""
    now = now or utcnow()
    request = await locked_request(session, request_id)
    category = await category_of(session, request.category_id)
    if request.state != NEW.value or request.district_id is None or category.information_only:
        return Assignment(request)
    spec = category_spec(category)
    candidates = await _candidates(session, request.district_id, spec)
    for worker in ranked(
        candidates, spec, district=request.district_id, exclude=request.excluded_workers
    ):
        try:
            event = await apply_step(
                session,
                request,
                ASSIGNED,
                actor=actor,
                category=category,
                now=now,
                worker_id=worker.id,
                cause="auto_assign",
            )
        except AssignmentRefused:
            continue  # another assignment took this worker's last slot meanwhile
        return Assignment(request, worker.id, [event])
    return Assignment(request)


async def _candidates(
    session: AsyncSession, district_id: str, category: CategorySpec
) -> list[FieldWorkerSpec]:
    """The available, active field workers of the district, of the category's kinds, with room,
    and who serve the category: the database narrows, the engine ranks."""
    limited = exists().where(FieldWorkerCategory.user_id == FieldWorker.user_id)
    serves = exists().where(
        FieldWorkerCategory.user_id == FieldWorker.user_id,
        FieldWorkerCategory.category_id == category.id,
    )
    rows = await session.execute(
        select(
            FieldWorker.user_id,
            FieldWorker.kind_id,
            FieldWorker.capacity,
            FieldWorker.active_tasks,
            FieldWorker.last_assigned_at,
        )
        .join(FieldWorkerDistrict, FieldWorkerDistrict.user_id == FieldWorker.user_id)
        .join(User, User.id == FieldWorker.user_id)
        .where(
            FieldWorkerDistrict.district_id == district_id,
            FieldWorker.kind_id.in_(category.kinds),
            FieldWorker.available.is_(True),
            FieldWorker.active_tasks < FieldWorker.capacity,
            User.active.is_(True),
            or_(~limited, serves),
        )
    )
    return [
        FieldWorkerSpec(
            id=user_id,
            kind=kind,
            districts=frozenset({district_id}),
            categories=frozenset(),  # the query kept only those who serve the category
            capacity=capacity,
            available=True,
            load=load,
            last_assigned_at=last,
        )
        for user_id, kind, capacity, load, last in rows
    ]


async def assign(
    *,
    session: AsyncSession,
    request_id: str,
    worker_id: str,
    actor: Actor | None,
    now: datetime | None = None,
) -> Assignment:
    """A supervisor's choice (manual override): any district, but never an unavailable or full
    worker, nor one whose kind does not fulfil the category (`AssignmentRefused`). Also
    re-assigns a task someone else holds."""
    _supervising(actor, "assigning a request by hand")
    now = now or utcnow()
    request = await locked_request(session, request_id)
    category = await category_of(session, request.category_id)
    worker = await session.get(FieldWorker, worker_id)
    if worker is None:
        raise NotFound(f"no field worker {worker_id!r}", worker_id=worker_id)
    user = await session.get(User, worker_id)
    if user is None or not user.active:
        raise AssignmentRefused("the field worker's account is not active", worker_id=worker_id)
    check_manual(worker_spec(worker), category_spec(category))
    event = await apply_step(
        session,
        request,
        ASSIGNED,
        actor=actor,
        category=category,
        now=now,
        worker_id=worker_id,
        cause="manual_assign",
    )
    return Assignment(request, worker_id, [event])


async def decline(
    *,
    session: AsyncSession,
    request_id: str,
    actor: Actor,
    reason: str,
    now: datetime | None = None,
) -> Assignment:
    """A field worker gives back a task they cannot do; it goes to the next worker at once (or
    waits, new, when there is none). They are not offered it again."""
    if not reason.strip():
        raise InvalidInput(
            "say why the task is declined",
            problems=[{"loc": ["reason"], "message": "field required"}],
        )
    now = now or utcnow()
    back = await transition(
        session=session, request_id=request_id, to=NEW, actor=actor, reason=reason, now=now
    )
    again = await auto_assign(session=session, request_id=request_id, actor=None, now=now)
    return Assignment(again.request, again.worker_id, [*back.events, *again.events])


async def reassign_overdue(
    *, session: AsyncSession, now: datetime | None = None, limit: int = 100
) -> list[Assignment]:
    """Tasks assigned but not accepted within their category's `accept_minutes` go back and on to
    the next field worker. Run by a timer; returns what it did, for publishing after the commit."""
    now = now or utcnow()
    due = (
        await session.scalars(
            select(Request.id)
            .where(Request.state == ASSIGNED.value, Request.accept_by < now)
            .order_by(Request.accept_by)
            .limit(limit)
        )
    ).all()
    done: list[Assignment] = []
    for request_id in due:
        request = await locked_request(session, request_id)
        if request.state != ASSIGNED.value or request.accept_by is None or request.accept_by >= now:
            continue  # accepted (or moved) meanwhile
        category = await category_of(session, request.category_id)
        back = await apply_step(
            session,
            request,
            NEW,
            actor=None,
            category=category,
            now=now,
            reason="not accepted in time",
            cause="accept_timeout",
        )
        again = await auto_assign(session=session, request_id=request_id, actor=None, now=now)
        done.append(Assignment(again.request, again.worker_id, [back, *again.events]))
    return done


async def place(
    *,
    session: AsyncSession,
    request_id: str,
    district_id: str,
    actor: Actor | None,
    now: datetime | None = None,
) -> Assignment:
    """Put a request into a district by hand (its address matched none, or matched the wrong
    one), then assign it automatically there."""
    _supervising(actor, "placing a request in a district")
    now = now or utcnow()
    if await session.get(District, district_id) is None:
        raise InvalidInput(
            f"unknown district {district_id!r}",
            problems=[{"loc": ["district_id"], "message": "unknown district"}],
        )
    request = await locked_request(session, request_id)
    request.district_id = district_id
    request.needs_district = False
    request.updated_at = now
    placed = RequestPlaced(
        request_id=request.id,
        district_id=district_id,
        actor=actor.username if actor is not None else None,
        at=now,
    )
    await append_event(session, request, placed, actor)
    again = await auto_assign(session=session, request_id=request_id, actor=actor, now=now)
    return Assignment(again.request, again.worker_id, [placed, *again.events])


# ---------------------------------------------------------------------------- the field worker


async def worker_tasks(
    *,
    session: AsyncSession,
    actor: Actor,
    include_ended: bool = False,
    ip: str | None = None,
) -> list[FieldTaskView]:
    """The signed-in field worker's own tasks, most urgent first (a field worker sees no one
    else's). Reading them is audited: they hold callers' addresses."""
    if Role.FIELD_WORKER.value not in actor.roles:
        raise Forbidden("tasks are for field workers")
    states = [s.value for s in (RequestState if include_ended else ACTIVE_STATES)]
    rows = (
        await session.scalars(
            select(Request)
            .where(Request.worker_id == actor.id, Request.state.in_(states))
            .order_by(Request.priority.desc(), Request.sla_deadline, Request.id)
        )
    ).all()
    await audit.record(
        session=session,
        actor=actor,
        action="request.tasks_read",
        object_type="field_worker",
        object_id=actor.id,
        ip=ip,
        details={"requests": [r.id for r in rows]},
    )
    return [task_view(r) for r in rows]


async def worker_task(
    *, session: AsyncSession, request_id: str, actor: Actor, ip: str | None = None
) -> FieldTaskView:
    """One of the field worker's own tasks; another's is `Forbidden` (supervisors may look)."""
    request = await session.get(Request, request_id)
    if request is None:
        raise NotFound(f"no request {request_id!r}", request_id=request_id)
    mine = Role.FIELD_WORKER.value in actor.roles and request.worker_id == actor.id
    if not mine and not SUPERVISING.intersection(actor.roles):
        raise Forbidden("this request is not your task", request_id=request_id)
    await audit.record(
        session=session,
        actor=actor,
        action="request.read",
        object_type="request",
        object_id=request.id,
        ip=ip,
    )
    return task_view(request)


def task_view(request: Request) -> FieldTaskView:
    return FieldTaskView(
        id=request.id,
        category=request.category_id,
        state=request.state,
        priority=request.priority,
        urgent=request.urgent,
        caller_name=request.caller_name,
        caller_number=masked_phone(request.caller_number),
        postcode=request.postcode,
        street=request.street,
        house=request.house,
        flat=request.flat,
        address_note=request.address_note,
        district_id=request.district_id,
        form=request.form_data,
        note=request.note,
        assigned_at=request.assigned_at,
        accept_by=request.accept_by,
        accepted_at=request.accepted_at,
        started_at=request.started_at,
        ended_at=request.ended_at,
        sla_deadline=request.sla_deadline,
        outcome_note=request.outcome_note,
        reason=request.reason,
    )


async def set_available(
    *,
    session: AsyncSession,
    worker_id: str,
    available: bool,
    actor: Actor | None,
    now: datetime | None = None,
) -> FieldWorkerView:
    """A field worker goes on or off duty (themselves, or a supervisor for them). Tasks they
    hold stay theirs; new ones are not given while they are off."""
    if actor is not None and actor.id != worker_id:
        _supervising(actor, "changing another field worker's availability")
    worker = await session.get(FieldWorker, worker_id)
    if worker is None:
        raise NotFound(f"no field worker {worker_id!r}", worker_id=worker_id)
    worker.available = available
    worker.updated_at = now or utcnow()
    await session.flush()
    return await worker_view(session=session, worker_id=worker_id)


async def worker_view(*, session: AsyncSession, worker_id: str) -> FieldWorkerView:
    """A field worker's dispatch status, read afresh."""
    worker = await session.scalar(
        select(FieldWorker)
        .where(FieldWorker.user_id == worker_id)
        .execution_options(populate_existing=True)
    )
    user = await session.get(User, worker_id)
    if worker is None or user is None:
        raise NotFound(f"no field worker {worker_id!r}", worker_id=worker_id)
    return field_worker_view(worker, user.username)


async def unplaced_requests(*, session: AsyncSession, actor: Actor) -> list[Request]:
    """Open requests waiting for a supervisor: no district matched their address, oldest first."""
    _supervising(actor, "the requests to place")
    rows = await session.scalars(
        select(Request)
        .where(Request.needs_district.is_(True), Request.state == NEW.value)
        .order_by(Request.created_at, Request.id)
    )
    return list(rows.all())


def _supervising(actor: Actor | None, what: str) -> None:
    if actor is not None and not SUPERVISING.intersection(actor.roles):
        raise Forbidden(f"{what} needs the role supervisor or admin")
