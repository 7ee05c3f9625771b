"""`hotline ivr ...`: check an IVR flow file, publish it for a line, list a line's versions and
roll back to an earlier one. Until the admin pages exist, this is how flows go live."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from hotline.core.errors import HotlineError
from hotline.core.yamlfile import read_file
from hotline.ivr.loader import KnownTargets, load_flow, template_path

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    Sessions = async_sessionmaker[AsyncSession]


@click.group("ivr")
def ivr_group() -> None:
    """IVR flows: check, publish, list versions, roll back."""


@ivr_group.command("check")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--against-database",
    is_flag=True,
    help="Also check the queues, lines and calendars the flow names against the database.",
)
@click.pass_context
def check_command(ctx: click.Context, file: Path, against_database: bool) -> None:
    """Validate an IVR flow FILE and list every problem (and the warnings)."""
    from hotline.db.cli import command_settings, fail, run_async

    known: KnownTargets | None = None
    if against_database:
        settings = command_settings(ctx)

        async def targets() -> KnownTargets:
            from hotline.app import build_app
            from hotline.ivr.service import known_targets

            app = build_app(settings)
            try:
                async with app.sessions() as session:
                    return await known_targets(session=session)
            finally:
                await app.close()

        known = run_async(targets())
    try:
        loaded = load_flow(file, known=known)
    except HotlineError as exc:
        fail(exc.message)
    for warning in loaded.warnings:
        click.echo(f"warning: {warning}")
    click.echo(f"{file}: valid ({len(loaded.flow.steps)} steps)")


@ivr_group.command("publish")
@click.argument("line")
@click.argument("file", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--template", metavar="NAME", help="A flow shipped with Hotline (covid).")
@click.option("--by", "actor", required=True, help="Who publishes (kept in the history).")
@click.option("--note", help="Why: kept in the history.")
@click.pass_context
def publish_command(
    ctx: click.Context,
    line: str,
    file: Path | None,
    template: str | None,
    actor: str,
    note: str | None,
) -> None:
    """Validate FILE against the database and make it the current flow of LINE. New calls on
    the line run it at once; calls in progress finish on the flow they began with."""
    from hotline.db.cli import fail

    if (template is None) == (file is None):
        raise click.UsageError("give either FILE or --template NAME")
    try:
        path = template_path(template) if template is not None else Path(str(file))
        source = read_file(path)
    except HotlineError as exc:
        fail(exc.message)

    async def run(sessions: Sessions) -> str:
        from hotline.ivr.service import publish_flow

        async with sessions() as session:
            result = await publish_flow(
                session=session,
                line_id=line,
                source=source,
                actor=actor,
                filename=str(path),
                note=note,
            )
        lines = [f"warning: {w}" for w in result.warnings]
        lines.append(f"line {line}: version {result.version.version} is live")
        return "\n".join(lines)

    click.echo(_with_database(ctx, run))


@ivr_group.command("rollback")
@click.argument("line")
@click.argument("version", type=int)
@click.option("--by", "actor", required=True, help="Who rolls back (kept in the history).")
@click.option("--note", help="Why: kept in the history.")
@click.pass_context
def rollback_command(
    ctx: click.Context, line: str, version: int, actor: str, note: str | None
) -> None:
    """Put VERSION of LINE's flow live again (as a new version, a copy of it)."""

    async def run(sessions: Sessions) -> str:
        from hotline.ivr.service import rollback_flow

        async with sessions() as session:
            result = await rollback_flow(
                session=session, line_id=line, version=version, actor=actor, note=note
            )
        return (
            f"line {line}: version {result.version.version} (a copy of version {version}) is live"
        )

    click.echo(_with_database(ctx, run))


@ivr_group.command("versions")
@click.argument("line")
@click.pass_context
def versions_command(ctx: click.Context, line: str) -> None:
    """List the versions of LINE's flow, newest first; * marks the current one."""

    async def run(sessions: Sessions) -> str:
        from hotline.ivr.service import flow_versions

        async with sessions() as session:
            versions = await flow_versions(session=session, line_id=line)
        if not versions:
            return f"line {line}: no IVR flow published"
        rows = []
        for v in versions:
            mark = "*" if v.is_current else " "
            copy = f" (copy of {v.based_on})" if v.based_on is not None else ""
            when = v.published_at.strftime("%Y-%m-%d %H:%M:%S UTC")
            note = f": {v.note}" if v.note else ""
            rows.append(f"{mark} {v.version:>4}  {when}  {v.published_by}  {v.name}{copy}{note}")
        return "\n".join(rows)

    click.echo(_with_database(ctx, run))


def _with_database(ctx: click.Context, work: Callable[[Sessions], Awaitable[str]]) -> str:
    """Run `work(sessions)` against the configured database, which must be migrated."""
    from hotline.db.cli import command_settings, run_async

    settings = command_settings(ctx)

    async def run() -> str:
        from hotline.app import build_app

        app = build_app(settings)
        try:
            return await work(app.sessions)
        finally:
            await app.close()

    return run_async(run())
