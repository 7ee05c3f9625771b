"""Operations on contacts and their event logs.

A contact's log is append-only and numbered without gaps: appending reads the contact's
`last_seq` with its row locked (FOR UPDATE on PostgreSQL; on SQLite the transaction holds the
write lock from its start) and moves it on, so concurrent appends to one contact queue up instead
of colliding. `write_changes` does that for many contacts at once in a few statements (what the
live call path writes, in group commits). Events are read back as their own typed classes
(looked up by `type` in the event registry). The caller commits; events are published only after
that commit."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Update, bindparam, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.contacts.models import Contact, ContactEvent
from hotline.core.errors import NotFound
from hotline.core.events import Event, event_class
from hotline.core.ids import new_id
from hotline.users.models import Role

INVOLVED_EVENTS = ("contact.offered", "contact.answered")
"""The events that tie an agent to a contact: it was offered to them, or they answered it."""

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
    change = ContactChange(contact_id, (event,))
    (logged,) = await session.run_sync(
        lambda sync: write_changes(connection=sync.connection(), changes=[change])
    )
    return logged


def write_changes(*, connection: Connection, changes: Sequence[ContactChange]) -> list[LoggedEvent]:
    """Apply `changes` in order, in a few statements however many contacts they touch: the
    new contacts inserted; the others' rows read and locked (numbers, attributes) in one
    SELECT, then updated with one executemany per set of changed columns (their log's
    numbering included); every event in one INSERT. Returns the events as logged, in order.
    `NotFound` for a contact that does not exist (the caller rolls back). Few statements keep
    a group commit short even when hundreds of calls wait for it: this is the live call path's
    hot loop (and its statements are built once). Synchronous SQLAlchemy: the live writer runs
    it in one go in the database driver's thread (`hotline.db.engine.write_transaction`); from an
    async session, use `session.run_sync`."""
    merged: dict[str, _Merged] = {}
    for change in changes:
        entry = merged.get(change.contact_id)
        if entry is None:
            entry = merged[change.contact_id] = _Merged(change.new)
        elif change.new is not None:
            raise ValueError(f"contact {change.contact_id!r} is created after it is changed")
        entry.count += len(change.events)
        entry.changes.update(change.changes)
        if change.attributes:
            entry.attributes.append(change.attributes)
    first_seq: dict[str, tuple[int, str]] = {}  # contact -> (seq of its first new event, corr.)
    inserts: dict[tuple[str, ...], list[dict[str, Any]]] = {}  # by columns given
    existing: list[str] = []
    for contact_id, entry in merged.items():
        if entry.new is None:
            existing.append(contact_id)
            continue
        values: dict[str, Any] = {"correlation_id": contact_id, "attributes": {}}
        values.update(entry.new)
        values.update(entry.changes)
        for attributes in entry.attributes:
            values["attributes"] = merge_attributes(values["attributes"], attributes)
        values.update(id=contact_id, last_seq=entry.count)
        inserts.setdefault(tuple(sorted(values)), []).append(values)
        first_seq[contact_id] = (1, values["correlation_id"])
    for new_rows in inserts.values():
        connection.execute(_INSERT_CONTACT, new_rows)
    if existing:
        current: dict[str, Any] = {}
        for start in range(0, len(existing), _CHUNK):
            found = connection.execute(
                _SELECT_CONTACTS, {"contacts": sorted(existing[start : start + _CHUNK])}
            )
            current.update((row.id, row) for row in found)
        updates: dict[tuple[str, ...], list[dict[str, Any]]] = {}  # by columns changed
        for contact_id in existing:
            row = current.get(contact_id)
            if row is None:
                raise NotFound(f"no contact {contact_id!r}", contact_id=contact_id)
            entry = merged[contact_id]
            params = {f"v_{name}": value for name, value in entry.changes.items()}
            if entry.attributes:
                attributes = row.attributes or {}
                for more in entry.attributes:
                    attributes = merge_attributes(attributes, more)
                params["v_attributes"] = attributes
            params["v_last_seq"] = row.last_seq + entry.count
            params["contact"] = contact_id
            updates.setdefault(tuple(sorted(params)), []).append(params)
            first_seq[contact_id] = (row.last_seq + 1, row.correlation_id)
        for names, changed in updates.items():
            connection.execute(_update(names), changed)
    logged: list[LoggedEvent] = []
    rows: list[dict[str, Any]] = []
    for change in changes:
        seq, correlation_id = first_seq[change.contact_id]
        for event in change.events:
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
            seq += 1
        first_seq[change.contact_id] = (seq, correlation_id)
    if rows:
        connection.execute(_INSERT_EVENTS, rows)
    return logged


@dataclass
class _Merged:
    """A contact's changes within one `write_changes`."""

    new: Mapping[str, Any] | None
    count: int = 0
    changes: dict[str, Any] = field(default_factory=dict)
    attributes: list[Mapping[str, Any]] = field(default_factory=list)


_INSERT_CONTACT = insert(_contacts)
_INSERT_EVENTS = insert(_events)
# Locks the rows on PostgreSQL (FOR UPDATE, in id order); SQLite's writer already holds its lock.
_SELECT_CONTACTS = (
    select(_contacts.c.id, _contacts.c.last_seq, _contacts.c.correlation_id, _contacts.c.attributes)
    .where(_contacts.c.id.in_(bindparam("contacts", expanding=True)))
    .order_by(_contacts.c.id)
    .with_for_update()
)
_CHUNK = 500  # contacts per SELECT: well under either database's limit of parameters


@functools.cache
def _update(params: tuple[str, ...]) -> Update:
    """UPDATE a contact's columns (`params`: v_<column>, and `contact`, its id): one
    statement object per set of columns, compiled once, run for many contacts at a time."""
    values: dict[str, Any] = {
        name.removeprefix("v_"): bindparam(name, type_=_contacts.c[name.removeprefix("v_")].type)
        for name in params
        if name.startswith("v_")
    }
    return update(_contacts).where(_contacts.c.id == bindparam("contact")).values(**values)


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
    return contact.agent_id == user.id or await involves(
        session=session, contact_id=contact.id, agent_id=user.id
    )


CONSULT_HOPS = 8
"""How far `caller_contact` follows consultations of consultations (against a loop)."""


async def caller_contact(*, session: AsyncSession, contact: Contact) -> Contact:
    """The caller's contact that `contact` carries on: for a warm transfer's consultation (its
    `consult_for` attribute), the contact it consults about, through consultations of
    consultations; any other contact is its own. Its topic and IVR path are the screen pop's,
    its script answers and form draft are the ones the consulted colleague works on."""
    for _ in range(CONSULT_HOPS):
        about = (contact.attributes or {}).get("consult_for")
        if contact.direction != "consult" or not isinstance(about, str):
            break
        found = await session.get(Contact, about)
        if found is None:
            break
        contact = found
    return contact


async def involves(
    *,
    session: AsyncSession,
    contact_id: str,
    agent_id: str,
    types: Sequence[str] = INVOLVED_EVENTS,
) -> bool:
    """Whether the contact's log has an event of `types` naming the agent (by default: it was
    offered to them, or they answered it). The one lookup behind every "is it theirs" rule."""
    payloads = await session.scalars(
        select(ContactEvent.payload).where(
            ContactEvent.contact_id == contact_id, ContactEvent.type.in_(types)
        )
    )
    return any(payload.get("agent_id") == agent_id for payload in payloads)


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
