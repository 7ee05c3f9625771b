"""Running Alembic from Python: for `hotline init`, `hotline db upgrade` and the tests.

The migration scripts ship inside the package (`hotline/db/migrations`) and are found by path, so
this works from an installed wheel with no alembic.ini. Each run happens inside one transaction on
the caller's engine (SQLite and PostgreSQL both roll DDL back), so a failed upgrade leaves the
database at the revision it started from."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from hotline.core.settings import Settings
from hotline.db.engine import create_engine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

Target = AsyncEngine | Settings | str
"""An engine to migrate through, or settings / a URL to open (and close) one for."""


def alembic_config(*, script_location: Path | None = None) -> Config:
    """An Alembic configuration pointing at the packaged migrations (or at `script_location`)."""
    # Alembic announces each of its plugins at INFO when first imported; keep the log to the
    # migrations themselves. Hence Alembic is imported here, not at the top.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(script_location or MIGRATIONS))
    return config


def head_revision(*, script_location: Path | None = None) -> str | None:
    """The newest revision the code knows."""
    config = alembic_config(script_location=script_location)
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(config).get_current_head()


async def upgrade(
    target: Target, revision: str = "head", *, script_location: Path | None = None
) -> None:
    """Migrate the database up to `revision`, atomically."""
    await _run(target, "upgrade", revision, script_location)


async def downgrade(
    target: Target, revision: str = "base", *, script_location: Path | None = None
) -> None:
    """Migrate the database down to `revision` (`base`: no tables left), atomically."""
    await _run(target, "downgrade", revision, script_location)


async def current_revision(target: Target) -> str | None:
    """The revision the database is at; None for a database never migrated."""
    alembic_config()
    from alembic.runtime.migration import MigrationContext

    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with _engine_for(target) as engine, engine.connect() as connection:
        return await connection.run_sync(read)


async def _run(target: Target, action: str, revision: str, script_location: Path | None) -> None:
    config = alembic_config(script_location=script_location)
    from alembic import command

    def run(connection: Connection) -> None:
        config.attributes["connection"] = connection
        getattr(command, action)(config, revision)

    async with _engine_for(target) as engine, engine.begin() as connection:
        await connection.run_sync(run)


@asynccontextmanager
async def _engine_for(target: Target) -> AsyncIterator[AsyncEngine]:
    """The caller's engine as is, or a temporary one for settings or a URL, disposed after."""
    if isinstance(target, AsyncEngine):
        yield target
        return
    engine = create_engine(target)
    try:
        yield engine
    finally:
        await engine.dispose()
