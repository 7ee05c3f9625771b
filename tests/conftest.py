"""Shared fixtures: real databases of both kinds, SQLite (a file) and PostgreSQL.

Every database test runs twice, once per backend. PostgreSQL comes from the admin URL in
HOTLINE_TEST_PG_URL (default: the local server, user and password `postgres`); each test session
creates fresh, uniquely named databases there and drops them afterwards. If PostgreSQL cannot be
reached the tests FAIL rather than skip: CI must prove both backends (`make postgres` starts it).

Engines are created in the test's own event loop (function loop scope); session-wide fixtures hand
over only URLs, so no connection ever crosses event loops."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import delete, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as create_raw_engine

from hotline.db import migrate
from hotline.db.engine import create_engine, create_sessions
from hotline.db.models import metadata

PG_ADMIN_URL = os.environ.get(
    "HOTLINE_TEST_PG_URL", "postgresql+asyncpg://postgres:postgres@127.0.0.1:5432/postgres"
)
BACKENDS = ["sqlite", "postgresql"]

# Reference rows seeded by the migrations, kept between tests.
SEEDED_TABLES = {"roles"}
# Append-only logs refuse deletes of their own: they go with their contact or request.
APPEND_ONLY_LOGS = {"contact_events", "request_events"}


@asynccontextmanager
async def scratch_database(backend: str, directory: Path) -> AsyncIterator[str]:
    """A new, empty database of `backend`; its URL, with the password. Removed afterwards."""
    name = f"hotline_test_{uuid.uuid4().hex[:12]}"
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{directory / f'{name}.db'}"
        return
    admin_url = make_url(PG_ADMIN_URL)
    admin = create_raw_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        try:
            async with admin.connect() as connection:
                await connection.execute(text(f'CREATE DATABASE "{name}"'))
        except (OSError, DBAPIError) as exc:
            pytest.fail(
                f"PostgreSQL is not reachable at "
                f"{admin_url.render_as_string(hide_password=True)} ({exc.__class__.__name__}: "
                f"{exc}). Start it with `make postgres`, or point HOTLINE_TEST_PG_URL at a server.",
                pytrace=False,
            )
        try:
            yield admin_url.set(database=name).render_as_string(hide_password=False)
        finally:
            async with admin.connect() as connection:
                await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


@pytest_asyncio.fixture(scope="session", params=BACKENDS)
async def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """A database migrated to the newest revision, shared by the session's tests of one backend.
    Tests get it through `engine`, which empties it after each test."""
    async with scratch_database(request.param, tmp_path_factory.mktemp("db")) as url:
        await migrate.upgrade(url)
        yield url


@pytest_asyncio.fixture(loop_scope="function")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on the migrated database; every row a test wrote is deleted afterwards."""
    engine = create_engine(database_url)
    try:
        yield engine
    finally:
        async with engine.begin() as connection:
            for table in reversed(metadata.sorted_tables):
                # Events go with their contacts and requests (the logs refuse other deletes).
                if table.name not in SEEDED_TABLES | APPEND_ONLY_LOGS:
                    await connection.execute(delete(table))
        await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessions(engine)


@pytest_asyncio.fixture(loop_scope="function", params=BACKENDS)
async def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh database that was never migrated, for migration tests."""
    async with scratch_database(request.param, tmp_path) as url:
        yield url
