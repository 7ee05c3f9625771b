"""Operations on contacts and their event logs.

A contact's log is append-only and numbered without gaps: `append_event` takes the next `seq` by
incrementing the contact's `last_seq` in the same statement that locks its row, so concurrent
appends to one contact queue up instead of colliding. Events are read back as their own typed
classes (looked up by `type` in the event registry). The caller commits; events are published only
after that commit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.contacts.models import Contact, ContactEvent
from hotline.core.errors import NotFound
from hotline.core.events import Event, event_class
from hotline.core.ids import new_id
from hotline.users.models import Role

INVOLVED_EVENTS = ("contact.offered", "contact.answered")
"""The events that tie an agent to a contact: it was offered to them, or they answered it."""


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """An event as stored in a contact's log, with its place in it."""

    contact_id: str
    seq: int
    event: Event


async def create_contact(
    *,
    session: AsyncSession,
    line_id: str | None = None,
    queue_id: str | None = None,
    caller_number: str | None = None,
    direction: str = "inbound",
    attributes: dict[str, Any] | None = None,
    contact_id: str | None = None,
) -> Contact:
    """A new contact, waiting; its correlation id is its own id."""
    contact_id = contact_id or new_id()
    contact = Contact(
        id=contact_id,
        correlation_id=contact_id,
        line_id=line_id,
        queue_id=queue_id,
        caller_number=caller_number,
        direction=direction,
        attributes=attributes or {},
    )
    session.add(contact)
    await session.flush()
    return contact


async def append_event(*, session: AsyncSession, contact_id: str, event: Event) -> LoggedEvent:
    """Append `event` to the contact's log and return it with its `seq` (1, 2, 3...). An event
    without a correlation id gets the contact's."""
    bumped = await session.execute(
        update(Contact)
        .where(Contact.id == contact_id)
        .values(last_seq=Contact.last_seq + 1)
        .returning(Contact.last_seq, Contact.correlation_id)
        .execution_options(synchronize_session=False)
    )
    row = bumped.one_or_none()
    if row is None:
        raise NotFound(f"no contact {contact_id!r}", contact_id=contact_id)
    seq, correlation_id = row
    if event.correlation_id is None:
        event = event.model_copy(update={"correlation_id": correlation_id})
    session.add(
        ContactEvent(
            id=event.id,
            contact_id=contact_id,
            seq=seq,
            type=event.type,
            at=event.at,
            correlation_id=event.correlation_id,
            payload=event.payload(),
        )
    )
    await session.flush()
    return LoggedEvent(contact_id=contact_id, seq=seq, event=event)


async def contact_log(
    *, session: AsyncSession, contact_id: str, after_seq: int = 0
) -> list[LoggedEvent]:
    """The contact's events in order, those after `after_seq` only (to resume a stream)."""
    rows = await session.scalars(
        select(ContactEvent)
        .where(ContactEvent.contact_id == contact_id, ContactEvent.seq > after_seq)
        .order_by(ContactEvent.seq)
    )
    return [LoggedEvent(contact_id=row.contact_id, seq=row.seq, event=_revive(row)) for row in rows]


class Viewer(Protocol):
    """Who wants to see a contact: a signed-in user (`hotline.auth.service.SignedInUser`)."""

    @property
    def id(self) -> str: ...

    def has_role(self, *roles: str) -> bool: ...


async def agent_may_see(*, session: AsyncSession, contact: Contact, user: Viewer) -> bool:
    """Whether `user` may see and work on `contact`: a supervisor may see every contact; anyone
    else only one offered to them or handled by them (it is theirs now, or its log says it was
    offered to or answered by them). The one rule for the screen pop, the script and the form."""
    if user.has_role(Role.SUPERVISOR):
        return True
    if contact.agent_id == user.id:
        return True
    payloads = await session.scalars(
        select(ContactEvent.payload).where(
            ContactEvent.contact_id == contact.id, ContactEvent.type.in_(INVOLVED_EVENTS)
        )
    )
    return any(payload.get("agent_id") == user.id for payload in payloads)


def _revive(row: ContactEvent) -> Event:
    try:
        cls = event_class(row.type)
    except KeyError:
        raise LookupError(
            f"event type {row.type!r} is not registered: import the module that defines it"
        ) from None
    return cls.model_validate(
        {**row.payload, "id": row.id, "at": row.at, "correlation_id": row.correlation_id}
    )


@dataclass(frozen=True, slots=True)
class ContactRecord:
    """A contact with its raw log (type and payload per event), for listings and exports that
    must not depend on every event class being imported."""

    contact: Contact
    events: list[ContactEvent]


async def recent_contacts(*, session: AsyncSession, limit: int = 20) -> list[ContactRecord]:
    """The newest contacts (by arrival), each with its whole log in order."""
    contacts = (
        await session.scalars(
            select(Contact).order_by(Contact.arrived_at.desc(), Contact.id).limit(limit)
        )
    ).all()
    if not contacts:
        return []
    rows = (
        await session.scalars(
            select(ContactEvent)
            .where(ContactEvent.contact_id.in_([c.id for c in contacts]))
            .order_by(ContactEvent.contact_id, ContactEvent.seq)
        )
    ).all()
    logs: dict[str, list[ContactEvent]] = {}
    for row in rows:
        logs.setdefault(row.contact_id, []).append(row)
    return [ContactRecord(c, logs.get(c.id, [])) for c in contacts]
