"""Operations on contacts and their event logs.

A contact's log is append-only and numbered without gaps: appending takes the next `seq` by
incrementing the contact's `last_seq` in the same statement that locks its row (and makes the
changes the events bring to it), so concurrent appends to one contact queue up instead of
colliding. `write_changes` does that for many contacts at once in few statements (what the
live call path writes, in group commits). Events are read back as their own typed classes
(looked up by `type` in the event registry). The caller commits; events are published only after
that commit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.contacts.models import Contact, ContactEvent
from hotline.core.errors import NotFound
from hotline.core.events import Event, event_class
from hotline.core.ids import new_id

# Core tables: the live path's writes skip the ORM's unit of work.
_contacts = Contact.metadata.tables[Contact.__tablename__]
_events = ContactEvent.metadata.tables[ContactEvent.__tablename__]


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """An event as stored in a contact's log, with its place in it."""

    contact_id: str
    seq: int
    event: Event


@dataclass(frozen=True, slots=True)
class ContactChange:
    """Events to append to one contact's log and the changes they make to its row (column ->
    value). `attributes` are merged into the contact's, a dict value into the dict it replaces.
    `new`: the contact does not exist yet; it is created with these column values."""

    contact_id: str
    events: Sequence[Event] = ()
    changes: Mapping[str, Any] = field(default_factory=dict)
    attributes: Mapping[str, Any] | None = None
    new: Mapping[str, Any] | None = None


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
    (logged,) = await write_changes(session=session, changes=[ContactChange(contact_id, (event,))])
    return logged


async def write_changes(
    *, session: AsyncSession, changes: Sequence[ContactChange]
) -> list[LoggedEvent]:
    """Apply `changes` in order: one statement per contact change (its row's changes and its
    log's numbering together; a read first when attributes are merged), then every event in one
    INSERT. Returns the events as logged, in order. `NotFound` for a contact that does not
    exist (nothing written then: the caller rolls back)."""
    logged: list[LoggedEvent] = []
    rows: list[dict[str, Any]] = []
    for change in changes:
        count = len(change.events)
        if change.new is not None:
            values: dict[str, Any] = {"correlation_id": change.contact_id, "attributes": {}}
            values.update(change.new)
            values.update(change.changes)
            if change.attributes:
                values["attributes"] = merge_attributes(values["attributes"], change.attributes)
            values.update(id=change.contact_id, last_seq=count)
            await session.execute(insert(_contacts), [values])
            last, correlation_id = count, values["correlation_id"]
        else:
            values = dict(change.changes)
            if change.attributes:
                current = await session.scalar(
                    select(_contacts.c.attributes).where(_contacts.c.id == change.contact_id)
                )
                values["attributes"] = merge_attributes(current or {}, change.attributes)
            bumped = await session.execute(
                update(_contacts)
                .where(_contacts.c.id == change.contact_id)
                .values(last_seq=_contacts.c.last_seq + count, **values)
                .returning(_contacts.c.last_seq, _contacts.c.correlation_id)
            )
            row = bumped.one_or_none()
            if row is None:
                raise NotFound(f"no contact {change.contact_id!r}", contact_id=change.contact_id)
            last, correlation_id = row
        for seq, event in enumerate(change.events, start=last - count + 1):
            if event.correlation_id is None:
                event = event.model_copy(update={"correlation_id": correlation_id})
            rows.append(
                {
                    "id": event.id,
                    "contact_id": change.contact_id,
                    "seq": seq,
                    "type": event.type,
                    "at": event.at,
                    "correlation_id": event.correlation_id,
                    "payload": event.payload(),
                }
            )
            logged.append(LoggedEvent(contact_id=change.contact_id, seq=seq, event=event))
    if rows:
        await session.execute(insert(_events), rows)
    return logged


def merge_attributes(current: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """A contact's attributes with `new` set in them; a dict value is merged into the dict it
    replaces (`callback`: its number, then its attempts)."""
    merged = dict(current)
    for name, value in new.items():
        old = merged.get(name)
        if isinstance(old, dict) and isinstance(value, dict):
            value = {**old, **value}
        merged[name] = value
    return merged


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
