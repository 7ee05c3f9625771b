"""A contact's event log on both databases: appended in sequence, read back typed and in order,
never changed, gone only with its contact; many contacts' changes written together in order."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import ClassVar

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from hotline.contacts.models import Contact, ContactEvent
from hotline.contacts.service import (
    ContactChange,
    LoggedEvent,
    append_event,
    contact_log,
    create_contact,
    write_changes,
)
from hotline.core.errors import NotFound
from hotline.core.events import Event, register
from hotline.db.engine import write_transaction


@register
class CallerQueued(Event):
    type: ClassVar[str] = "test.caller_queued"
    queue_id: str
    position: int


@register
class CallerSaid(Event):
    type: ClassVar[str] = "test.caller_said"
    words: str


async def _new_contact(sessions: async_sessionmaker[AsyncSession]) -> str:
    async with sessions() as session, session.begin():
        contact = await create_contact(session=session, caller_number="+79990001122")
    return contact.id


async def _contact_saying(sessions: async_sessionmaker[AsyncSession], words: str) -> str:
    """A new contact with one event in its log."""
    contact_id = await _new_contact(sessions)
    async with sessions() as session, session.begin():
        await append_event(session=session, contact_id=contact_id, event=CallerSaid(words=words))
    return contact_id


async def test_events_come_back_typed_and_in_the_order_appended(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    contact_id = await _new_contact(sessions)
    when = datetime(2025, 3, 4, 9, 30, 15, 123456, tzinfo=UTC)
    events: list[Event] = [
        CallerQueued(queue_id="medical", position=3, at=when),
        CallerSaid(words="Здравствуйте", correlation_id="call-42"),
        CallerQueued(queue_id="medical", position=1),
    ]
    async with sessions() as session, session.begin():
        appended = [
            await append_event(session=session, contact_id=contact_id, event=event)
            for event in events
        ]
    assert [entry.seq for entry in appended] == [1, 2, 3]

    async with sessions() as session:
        log = await contact_log(session=session, contact_id=contact_id)
    assert [entry.seq for entry in log] == [1, 2, 3]
    assert [type(entry.event) for entry in log] == [CallerQueued, CallerSaid, CallerQueued]
    assert log[0].event == events[0].model_copy(update={"correlation_id": contact_id})
    assert log[0].event.at == when
    assert log[1].event.correlation_id == "call-42"
    assert log[2].event.payload() == {"queue_id": "medical", "position": 1}


async def test_a_log_resumes_after_a_sequence_number(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    contact_id = await _new_contact(sessions)
    async with sessions() as session, session.begin():
        for n in range(5):
            await append_event(
                session=session, contact_id=contact_id, event=CallerSaid(words=str(n))
            )
    async with sessions() as session:
        rest = await contact_log(session=session, contact_id=contact_id, after_seq=3)
    assert [(entry.seq, entry.event.words) for entry in rest] == [(4, "3"), (5, "4")]  # type: ignore[attr-defined]


async def test_each_contact_numbers_its_own_log(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first, second = await _new_contact(sessions), await _new_contact(sessions)
    async with sessions() as session, session.begin():
        await append_event(session=session, contact_id=first, event=CallerSaid(words="a"))
        await append_event(session=session, contact_id=first, event=CallerSaid(words="b"))
        entry = await append_event(session=session, contact_id=second, event=CallerSaid(words="c"))
    assert entry.seq == 1


async def test_concurrent_appends_to_one_contact_get_distinct_gapless_numbers(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    contact_id = await _new_contact(sessions)

    async def writer(name: str) -> None:
        for n in range(8):
            async with sessions() as session, session.begin():
                event = CallerSaid(words=f"{name}{n}")
                await append_event(session=session, contact_id=contact_id, event=event)

    await asyncio.gather(writer("a"), writer("b"), writer("c"))
    async with sessions() as session:
        log = await contact_log(session=session, contact_id=contact_id)
    assert [entry.seq for entry in log] == list(range(1, 25))
    for name in "abc":
        mine = [e.event.words for e in log if e.event.words.startswith(name)]  # type: ignore[attr-defined]
        assert mine == [f"{name}{n}" for n in range(8)]


async def test_a_stored_event_cannot_be_changed(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    contact_id = await _contact_saying(sessions, "hi")
    async with sessions() as session:
        with pytest.raises(DBAPIError, match="append-only"):
            await session.execute(
                update(ContactEvent)
                .where(ContactEvent.contact_id == contact_id)
                .values(type="test.rewritten")
            )
        await session.rollback()
        with pytest.raises(DBAPIError, match="append-only"):
            await session.execute(delete(ContactEvent).where(ContactEvent.contact_id == contact_id))
        await session.rollback()
        log = await contact_log(session=session, contact_id=contact_id)
    assert [entry.event.type for entry in log] == ["test.caller_said"]


async def test_a_log_goes_with_its_contact(sessions: async_sessionmaker[AsyncSession]) -> None:
    contact_id = await _contact_saying(sessions, "hi")
    async with sessions() as session, session.begin():
        await session.execute(delete(Contact).where(Contact.id == contact_id))
    async with sessions() as session:
        left = await session.scalar(text("SELECT count(*) FROM contact_events"))
        assert left == 0
        assert await session.scalar(select(Contact).where(Contact.id == contact_id)) is None


async def test_appending_to_an_unknown_contact_is_refused(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        with pytest.raises(NotFound):
            await append_event(session=session, contact_id="nobody", event=CallerSaid(words="?"))


async def _write(engine: AsyncEngine, changes: list[ContactChange]) -> list[LoggedEvent]:
    """As the live writer does: in one write transaction (in the driver's thread on SQLite)."""
    return await write_transaction(engine, lambda c: write_changes(connection=c, changes=changes))


async def test_changes_to_contacts_are_written_together_in_order(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    old = await _contact_saying(sessions, "earlier")
    new = "f" * 32
    changes = [
        ContactChange(new, (CallerSaid(words="n1"),), new={"caller_number": "+79990001122"}),
        ContactChange(old, (CallerSaid(words="o1"),), {"state": "offered"}, {"topic": "a"}),
        ContactChange(new, (CallerSaid(words="n2"), CallerSaid(words="n3")), {"state": "ended"}),
        ContactChange(old, (CallerSaid(words="o2"),), {"state": "connected"}, {"topic": "b"}),
    ]
    logged = await _write(engine, changes)
    assert [(e.contact_id, e.seq, e.event.words) for e in logged] == [  # type: ignore[attr-defined]
        (new, 1, "n1"),
        (old, 2, "o1"),
        (new, 2, "n2"),
        (new, 3, "n3"),
        (old, 3, "o2"),
    ]
    async with sessions() as session:
        rows = {c.id: c for c in (await session.scalars(select(Contact))).all()}
        log = await contact_log(session=session, contact_id=new)
    assert (rows[old].state, rows[old].attributes, rows[old].last_seq) == (
        "connected",
        {"topic": "b"},
        3,
    )
    assert (rows[new].state, rows[new].correlation_id, rows[new].last_seq) == ("ended", new, 3)
    assert [e.event.words for e in log] == ["n1", "n2", "n3"]  # type: ignore[attr-defined]


async def test_a_thousand_contacts_are_changed_in_one_go(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    ids = [f"{n:032x}" for n in range(1, 1201)]
    await _write(engine, [ContactChange(i, (CallerSaid(words="a"),), new={}) for i in ids])
    logged = await _write(
        engine, [ContactChange(i, (CallerSaid(words="b"),), {"state": "ended"}) for i in ids]
    )
    assert {e.seq for e in logged} == {2}
    async with sessions() as session:
        rows = (await session.execute(select(Contact.state, Contact.last_seq))).all()
    assert sorted(set(rows)) == [("ended", 2)]
    assert len(rows) == len(ids)
