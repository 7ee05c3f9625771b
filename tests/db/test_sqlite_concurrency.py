"""SQLite under concurrent transactions, as `hotline serve` runs them: many calls each writing
their own contact. A transaction that reads before it writes (the call layer merges a contact's
attributes that way) must wait its turn, not fail: in WAL mode a deferred transaction whose read
snapshot went stale cannot become a writer, and SQLite then answers "database is locked" at once,
whatever the busy timeout. Found by bench/sip_load.py (calls hung up at 10 concurrent calls).

Writers of one process queue for the one write connection instead of polling SQLite's busy
handler (past 5 s that failed calls under load), and reads (`read_sessions`) wait for no writer."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from hotline.db.engine import create_engine, create_sessions, read_sessions
from hotline.routing.models import Queue


async def test_a_transaction_that_reads_then_writes_waits_for_a_concurrent_writer(
    tmp_path: Path,
) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}")
    sessions = create_sessions(engine)
    try:
        async with sessions() as session, session.begin():
            await session.execute(text("CREATE TABLE counters (id INTEGER PRIMARY KEY, n INT)"))
            await session.execute(text("INSERT INTO counters VALUES (1, 0), (2, 0)"))
        has_read = asyncio.Event()

        async def read_then_write() -> None:
            async with sessions() as session, session.begin():
                await session.execute(text("SELECT n FROM counters WHERE id = 1"))
                has_read.set()
                await asyncio.sleep(0.2)  # another call writes meanwhile
                await session.execute(text("UPDATE counters SET n = n + 1 WHERE id = 1"))

        async def write() -> None:
            await has_read.wait()
            async with sessions() as session, session.begin():
                await session.execute(text("UPDATE counters SET n = n + 1 WHERE id = 2"))

        await asyncio.wait_for(asyncio.gather(read_then_write(), write()), 10)
        async with sessions() as session:
            rows = (await session.execute(text("SELECT id, n FROM counters ORDER BY id"))).all()
        assert [tuple(row) for row in rows] == [(1, 1), (2, 1)]
    finally:
        await engine.dispose()


async def _counters(tmp_path: Path) -> tuple[AsyncEngine, async_sessionmaker[AsyncSession]]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}")
    sessions = create_sessions(engine)
    async with sessions() as session, session.begin():
        await session.execute(text("CREATE TABLE counters (id INTEGER PRIMARY KEY, n INT)"))
        await session.execute(text("INSERT INTO counters VALUES (1, 0)"))
    return engine, sessions


async def test_many_writers_at_once_all_commit_in_turn_and_none_loses_an_update(
    tmp_path: Path,
) -> None:
    engine, sessions = await _counters(tmp_path)
    try:

        async def increment() -> None:
            # Read, yield to the others (a busy event loop), then write what was read plus one:
            # only transactions that run one after another never lose an increment.
            async with sessions() as session, session.begin():
                n = await session.scalar(text("SELECT n FROM counters WHERE id = 1"))
                await asyncio.sleep(0.001)
                await session.execute(text("UPDATE counters SET n = :n WHERE id = 1"), {"n": n + 1})

        await asyncio.wait_for(asyncio.gather(*(increment() for _ in range(200))), 60)
        async with read_sessions(sessions)() as session:
            assert await session.scalar(text("SELECT n FROM counters WHERE id = 1")) == 200
    finally:
        await engine.dispose()


async def test_a_read_does_not_wait_for_a_writer_that_holds_the_lock(tmp_path: Path) -> None:
    engine, sessions = await _counters(tmp_path)
    reads = read_sessions(sessions)
    try:
        written, read = asyncio.Event(), asyncio.Event()

        async def write() -> None:
            async with sessions() as session, session.begin():
                await session.execute(text("UPDATE counters SET n = 7 WHERE id = 1"))
                written.set()
                await read.wait()  # the transaction stays open until the read is done

        async def read_meanwhile() -> int | None:
            await written.wait()
            async with reads() as session:
                seen = await session.scalar(text("SELECT n FROM counters WHERE id = 1"))
            read.set()
            return seen

        _, seen = await asyncio.wait_for(asyncio.gather(write(), read_meanwhile()), 10)
        assert seen == 0  # the last committed value; the writer's is not visible yet
        async with reads() as session:
            assert await session.scalar(text("SELECT n FROM counters WHERE id = 1")) == 7
    finally:
        await engine.dispose()


async def test_a_read_session_refuses_to_write(tmp_path: Path) -> None:
    engine, sessions = await _counters(tmp_path)
    try:
        async with read_sessions(sessions)() as session:
            with pytest.raises(OperationalError, match="readonly"):
                await session.execute(text("UPDATE counters SET n = 1 WHERE id = 1"))
    finally:
        await engine.dispose()


async def test_read_sessions_see_what_was_committed_on_either_database(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session, session.begin():
        session.add(Queue(id="help", name="Help", strategy="longest_idle"))
    async with read_sessions(sessions)() as session:
        assert (await session.get(Queue, "help")) is not None
