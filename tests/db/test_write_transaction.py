"""`write_transaction`, the live writer's way into the database, on both databases: what the
work wrote is committed when it returns and gone when it raises, and on SQLite it takes its turn
with the process's other writers (it runs in the driver's thread, on the one write connection)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from hotline.db.engine import read_sessions, write_transaction
from hotline.routing.models import Queue

queues = Queue.metadata.tables[Queue.__tablename__]


def _add(connection: Connection, *ids: str) -> int:
    rows = [{"id": i, "name": i, "strategy": "longest_idle"} for i in ids]
    connection.execute(insert(queues), rows)
    return len(ids)


async def _queue_ids(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    async with read_sessions(sessions)() as session:
        return list((await session.scalars(select(Queue.id).order_by(Queue.id))).all())


async def test_what_the_work_wrote_is_committed_when_it_returns(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    assert await write_transaction(engine, lambda c: _add(c, "a", "b")) == 2
    assert await _queue_ids(sessions) == ["a", "b"]


async def test_nothing_the_work_wrote_stays_when_it_raises(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    def fails(connection: Connection) -> None:
        _add(connection, "a")
        raise LookupError("changed its mind")

    with pytest.raises(LookupError):
        await write_transaction(engine, fails)
    assert await _queue_ids(sessions) == []
    await write_transaction(engine, lambda c: _add(c, "b"))  # the connection is usable again
    assert await _queue_ids(sessions) == ["b"]


async def test_it_takes_turns_with_the_processs_other_writers(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async def by_session(n: int) -> None:
        async with sessions() as session, session.begin():
            session.add(Queue(id=f"s{n:03d}", name="s", strategy="longest_idle"))

    async def by_writer(n: int) -> None:
        await write_transaction(engine, lambda c: _add(c, f"w{n:03d}"))

    await asyncio.wait_for(
        asyncio.gather(*(f(n) for n in range(50) for f in (by_session, by_writer))), 60
    )
    async with read_sessions(sessions)() as session:
        assert await session.scalar(select(func.count()).select_from(queues)) == 100
