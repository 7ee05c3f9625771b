"""`hotline init` loads a hotline configuration (a shipped template, with the IVR flows of its
lines, or a file) into the database; `hotline check` validates a file without touching any
database."""

from __future__ import annotations

from pathlib import Path

import click

from hotline.config.loader import load_config, template_flows, template_path
from hotline.core.errors import InvalidConfiguration


@click.command("init")
@click.option(
    "--template",
    metavar="NAME",
    help="A configuration shipped with Hotline (covid: a city COVID-19 hotline).",
)
@click.option(
    "--file",
    "file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="A configuration file of your own (YAML).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Replace an existing configuration. This erases its configuration, users and contacts.",
)
@click.pass_context
def init_command(ctx: click.Context, template: str | None, file: Path | None, force: bool) -> None:
    """Migrate the database, then load a hotline configuration into it (all or nothing). A
    template's IVR flows are published for its lines in the same transaction.

    Sign-in passwords are generated for the configuration's users, and SIP passwords for the
    phones of those who answer contacts, and printed once."""
    from hotline.config.service import ImportSummary, LineFlow
    from hotline.db.cli import command_settings, fail, run_async, shown_url

    if (template is None) == (file is None):
        raise click.UsageError("give either --template NAME or --file PATH")
    flows: list[LineFlow] = []
    try:
        config = load_config(template_path(template) if template is not None else Path(str(file)))
        if template is not None:
            flows = [
                LineFlow.from_file(line, path, actor="hotline init", note=f"template {template!r}")
                for line, path in template_flows(template).items()
            ]
    except InvalidConfiguration as exc:
        fail(exc.message)
    settings = command_settings(ctx)

    async def run() -> tuple[str | None, ImportSummary]:
        from hotline.app import build_app
        from hotline.config.service import import_config
        from hotline.db import migrate

        app = build_app(settings)
        try:
            await migrate.upgrade(app.engine)
            async with app.sessions() as session:
                summary = await import_config(
                    session=session,
                    config=config,
                    replace=force,
                    flows=flows,
                    bus=app.bus,
                    sip_realm=settings.sip_realm,
                )
            return await migrate.current_revision(app.engine), summary
        finally:
            await app.close()

    revision, summary = run_async(run())
    source = f"template {template!r}" if template is not None else str(file)
    click.echo(f"Database {shown_url(settings)} at revision {revision}.")
    click.echo(f"Loaded {source}: {_counts(summary.counts)}.")
    for published in summary.flows:
        for warning in published.warnings:
            click.echo(f"warning: {warning}")
        version = published.version
        click.echo(
            f"Published IVR flow {version.name!r} as version {version.version} "
            f"of line {version.line_id!r}."
        )
    synced = summary.scripts_and_forms
    if synced.published:
        click.echo(f"Published the agents' {', '.join(synced.published)}.")
    if synced.retired:
        click.echo(f"No longer live (not in the configuration): {', '.join(synced.retired)}.")
    passwords = summary.passwords
    if passwords:
        kind = "Demo sign-in passwords" if template is not None else "Sign-in passwords"
        click.echo(
            f"\n{kind}, generated now and shown only this once "
            "(the database keeps only their hashes):"
        )
        width = max(len(name) for name in passwords)
        for username, password in passwords.items():
            click.echo(f"  {username:<{width}}  {password}")
    sip_passwords = summary.sip_passwords
    if sip_passwords:
        click.echo(
            f"\nSIP accounts for agents' phones, shown only this once (the database keeps only "
            f"digest hashes). Register a softphone to {settings.advertised_address}:"
            f"{settings.sip_port} (UDP or TCP), user name = the username, realm "
            f"{settings.sip_realm!r}; a registered agent is logged in to the router:"
        )
        width = max(len(name) for name in sip_passwords)
        where = f"{settings.advertised_address}:{settings.sip_port}"
        for username, password in sip_passwords.items():
            click.echo(f"  {username:<{width}}  {password}  sip:{username}@{where}")


@click.command("check")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
def check_command(file: Path) -> None:
    """Validate a hotline configuration FILE and list every problem; no database is touched."""
    from hotline.db.cli import fail

    try:
        config = load_config(file)
    except InvalidConfiguration as exc:
        fail(exc.message)
    # Sections the file leaves empty are not listed (most files have no districts, say).
    counts = {
        name: len(getattr(config, name))
        for name in type(config).model_fields
        if name != "version" and getattr(config, name)
    }
    click.echo(f"{file}: valid ({_counts(counts)})")


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in counts.items())
