"""SQLite under concurrent transactions, as `hotline serve` runs them: many calls each writing
their own contact. A transaction that reads before it writes (the call layer merges a contact's
attributes that way) must wait its turn, not fail: in WAL mode a deferred transaction whose read
snapshot went stale cannot become a writer, and SQLite then answers "database is locked" at once,
whatever the busy timeout. Found by bench/sip_load.py (calls hung up at 10 concurrent calls)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import text

from hotline.db.engine import create_engine, create_sessions


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
