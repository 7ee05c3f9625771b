"""Operations on requests: create (validated field by field, idempotent, placed in a district or
flagged), move along the lifecycle with an actor and a reason, find and merge duplicates, alert on
SLA breaches, and read them back (audited).

Every change appends its event to the request's log in the caller's transaction; the caller
commits, then publishes `RequestChange.events` (`publish`). Field workers' open task counts change
in that same transaction (see `hotline.dispatch.models`). Who may do what is checked here, so the
routes on top stay thin: a field worker moves only their own tasks; agents and department
specialists cancel, fail and answer information-only requests; supervisors and admins do
anything, and the system (`actor=None`: timers, imports) too."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.audit import service as audit
from hotline.contacts.models import Contact
from hotline.contacts.service import caller_contact
from hotline.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from hotline.core.events import Event, EventBus, event_class
from hotline.db.base import utcnow
from hotline.dispatch.assignment import AssignmentRefused
from hotline.dispatch.districts import DistrictMap, DistrictSpec
from hotline.dispatch.models import District, FieldWorker
from hotline.lines.models import Line
from hotline.requests.duplicates import Candidate, RequestKeys, find_duplicates, plan_merge
from hotline.requests.events import (
    RequestCreated,
    RequestMerged,
    RequestSlaBreached,
    RequestStateChanged,
)
from hotline.requests.forms import form_problems
from hotline.requests.keys import address_key, normalize_phone, normalize_postcode
from hotline.requests.lifecycle import (
    ASSIGNED,
    CANCELLED,
    DEFAULT_PRIORITY_RULES,
    DONE,
    END_STATES,
    FAILED,
    IN_PROGRESS,
    NEW,
    OPEN_STATES,
    Lifecycle,
    Priority,
    PriorityRules,
    RequestState,
    advance,
    load_changes,
    priority_of,
    sla_deadline,
)
from hotline.requests.models import Request, RequestCategory, RequestEvent
from hotline.requests.schemas import (
    AddressView,
    CallerView,
    RequestCreate,
    RequestSummary,
    RequestView,
)
from hotline.users.models import Role, User


class Actor(Protocol):
    """Who acts: a signed-in user (`hotline.auth.service.SignedInUser`) or anything with these."""

    @property
    def id(self) -> str: ...

    @property
    def username(self) -> str: ...

    @property
    def roles(self) -> frozenset[str]: ...


SUPERVISING = frozenset({Role.SUPERVISOR.value, Role.ADMIN.value})
STAFF = frozenset({Role.AGENT.value, Role.DEPARTMENT_SPECIALIST.value}) | SUPERVISING
WORKER_MOVES = frozenset({RequestState.ACCEPTED, IN_PROGRESS, DONE, FAILED, NEW})
"""What a field worker may do with their own task (NEW: decline it)."""
STAFF_MOVES = frozenset({CANCELLED, FAILED, DONE})
"""What agents and department specialists may do (DONE: only an information-only request)."""


@dataclass
class RequestChange:
    """A request after an operation, the events to publish once committed, whether it was created
    now (False: an earlier submission of the same form), and the open requests that look like it."""

    request: Request
    events: list[Event] = field(default_factory=list)
    created: bool = False
    duplicates: list[Candidate] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class LoggedRequestEvent:
    """An event as stored in a request's log, with its place in it and who acted."""

    request_id: str
    seq: int
    actor: str | None
    event: Event


async def publish(bus: EventBus, events: Iterable[Event]) -> None:
    """Publish committed changes' events, in order."""
    for event in events:
        await bus.publish(event)


# ---------------------------------------------------------------------------- create


async def create_request(
    *,
    session: AsyncSession,
    data: RequestCreate,
    actor: Actor | None,
    now: datetime | None = None,
    ip: str | None = None,
    rules: PriorityRules = DEFAULT_PRIORITY_RULES,
    department: str | None = None,
) -> RequestChange:
    """Accept a new request. Bad fields raise `InvalidInput` with one problem per field (the
    form's against its category's JSON Schema); an address in no district is accepted and flagged
    (`needs_district`), never refused. A form submitted again with the same idempotency key gets
    the first request back (`created=False`); the key reused for different content is a
    `Conflict`. `department`: whose it is (a specialist's department); when None, the department
    of the line the contact came in on, if it is a department line. A request made on a warm
    transfer's consultation is attached to the caller's contact it consults about
    (`hotline.contacts.service.caller_contact`)."""
    now = now or utcnow()
    if actor is not None and not STAFF.intersection(actor.roles):
        raise Forbidden("creating requests needs the role agent, department_specialist or higher")
    fingerprint = _fingerprint(data)
    earlier = await _by_idempotency_key(session, data.idempotency_key)
    if earlier is not None:
        return _replay(earlier, fingerprint)
    category = await session.get(RequestCategory, data.category)
    await _validate(session, data, category)
    assert category is not None  # `_validate` refused an unknown category
    address = data.address
    dispatched = not category.information_only
    district_id: str | None = None
    if address is not None and dispatched:
        districts = await _district_map(session)
        district_id = districts.match(postcode=address.postcode, street=address.street)
    priority = priority_of(
        age=data.caller.age, disability=data.caller.disability, urgent=data.urgent, rules=rules
    )
    contact_id = data.contact_id
    if contact_id is not None:
        if department is None:
            department = await _line_department(session, contact_id)
        # Made on a warm transfer's consultation: the request is the caller's, on their contact.
        consulted = await session.get(Contact, contact_id)
        assert consulted is not None  # `_validate` refused an unknown contact
        contact_id = (await caller_contact(session=session, contact=consulted)).id
        if department is None and contact_id != data.contact_id:
            department = await _line_department(session, contact_id)
    request = Request(
        category_id=category.id,
        department=department,
        state=NEW.value,
        priority=int(priority),
        urgent=data.urgent,
        source=data.source,
        contact_id=contact_id,
        created_by_id=actor.id if actor is not None else None,
        caller_number=data.caller.number,
        caller_name=data.caller.name,
        caller_age=data.caller.age,
        disability=data.caller.disability,
        phone_key=normalize_phone(data.caller.number),
        postcode=normalize_postcode(address.postcode) if address else None,
        street=address.street if address else None,
        house=address.house if address else None,
        flat=address.flat if address else None,
        address_note=address.note if address else None,
        address_key=address_key(address.street, address.house, address.flat) if address else None,
        district_id=district_id,
        needs_district=dispatched and district_id is None,
        form_data=data.form,
        note=data.note,
        sla_deadline=sla_deadline(now, category.sla_hours, priority),
        idempotency_key=data.idempotency_key,
        fingerprint=fingerprint,
        excluded_workers=[],
        created_at=now,
        updated_at=now,
        last_seq=0,
    )
    duplicates = await duplicate_candidates(
        session=session,
        category_id=category.id,
        phone_key=request.phone_key,
        address_key=request.address_key,
    )
    try:
        async with session.begin_nested():
            session.add(request)
            await session.flush()
    except IntegrityError:
        # The same form, submitted at the same moment by a second click: the other one won.
        earlier = await _by_idempotency_key(session, data.idempotency_key)
        if earlier is None:
            raise
        return _replay(earlier, fingerprint)
    event = RequestCreated(
        request_id=request.id,
        category=category.id,
        priority=request.priority,
        sla_deadline=request.sla_deadline,
        district_id=district_id,
        needs_district=request.needs_district,
        source=request.source,
        contact_id=request.contact_id,
        actor=_name(actor),
        duplicates=[c.id for c in duplicates],
        at=now,
    )
    await append_event(session, request, event, actor)
    await audit.record(
        session=session,
        actor=actor,
        action="request.create",
        object_type="request",
        object_id=request.id,
        ip=ip,
        details={"category": category.id},
        at=now,
    )
    return RequestChange(request, [event], created=True, duplicates=duplicates)


async def _line_department(session: AsyncSession, contact_id: str) -> str | None:
    department: str | None = await session.scalar(
        select(Line.department)
        .join(Contact, Contact.line_id == Line.id)
        .where(Contact.id == contact_id)
    )
    return department


def _fingerprint(data: RequestCreate) -> str:
    content = data.model_dump(mode="json", exclude={"idempotency_key"})
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


async def _by_idempotency_key(session: AsyncSession, key: str) -> Request | None:
    found: Request | None = await session.scalar(
        select(Request).where(Request.idempotency_key == key)
    )
    return found


def _replay(earlier: Request, fingerprint: str) -> RequestChange:
    if earlier.fingerprint != fingerprint:
        raise Conflict(
            "this idempotency key was already used for a different request",
            request_id=earlier.id,
        )
    return RequestChange(earlier, created=False)


async def _validate(
    session: AsyncSession, data: RequestCreate, category: RequestCategory | None
) -> None:
    problems: list[dict[str, object]] = []
    if category is None:
        problems.append({"loc": ["category"], "message": f"unknown category {data.category!r}"})
    else:
        problems += [
            {"loc": ["form", *p["loc"]], "message": p["message"]}
            for p in form_problems(category.form, data.form)
        ]
        if not category.information_only:
            address = data.address
            for name in ("street", "house"):
                if address is None or getattr(address, name) is None:
                    problems.append(
                        {"loc": ["address", name], "message": "field required for a delivery"}
                    )
    if data.contact_id is not None and await session.get(Contact, data.contact_id) is None:
        problems.append({"loc": ["contact_id"], "message": "no such contact"})
    if problems:
        raise InvalidInput(
            "the request has invalid fields: " + ", ".join(_where(p) for p in problems),
            problems=problems,
        )


def _where(problem: dict[str, object]) -> str:
    loc = problem["loc"]
    return ".".join(map(str, loc)) if isinstance(loc, list) else str(loc)


async def _district_map(session: AsyncSession) -> DistrictMap:
    districts = (await session.scalars(select(District).order_by(District.position))).all()
    return DistrictMap(DistrictSpec(d.id, tuple(d.postcodes), tuple(d.streets)) for d in districts)


# ---------------------------------------------------------------------------- lifecycle


async def transition(
    *,
    session: AsyncSession,
    request_id: str,
    to: RequestState,
    actor: Actor | None,
    reason: str | None = None,
    note: str | None = None,
    now: datetime | None = None,
) -> RequestChange:
    """Move a request to `to` (not to ASSIGNED: assignment is `hotline.dispatch.service`'s), by
    `actor`, with `reason` (required to fail or cancel; for a decline, why) and `note` (what was
    done, on DONE). Refused moves raise `InvalidTransition`; moves the actor may not make,
    `Forbidden`."""
    request = await locked_request(session, request_id)
    category = await category_of(session, request.category_id)
    _check_move(actor, request, to, category)
    event = await apply_step(
        session, request, to, actor=actor, now=now, reason=reason, note=note, category=category
    )
    return RequestChange(request, [event])


def _check_move(
    actor: Actor | None, request: Request, to: RequestState, category: RequestCategory
) -> None:
    if actor is None or SUPERVISING.intersection(actor.roles):
        return
    if Role.FIELD_WORKER.value in actor.roles and actor.id == request.worker_id:
        if to in WORKER_MOVES:
            return
        raise Forbidden(f"a field worker cannot mark a task {to.value}", to=to.value)
    if STAFF.intersection(actor.roles):
        if to in STAFF_MOVES and (to is not DONE or category.information_only):
            return
        raise Forbidden(
            f"marking this request {to.value} is for its field worker or a supervisor",
            to=to.value,
        )
    raise Forbidden("this request is not your task", request_id=request.id)


async def apply_step(
    session: AsyncSession,
    request: Request,
    to: RequestState,
    *,
    actor: Actor | None,
    category: RequestCategory,
    now: datetime | None = None,
    worker_id: str | None = None,
    reason: str | None = None,
    note: str | None = None,
    cause: str | None = None,
) -> RequestStateChanged:
    """One lifecycle step on a locked request, with no permission check (callers check): the
    pure `advance`, field workers' task counts (a gained task is claimed first and may be refused
    with `AssignmentRefused`, changing nothing), the row, and the event in its log. A worker who
    loses a task without ending it (declined, timed out, re-assigned) is not offered it again
    automatically."""
    now = now or utcnow()
    before = lifecycle_of(request, information_only=category.information_only)
    after = advance(before, to, at=now, worker_id=worker_id, reason=reason)
    changes = load_changes(before, after)
    for who, delta in sorted(changes.items(), key=lambda item: -item[1]):  # gains first
        if delta > 0:
            await _claim(session, who, now)
        else:
            await _release(session, who)
    if before.worker_id is not None and after.worker_id != before.worker_id:
        request.excluded_workers = sorted({*request.excluded_workers, before.worker_id})
    request.state = after.state.value
    request.worker_id = after.worker_id
    request.assigned_at = after.assigned_at
    request.accepted_at = after.accepted_at
    request.started_at = after.started_at
    request.ended_at = after.ended_at
    request.accept_by = (
        now + timedelta(minutes=category.accept_minutes) if after.state is ASSIGNED else None
    )
    if to in (NEW, FAILED, CANCELLED):
        request.reason = reason
    if to is DONE:
        request.outcome_note = note
    if after.state in END_STATES and after.ended_at is not None:
        request.sla_breached = request.sla_breached or after.ended_at > request.sla_deadline
    request.updated_at = now
    event = RequestStateChanged(
        request_id=request.id,
        from_state=before.state.value,
        to_state=after.state.value,
        worker_id=after.worker_id,
        previous_worker_id=before.worker_id if before.worker_id != after.worker_id else None,
        reason=reason,
        note=note,
        cause=cause,
        actor=_name(actor),
        at=now,
    )
    await append_event(session, request, event, actor)
    return event


def lifecycle_of(request: Request, *, information_only: bool) -> Lifecycle:
    """The pure lifecycle of a request row."""
    return Lifecycle(
        state=RequestState(request.state),
        information_only=information_only,
        worker_id=request.worker_id,
        assigned_at=request.assigned_at,
        accepted_at=request.accepted_at,
        started_at=request.started_at,
        ended_at=request.ended_at,
        reason=request.reason,
    )


async def _claim(session: AsyncSession, worker_id: str, now: datetime) -> None:
    """Count a task for a worker, only while they are available and below capacity: one UPDATE,
    so that two assignments racing for a last free slot cannot both win."""
    claimed = await session.execute(
        update(FieldWorker)
        .where(
            FieldWorker.user_id == worker_id,
            FieldWorker.available.is_(True),
            FieldWorker.active_tasks < FieldWorker.capacity,
        )
        .values(active_tasks=FieldWorker.active_tasks + 1, last_assigned_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise AssignmentRefused(
            "the field worker is not available or has no free slot", worker_id=worker_id
        )


async def _release(session: AsyncSession, worker_id: str) -> None:
    await session.execute(
        update(FieldWorker)
        .where(FieldWorker.user_id == worker_id, FieldWorker.active_tasks > 0)
        .values(active_tasks=FieldWorker.active_tasks - 1)
        .execution_options(synchronize_session=False)
    )


async def locked_request(session: AsyncSession, request_id: str) -> Request:
    """The request, locked for this transaction (a row lock on PostgreSQL; SQLite's transactions
    hold the write lock already), read afresh."""
    request: Request | None = await session.scalar(
        select(Request)
        .where(Request.id == request_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if request is None:
        raise NotFound(f"no request {request_id!r}", request_id=request_id)
    return request


async def category_of(session: AsyncSession, category_id: str) -> RequestCategory:
    """A request's category (a foreign key with RESTRICT keeps it while requests use it)."""
    category = await session.get(RequestCategory, category_id)
    assert category is not None
    return category


# ---------------------------------------------------------------------------- the log


async def append_event(
    session: AsyncSession, request: Request, event: Event, actor: Actor | None
) -> None:
    """Append `event` to the (locked or new) request's log as its next `seq`: the one writer of
    request logs."""
    request.last_seq = (request.last_seq or 0) + 1
    session.add(
        RequestEvent(
            id=event.id,
            request_id=request.id,
            seq=request.last_seq,
            type=event.type,
            at=event.at,
            actor_id=actor.id if actor is not None else None,
            actor=_name(actor),
            correlation_id=event.correlation_id or request.contact_id or request.id,
            payload=event.payload(),
        )
    )
    await session.flush()


async def request_log(
    *, session: AsyncSession, request_id: str, after_seq: int = 0
) -> list[LoggedRequestEvent]:
    """A request's audit trail in order (after `after_seq` only, to resume), events typed."""
    rows = await session.scalars(
        select(RequestEvent)
        .where(RequestEvent.request_id == request_id, RequestEvent.seq > after_seq)
        .order_by(RequestEvent.seq)
    )
    return [
        LoggedRequestEvent(
            request_id=row.request_id,
            seq=row.seq,
            actor=row.actor,
            event=event_class(row.type).model_validate(
                {**row.payload, "id": row.id, "at": row.at, "correlation_id": row.correlation_id}
            ),
        )
        for row in rows
    ]


def _name(actor: Actor | None) -> str | None:
    return actor.username if actor is not None else None


# ---------------------------------------------------------------------------- duplicates


async def duplicate_candidates(
    *,
    session: AsyncSession,
    category_id: str,
    phone_key: str | None,
    address_key: str | None,
    exclude_id: str | None = None,
) -> list[Candidate]:
    """Open requests of the category with the same phone number or address key, oldest first."""
    alike = [
        column == value
        for column, value in ((Request.phone_key, phone_key), (Request.address_key, address_key))
        if value is not None
    ]
    if not alike:
        return []
    rows = await session.scalars(
        select(Request).where(
            Request.category_id == category_id,
            Request.state.in_([s.value for s in OPEN_STATES]),
            Request.merged_into_id.is_(None),
            or_(*alike),
        )
    )
    return find_duplicates(
        category_id=category_id,
        phone_key=phone_key,
        address_key=address_key,
        existing=[_keys(row) for row in rows],
        exclude_id=exclude_id,
    )


def _keys(request: Request) -> RequestKeys:
    return RequestKeys(
        id=request.id,
        category_id=request.category_id,
        state=RequestState(request.state),
        created_at=request.created_at,
        phone_key=request.phone_key,
        address_key=request.address_key,
        priority=Priority(request.priority),
        sla_deadline=request.sla_deadline,
        merged_into=request.merged_into_id,
    )


async def merge(
    *,
    session: AsyncSession,
    primary_id: str,
    duplicate_id: str,
    actor: Actor | None,
    now: datetime | None = None,
) -> RequestChange:
    """Merge `duplicate_id` into `primary_id`: the duplicate is cancelled (its field worker, if
    any, released) with a reason naming the primary and a link to it; the primary takes the higher
    priority and the earlier deadline. Both logs record it."""
    now = now or utcnow()
    if actor is not None and not STAFF.intersection(actor.roles):
        raise Forbidden("merging requests needs the role agent or higher")
    # Lock in id order, so two merges of the same pair cannot deadlock.
    locked = {rid: await locked_request(session, rid) for rid in sorted({primary_id, duplicate_id})}
    primary, duplicate = locked[primary_id], locked[duplicate_id]
    plan = plan_merge(_keys(primary), _keys(duplicate))
    category = await category_of(session, duplicate.category_id)
    cancelled = await apply_step(
        session,
        duplicate,
        CANCELLED,
        actor=actor,
        category=category,
        now=now,
        reason=plan.reason,
        cause="merged",
    )
    duplicate.merged_into_id = primary.id
    primary.priority = int(plan.priority)
    if plan.sla_deadline is not None:
        primary.sla_deadline = plan.sla_deadline
    primary.updated_at = now
    merged = RequestMerged(
        request_id=primary.id,
        duplicate_id=duplicate.id,
        priority=primary.priority,
        sla_deadline=primary.sla_deadline,
        actor=_name(actor),
        at=now,
    )
    await append_event(session, primary, merged, actor)
    return RequestChange(primary, [cancelled, merged])


# ---------------------------------------------------------------------------- SLA


async def record_sla_breaches(
    *, session: AsyncSession, now: datetime | None = None, limit: int = 500
) -> list[RequestSlaBreached]:
    """Mark open requests past their deadline as breached, once each, and log the alert. Run by a
    timer; returns the alerts to publish after the commit."""
    now = now or utcnow()
    ids = (
        await session.scalars(
            select(Request.id)
            .where(
                Request.state.in_([s.value for s in OPEN_STATES]),
                Request.sla_deadline < now,
                Request.sla_breached.is_(False),
            )
            .order_by(Request.sla_deadline)
            .limit(limit)
        )
    ).all()
    alerts: list[RequestSlaBreached] = []
    for request_id in ids:
        request = await locked_request(session, request_id)
        if request.sla_breached or RequestState(request.state) in END_STATES:
            continue
        request.sla_breached = True
        alert = RequestSlaBreached(
            request_id=request.id,
            sla_deadline=request.sla_deadline,
            state=request.state,
            priority=request.priority,
            at=now,
        )
        await append_event(session, request, alert, None)
        alerts.append(alert)
    return alerts


# ---------------------------------------------------------------------------- reading


async def get_request(
    *, session: AsyncSession, request_id: str, actor: Actor, ip: str | None = None
) -> RequestView:
    """A request with the caller's details, for staff (field workers read their tasks through
    `hotline.dispatch.service`). The read is audited."""
    if not STAFF.intersection(actor.roles):
        raise Forbidden("reading requests needs the role agent or higher")
    request = await session.get(Request, request_id)
    if request is None:
        raise NotFound(f"no request {request_id!r}", request_id=request_id)
    await audit.record(
        session=session,
        actor=actor,
        action="request.read",
        object_type="request",
        object_id=request.id,
        ip=ip,
    )
    return (await views(session, [request]))[0]


async def caller_requests(
    *,
    session: AsyncSession,
    number: str,
    actor: Actor,
    ip: str | None = None,
    limit: int = 50,
) -> list[RequestSummary]:
    """A caller's requests by phone number, newest first: what the agent desktop shows when they
    call again. Audited as a read of the caller's history."""
    if not STAFF.intersection(actor.roles):
        raise Forbidden("a caller's requests are for agents and supervisors")
    key = normalize_phone(number)
    if key is None:
        return []
    rows = (
        await session.scalars(
            select(Request)
            .where(Request.phone_key == key)
            .order_by(Request.created_at.desc(), Request.id.desc())
            .limit(limit)
        )
    ).all()
    await audit.record(
        session=session,
        actor=actor,
        action="caller.requests_read",
        object_type="caller",
        object_id=None,
        ip=ip,
        details={"requests": len(rows)},
    )
    usernames = await _usernames(session, {r.worker_id for r in rows if r.worker_id})
    return [
        RequestSummary(
            id=r.id,
            category=r.category_id,
            state=r.state,
            priority=r.priority,
            created_at=r.created_at,
            ended_at=r.ended_at,
            sla_deadline=r.sla_deadline,
            sla_breached=r.sla_breached,
            worker=usernames.get(r.worker_id) if r.worker_id else None,
        )
        for r in rows
    ]


async def views(session: AsyncSession, requests: Sequence[Request]) -> list[RequestView]:
    """Staff views of request rows (no audit: the caller of this records the read)."""
    usernames = await _usernames(session, {r.worker_id for r in requests if r.worker_id})
    return [
        RequestView(
            id=r.id,
            category=r.category_id,
            state=r.state,
            priority=r.priority,
            urgent=r.urgent,
            source=r.source,
            contact_id=r.contact_id,
            caller=CallerView(
                number=r.caller_number,
                name=r.caller_name,
                age=r.caller_age,
                disability=r.disability,
            ),
            address=AddressView(
                postcode=r.postcode,
                street=r.street,
                house=r.house,
                flat=r.flat,
                note=r.address_note,
            )
            if r.street or r.postcode
            else None,
            district_id=r.district_id,
            needs_district=r.needs_district,
            form=r.form_data,
            note=r.note,
            worker=usernames.get(r.worker_id) if r.worker_id else None,
            department=r.department,
            assigned_at=r.assigned_at,
            accept_by=r.accept_by,
            accepted_at=r.accepted_at,
            started_at=r.started_at,
            ended_at=r.ended_at,
            reason=r.reason,
            outcome_note=r.outcome_note,
            sla_deadline=r.sla_deadline,
            sla_breached=r.sla_breached,
            merged_into=r.merged_into_id,
            created_at=r.created_at,
        )
        for r in requests
    ]


async def _usernames(session: AsyncSession, user_ids: set[str]) -> dict[str, str]:
    if not user_ids:
        return {}
    rows = await session.execute(select(User.id, User.username).where(User.id.in_(user_ids)))
    return dict(rows.all())
