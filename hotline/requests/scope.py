"""Who sees which requests, and the reads the HTTP API makes under those rules:

- supervisors and administrators: every request;
- department specialists: their department's (`requests.department`);
- agents: the requests they created, and those made from contacts offered to or handled by them;
  a form is prefilled only from such a contact, and a request made only from one (a blank form,
  with no contact, is for anyone who may create requests);
- field workers: their own tasks only, through `hotline.dispatch.service` (number masked).

Every read that returns callers' details is audited."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, Protocol, TypeVar, cast

from sqlalchemy import Select, and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from hotline.audit import service as audit
from hotline.contacts.models import Contact, ContactEvent
from hotline.contacts.service import INVOLVED_EVENTS, caller_contact, involves
from hotline.core.errors import Forbidden, NotFound
from hotline.dispatch.service import unplaced_requests
from hotline.requests.models import Request, RequestCategory
from hotline.requests.schemas import (
    CallerView,
    CategoryView,
    LogEntry,
    RequestDraft,
    RequestPage,
    RequestSummary,
    RequestView,
)
from hotline.requests.service import SUPERVISING, Actor, caller_requests, request_log, views
from hotline.users.models import Role


class Viewer(Actor, Protocol):
    """An actor with a department (a signed-in user)."""

    @property
    def department(self) -> str | None: ...


def sees_all(actor: Actor) -> bool:
    return bool(SUPERVISING.intersection(actor.roles))


async def contact_is_theirs(session: AsyncSession, contact: Contact, actor: Actor) -> bool:
    """Whether the contact was offered to or handled by `actor` (or they supervise)."""
    if sees_all(actor) or contact.agent_id == actor.id:
        return True
    return await involves(session=session, contact_id=contact.id, agent_id=actor.id)


async def their_contact(session: AsyncSession, contact_id: str, actor: Actor) -> Contact:
    """The contact, if `actor` may work with it (`Forbidden` otherwise)."""
    contact = await session.get(Contact, contact_id)
    if contact is None:
        raise NotFound(f"no contact {contact_id!r}", contact_id=contact_id)
    if not await contact_is_theirs(session, contact, actor):
        raise Forbidden(
            "this contact was neither offered to you nor handled by you", contact_id=contact_id
        )
    return contact


def visible(actor: Viewer) -> ColumnElement[bool] | None:
    """The condition on `requests` rows that `actor` may see (None: all of them)."""
    if sees_all(actor):
        return None
    allowed: list[ColumnElement[bool]] = []
    if Role.DEPARTMENT_SPECIALIST.value in actor.roles and actor.department:
        allowed.append(Request.department == actor.department)
    if Role.AGENT.value in actor.roles:
        allowed.append(Request.created_by_id == actor.id)
        allowed.append(
            exists().where(
                Contact.id == Request.contact_id,
                or_(
                    Contact.agent_id == actor.id,
                    exists().where(
                        ContactEvent.contact_id == Contact.id,
                        ContactEvent.type.in_(INVOLVED_EVENTS),
                        ContactEvent.payload["agent_id"].as_string() == actor.id,
                    ),
                ),
            )
        )
    if not allowed:
        raise Forbidden("requests are for agents, department specialists and supervisors")
    return or_(*allowed)


async def visible_request(session: AsyncSession, request_id: str, actor: Viewer) -> Request:
    """The request, if `actor` may see it."""
    query = select(Request).where(Request.id == request_id)
    condition = visible(actor)
    if condition is not None:
        query = query.where(condition)
    request = await session.scalar(query)
    if request is not None:
        return request
    if await session.get(Request, request_id) is None:
        raise NotFound(f"no request {request_id!r}", request_id=request_id)
    raise Forbidden("this request is not yours to see", request_id=request_id)


async def list_requests(
    *,
    session: AsyncSession,
    actor: Viewer,
    ip: str | None,
    state: str | None = None,
    category: str | None = None,
    district_id: str | None = None,
    needs_district: bool | None = None,
    before: str | None = None,
    limit: int = 50,
) -> RequestPage:
    """The requests `actor` may see, newest first, filtered; audited as a read of each."""
    query = select(Request)
    condition = visible(actor)
    if condition is not None:
        query = query.where(condition)
    for column, value in (
        (Request.state, state),
        (Request.category_id, category),
        (Request.district_id, district_id),
        (Request.needs_district, needs_district),
    ):
        if value is not None:
            query = query.where(column == value)
    rows, next_before = await newest_first(session, query, Request, before=before, limit=limit)
    await audit.record(
        session=session,
        actor=actor,
        action="request.list",
        object_type="request",
        object_id=None,
        ip=ip,
        details={"requests": [r.id for r in rows]},
    )
    return RequestPage(requests=await views(session, rows), next_before=next_before)


Row = TypeVar("Row")


async def newest_first(
    session: AsyncSession,
    query: Select[Row],
    model: Any,
    *,
    before: str | None,
    limit: int,
) -> tuple[Sequence[Row], str | None]:
    """A page of `query`'s rows (of `model`, a table with `id` and `created_at`), newest first,
    after the row `before` (keyset paging: a page stays the same while new rows arrive), and the
    id to ask the next page after (None: this was the last)."""
    query = query.order_by(model.created_at.desc(), model.id.desc())
    if before is not None:
        anchor = await session.get(model, before)
        if anchor is not None:
            query = query.where(
                or_(
                    model.created_at < anchor.created_at,
                    and_(model.created_at == anchor.created_at, model.id < anchor.id),
                )
            )
    rows = (await session.scalars(query.limit(limit + 1))).all()
    after: str | None = cast(Any, rows[limit - 1]).id if len(rows) > limit else None
    return rows[:limit], after


async def unplaced(*, session: AsyncSession, actor: Actor, ip: str | None) -> list[RequestView]:
    """Requests waiting to be placed in a district by hand (supervisors), audited."""
    rows = await unplaced_requests(session=session, actor=actor)
    await audit.record(
        session=session,
        actor=actor,
        action="request.list",
        object_type="request",
        object_id=None,
        ip=ip,
        details={"requests": [r.id for r in rows]},
    )
    return await views(session, rows)


async def draft_from_contact(
    *, session: AsyncSession, contact_id: str, actor: Actor, ip: str | None
) -> RequestDraft:
    """A request form prefilled from a call: the caller's number, the call's topic and language,
    and a fresh idempotency key. A warm transfer's consultation is prefilled from the caller's
    contact it consults about (the request is made on that contact). Reading the number is
    audited."""
    contact = await their_contact(session, contact_id, actor)
    caller = await caller_contact(session=session, contact=contact)
    attributes = caller.attributes or {}
    await audit.record(
        session=session,
        actor=actor,
        action="contact.request_draft",
        object_type="contact",
        object_id=contact.id,
        ip=ip,
        details={} if caller.id == contact.id else {"caller_contact": caller.id},
    )
    topic, language = attributes.get("topic"), attributes.get("language")
    return RequestDraft(
        idempotency_key=uuid.uuid4().hex,
        contact_id=contact.id,
        caller=CallerView(number=caller.caller_number, name=None, age=None, disability=False),
        topic=topic if isinstance(topic, str) else None,
        language=language if isinstance(language, str) else None,
    )


def blank_draft() -> RequestDraft:
    """A request form with no call behind it (a department specialist's, or staff's on a
    citizen's behalf): nothing prefilled but a fresh idempotency key, so no personal data is read
    and nothing is audited."""
    return RequestDraft(
        idempotency_key=uuid.uuid4().hex,
        contact_id=None,
        caller=CallerView(number=None, name=None, age=None, disability=False),
        topic=None,
        language=None,
    )


async def contact_caller_requests(
    *, session: AsyncSession, contact_id: str, actor: Actor, ip: str | None
) -> list[RequestSummary]:
    """The requests of the caller of a contact (theirs): what the desktop shows when they call
    again. The number never travels: it is read from the contact (a consultation's: from the
    caller's contact it consults about)."""
    contact = await their_contact(session, contact_id, actor)
    number = (await caller_contact(session=session, contact=contact)).caller_number
    if not number:
        return []
    return await caller_requests(session=session, number=number, actor=actor, ip=ip)


async def categories(*, session: AsyncSession) -> list[CategoryView]:
    """Every request category with its form, in configuration order."""
    rows = await session.scalars(
        select(RequestCategory).order_by(RequestCategory.position, RequestCategory.id)
    )
    return [
        CategoryView(
            id=c.id,
            name={"en": c.name_en, "ru": c.name_ru},
            sla_hours=c.sla_hours,
            accept_minutes=c.accept_minutes,
            information_only=c.information_only,
            form=c.form,
            kinds=c.kind_ids,
        )
        for c in rows.all()
    ]


async def log_entries(
    *, session: AsyncSession, request_id: str, after_seq: int = 0
) -> list[LogEntry]:
    """A request's audit trail for the page (its events carry no personal data)."""
    return [
        LogEntry(
            seq=entry.seq,
            type=entry.event.type,
            at=entry.event.at,
            actor=entry.actor,
            data=entry.event.payload(),
        )
        for entry in await request_log(session=session, request_id=request_id, after_seq=after_seq)
    ]
