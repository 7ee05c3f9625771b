"""Engine and session setup for both databases. Nothing here runs at import time: the composition
root (or a test) calls `create_engine` once.

SQLite (the embedded default) needs care, because it has one write lock per database file:

- Writes go through **one connection** (the engine's pool holds exactly one), so the process's
  writers queue for it in an asyncio queue, first come first served, instead of polling SQLite's
  busy handler, and SQLite never answers "database is locked" to this process under load. Each
  transaction on it begins `IMMEDIATE`, so a transaction that reads, then writes is atomic (its
  snapshot cannot go stale before its first write) and waits for other processes' writers (the
  `hotline` commands) up to `busy_timeout`.
- Reads that need no write lock use `read_sessions(sessions)`: their own pool of connections, a
  deferred `BEGIN` (one consistent snapshot; in WAL mode readers never wait for writers) and
  `query_only`, so that a write slipped into a read session fails loudly instead of contending.
- Every connection turns on foreign keys, WAL and fsync-on-commit.
- `write_transaction` runs a whole write transaction (synchronous SQLAlchemy code) inside the
  driver's thread in one hop, instead of one or more hops between the event loop and that
  thread per statement: on a busy machine every hop waits for both threads to be scheduled, and
  a group commit of a few dozen statements then took seconds (measured, bench/sip_load.py).

PostgreSQL is used as is (its own row locks and MVCC); `read_sessions` hands back the same
sessions there."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast
from weakref import WeakKeyDictionary

from sqlalchemy import StaticPool, event
from sqlalchemy import create_engine as _create_sync_engine
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine

from hotline.core.errors import InvalidConfiguration
from hotline.core.settings import Settings

T = TypeVar("T")

SQLITE_BUSY_TIMEOUT_MS = 5000  # waits for another process's writer (a `hotline` command)
SQLITE_WRITE_WAIT_SECONDS = 30.0  # a writer of this process waiting its turn: past this, an error

# The read-only engine of each SQLite file engine (its own pool), found from the write engine.
_readers: WeakKeyDictionary[Engine, AsyncEngine] = WeakKeyDictionary()


def create_engine(source: Settings | str | URL, *, echo: bool = False) -> AsyncEngine:
    """An async engine for the settings' database (or an explicit URL); no connection is opened
    until first use. On an SQLite file it is the single writer; its readers come with it."""
    url = make_url(source.effective_database_url if isinstance(source, Settings) else source)
    backend = url.get_backend_name()
    if backend == "sqlite":
        if url.get_driver_name() != "aiosqlite":
            url = url.set(drivername="sqlite+aiosqlite")
        if _is_memory(url):
            # One private database per connection: readers could not see it. One engine.
            engine = _create_async_engine(url, echo=echo)
            _configure_sqlite(engine, read_only=False)
            return engine
        engine = _create_async_engine(
            url, echo=echo, pool_size=1, max_overflow=0, pool_timeout=SQLITE_WRITE_WAIT_SECONDS
        )
        _configure_sqlite(engine, read_only=False)
        reader = _create_async_engine(url, echo=echo)
        _configure_sqlite(reader, read_only=True)
        _readers[engine.sync_engine] = reader

        @event.listens_for(engine.sync_engine, "engine_disposed")
        def _dispose_reader(_engine: Engine) -> None:
            # Runs inside the writer's `AsyncEngine.dispose()`, where closing may await.
            reader.sync_engine.dispose()

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


def read_sessions(sessions: async_sessionmaker[AsyncSession]) -> async_sessionmaker[AsyncSession]:
    """Sessions for reading only, made from the service's `sessions`: on an SQLite file they
    never wait for (nor hold up) the writer; elsewhere they are `sessions` themselves. For the
    hot read paths: a new call's line and IVR flow, SIP credentials, the health check."""
    bind = sessions.kw.get("bind")
    reader = _readers.get(bind.sync_engine) if isinstance(bind, AsyncEngine) else None
    if reader is None:
        return sessions
    options = {name: value for name, value in sessions.kw.items() if name != "bind"}
    return async_sessionmaker(reader, **options)


async def write_transaction(engine: AsyncEngine, work: Callable[[Connection], T]) -> T:
    """Run `work` in one write transaction, committed when it returns, rolled back when it
    raises. `work` is synchronous SQLAlchemy (it must not touch the event loop's objects). On
    SQLite it runs in aiosqlite's thread on the driver's connection, BEGIN IMMEDIATE to COMMIT
    included, holding the engine's one write connection; elsewhere as `AsyncConnection.run_sync`.
    This is the one bridge into aiosqlite's internals (`_execute`, `_conn`, as SQLAlchemy's own
    aiosqlite dialect does); without them it falls back to `run_sync`."""
    async with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            driver: Any = (await connection.get_raw_connection()).driver_connection
            if hasattr(driver, "_execute") and hasattr(driver, "_conn"):
                return cast(T, await driver._execute(_in_driver_thread, driver, work))
        async with connection.begin():
            return await connection.run_sync(work)


def _in_driver_thread(driver: Any, work: Callable[[Connection], T]) -> T:
    """In aiosqlite's thread: the transaction, on a synchronous SQLAlchemy connection over the
    same sqlite3 connection (autocommit at SQLAlchemy's level: the transaction is ours)."""
    sqlite = driver._conn
    sync = _sync_engines.get(driver)
    if sync is None:
        sync = _sync_engines[driver] = _create_sync_engine(
            "sqlite://",
            creator=lambda: sqlite,
            poolclass=StaticPool,
            pool_reset_on_return=None,
            isolation_level="AUTOCOMMIT",
        )
        with sync.connect():
            pass  # its first connection initialises the dialect and rolls back: not in ours
    sqlite.execute("BEGIN IMMEDIATE")
    try:
        with sync.connect() as connection:
            result = work(connection)
            # Inside: closing the SQLAlchemy connection rolls back whatever is still open.
            sqlite.execute("COMMIT")
    except BaseException:
        if sqlite.in_transaction:
            sqlite.execute("ROLLBACK")
        raise
    return result


# The synchronous engine over each aiosqlite connection's sqlite3 connection (write_transaction).
_sync_engines: WeakKeyDictionary[Any, Engine] = WeakKeyDictionary()


def _configure_sqlite(engine: AsyncEngine, *, read_only: bool) -> None:
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
            if read_only:
                cursor.execute("PRAGMA query_only=ON")
        finally:
            cursor.close()

    begin = "BEGIN" if read_only else "BEGIN IMMEDIATE"

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql(begin)


def _is_memory(url: URL) -> bool:
    return url.database in (None, "", ":memory:") or "mode=memory" in str(url)
