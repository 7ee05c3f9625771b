"""`hotline db ...`: apply and inspect schema migrations for the configured database."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from typing import Any, NoReturn, TypeVar

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from hotline.cli import settings_from
from hotline.core.errors import HotlineError
from hotline.core.settings import Settings

T = TypeVar("T")


@click.group("db")
def db_group() -> None:
    """Database schema: migrations (SQLite or PostgreSQL)."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
@click.pass_context
def upgrade_command(ctx: click.Context, revision: str) -> None:
    """Migrate the database up to REVISION (default: the newest)."""
    from hotline.db import migrate

    settings = command_settings(ctx)

    async def run() -> str | None:
        await migrate.upgrade(settings, revision)
        return await migrate.current_revision(settings)

    current = run_async(run())
    click.echo(f"{shown_url(settings)}: at revision {current or 'base'}")


@db_group.command("downgrade")
@click.argument("revision")
@click.pass_context
def downgrade_command(ctx: click.Context, revision: str) -> None:
    """Migrate the database down to REVISION (`base` drops every table)."""
    from hotline.db import migrate

    settings = command_settings(ctx)

    async def run() -> str | None:
        await migrate.downgrade(settings, revision)
        return await migrate.current_revision(settings)

    current = run_async(run())
    click.echo(f"{shown_url(settings)}: at revision {current or 'base'}")


@db_group.command("current")
@click.pass_context
def current_command(ctx: click.Context) -> None:
    """Show the database's revision and the newest one this version knows."""
    from hotline.db import migrate

    settings = command_settings(ctx)
    current = run_async(migrate.current_revision(settings))
    head = migrate.head_revision()
    state = "up to date" if current == head else f"newest is {head}: run `hotline db upgrade`"
    click.echo(f"{shown_url(settings)}: at revision {current or 'base'} ({state})")


@db_group.command("revision")
@click.option("-m", "--message", required=True, help="What the revision changes.")
@click.option(
    "--autogenerate/--empty",
    default=True,
    help="Draft operations from the difference between the models and the database "
    "(which must be at the newest revision). Always review the draft.",
)
@click.pass_context
def revision_command(ctx: click.Context, message: str, autogenerate: bool) -> None:
    """Write a new migration script (for developers, in a source checkout)."""
    from alembic import command
    from sqlalchemy.engine import Connection

    from hotline.db import migrate
    from hotline.db.engine import create_engine

    settings = command_settings(ctx)

    async def run() -> None:
        engine = create_engine(settings)
        config = migrate.alembic_config()

        def write(connection: Connection) -> None:
            config.attributes["connection"] = connection
            command.revision(config, message=message, autogenerate=autogenerate)

        try:
            async with engine.begin() as connection:
                await connection.run_sync(write)
        finally:
            await engine.dispose()

    run_async(run())


def command_settings(ctx: click.Context) -> Settings:
    """This run's settings, with the data directory created when the database lives in it."""
    settings = settings_from(ctx)
    if settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings


def shown_url(settings: Settings) -> str:
    """The database URL with any password hidden, for messages."""
    return make_url(settings.effective_database_url).render_as_string(hide_password=True)


def run_async(coroutine: Coroutine[Any, Any, T], *, uvloop_loop: bool = False) -> T:
    """Run a command's coroutine; a catalogued error or an unreachable database becomes a
    one-line message and exit status 2, the same whether run by `hotline` or by a test runner.
    `uvloop_loop` runs it on uvloop (long-running services: `hotline serve`)."""
    try:
        if uvloop_loop:
            import uvloop

            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                return runner.run(coroutine)
        return asyncio.run(coroutine)
    except HotlineError as exc:
        fail(exc.message)
    except (DBAPIError, OSError) as exc:
        reason = getattr(exc, "orig", None) or exc
        fail(f"database error: {type(reason).__name__}: {reason}")


def fail(message: str) -> NoReturn:
    for line in message.splitlines() or [""]:
        click.echo(f"error: {line}", err=True)
    sys.exit(2)
