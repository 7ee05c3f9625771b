"""Engine and session setup for both databases. SQLite (the embedded default) needs care: every
connection turns on foreign keys, WAL and fsync-on-commit, and transactions are begun explicitly so
that a read followed by writes, and DDL in migrations, are truly atomic. Nothing here runs at import
time: the composition root (or a test) calls `create_engine` once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine

from hotline.core.errors import InvalidConfiguration
from hotline.core.settings import Settings

SQLITE_BUSY_TIMEOUT_MS = 5000


def create_engine(source: Settings | str | URL, *, echo: bool = False) -> AsyncEngine:
    """An async engine for the settings' database (or an explicit URL); no connection is opened
    until first use."""
    url = make_url(source.effective_database_url if isinstance(source, Settings) else source)
    backend = url.get_backend_name()
    if backend == "sqlite":
        if url.get_driver_name() != "aiosqlite":
            url = url.set(drivername="sqlite+aiosqlite")
        engine = _create_async_engine(url, echo=echo)
        _configure_sqlite(engine)
        return engine
    if backend == "postgresql":
        if url.get_driver_name() != "asyncpg":
            url = url.set(drivername="postgresql+asyncpg")
        return _create_async_engine(url, echo=echo, pool_pre_ping=True)
    raise InvalidConfiguration(
        f"database_url: unsupported database {backend!r}; use sqlite or postgresql",
        field="database_url",
    )


def create_sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """The session factory services are handed. Objects stay readable after commit, since
    services return them to callers after committing."""
    return async_sessionmaker(engine, expire_on_commit=False)


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin (see `_on_begin`).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            if not _is_memory(engine.url):
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # IMMEDIATE: a transaction that reads, then writes, waits (busy_timeout) for the write lock
        # instead of failing with "database is locked" when another connection wrote in between.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _is_memory(url: URL) -> bool:
    return url.database in (None, "", ":memory:") or "mode=memory" in str(url)
