"""`hotline serve`: run the platform (SIP, media workers, router, call path, HTTP API) until
SIGINT or SIGTERM, then stop it in stages, live calls first (each ends with its outcome written)."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path
from typing import Any

import click

from hotline.cli import settings_from
from hotline.core.settings import Settings

log = logging.getLogger(__name__)


@click.command("serve")
@click.option("--sip-port", type=click.IntRange(1, 65535), help="SIP port, UDP and TCP.")
@click.option("--http-port", type=click.IntRange(1, 65535), help="HTTP API port.")
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Data directory (database, prompts, recordings).",
)
@click.pass_context
def serve_command(
    ctx: click.Context, sip_port: int | None, http_port: int | None, data_dir: Path | None
) -> None:
    """Run Hotline: take calls on the SIP port, register agents' phones, serve the HTTP API.

    The database must hold a configuration (`hotline init`). Stop with Ctrl-C (or SIGTERM):
    calls in progress are ended cleanly first."""
    from hotline.db.cli import run_async

    settings = settings_from(ctx)
    overrides: dict[str, Any] = {
        "sip_port": sip_port,
        "http_port": http_port,
        "data_dir": data_dir,
    }
    given = {name: value for name, value in overrides.items() if value is not None}
    if given:
        settings = Settings(**{**settings.model_dump(by_alias=True), **given})
    run_async(_serve(settings), uvloop_loop=True)


async def _serve(settings: Settings) -> None:
    from hotline.app import build_app, start_platform
    from hotline.core import heap

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    signals = (signal.SIGINT, signal.SIGTERM)
    for signum in signals:
        loop.add_signal_handler(signum, stop.set)
    app = build_app(settings)
    try:
        platform = await start_platform(app)
    except BaseException:
        await app.close()
        raise
    heap.settle()  # after start-up: what it built lives as long as the process
    try:
        http = platform.http
        click.echo(
            f"Hotline is running: SIP on {settings.sip_bind_address}:{platform.sip_port} "
            f"(UDP and TCP, advertised as {settings.advertised_address}), HTTP API on "
            f"http://{settings.http_bind_address}:{http.port if http else '-'}/api/v1/health, "
            f"data in {settings.data_dir}. Ctrl-C stops it.",
        )
        await stop.wait()
        click.echo("Stopping: ending calls, then SIP, the router and the media workers...")
        # A second Ctrl-C while stopping is not lost on a hung stage: stages are bounded anyway.
        for signum in signals:
            loop.remove_signal_handler(signum)
    finally:
        await platform.close()
    click.echo("Stopped.")
