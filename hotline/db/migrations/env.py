"""Alembic environment for Hotline, for both SQLite and PostgreSQL through their async drivers.

Normally `hotline.db.migrate` runs Alembic and hands over an open connection (already inside the
transaction the whole upgrade runs in) through `config.attributes["connection"]`. Run by the plain
`alembic` command instead, this opens its own engine from `sqlalchemy.url` or the settings."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from hotline.db.models import metadata

config = context.config


def _configure(connection: Connection) -> None:
    is_sqlite = connection.dialect.name == "sqlite"
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite can change DDL inside a transaction too; Alembic only assumes so for PostgreSQL.
        transactional_ddl=True,
        # SQLite alters tables by copying them; batch mode does that for later revisions.
        render_as_batch=is_sqlite,
        compare_type=True,
    )


def run_with_connection(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def _run_standalone() -> None:
    from hotline.core.settings import load_settings
    from hotline.db.engine import create_engine

    url = config.get_main_option("sqlalchemy.url") or load_settings().effective_database_url
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(run_with_connection)
    finally:
        await engine.dispose()


def run_offline() -> None:
    url = config.get_main_option("sqlalchemy.url")
    context.configure(url=url, target_metadata=metadata, literal_binds=True, transactional_ddl=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
elif (given := config.attributes.get("connection")) is not None:
    run_with_connection(given)
else:
    asyncio.run(_run_standalone())
