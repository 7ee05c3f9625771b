"""The `hotline` command. Subcommands live with their domain and are imported only when run, so
`hotline --help` is quick and nothing is loaded at import time."""

from __future__ import annotations

import importlib
import logging
import sys
from pathlib import Path
from typing import Any

import click

from hotline.core.errors import HotlineError
from hotline.core.settings import Settings, load_settings

# name -> "module:attribute" of a click command
COMMANDS: dict[str, str] = {
    "init": "hotline.config.cli:init_command",
    "check": "hotline.config.cli:check_command",
    "db": "hotline.db.cli:db_group",
    "ivr": "hotline.ivr.cli:ivr_group",
    "staff": "hotline.planning.staffing_cli:staff_command",
    "simulate": "hotline.planning.simulate_cli:simulate_command",
    "serve": "hotline.calls.cli:serve_command",
    "contacts": "hotline.contacts.cli:contacts_command",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        command: click.Command = getattr(importlib.import_module(module_name), attr)
        return command


@click.group(cls=LazyGroup)
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="HOTLINE_CONFIG",
    help="Settings file (YAML or TOML).",
)
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Data directory (SQLite database, recordings).",
)
@click.option("--database-url", default=None, help="SQLAlchemy database URL.")
@click.option("--log-level", default=None, help="DEBUG, INFO, WARNING or ERROR.")
@click.version_option(package_name="hotline")
@click.pass_context
def cli(ctx: click.Context, /, config_file: Path | None, **overrides: Any) -> None:
    """Hotline: a contact center for crisis and public-service hotlines."""
    ctx.obj = SettingsLoader(config_file, overrides)


class SettingsLoader:
    """Loads the settings on first use, so a subcommand's bad options are reported before a bad
    settings file is even read, and `--help` reads nothing."""

    def __init__(self, config_file: Path | None, overrides: dict[str, Any]) -> None:
        self._config_file = config_file
        self._overrides = overrides
        self._settings: Settings | None = None

    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self._config_file, **self._overrides)
            logging.basicConfig(
                level=self._settings.log_level,
                format="%(asctime)s %(levelname)s %(name)s: %(message)s",
            )
        return self._settings


def main() -> None:
    """Entry point: catalogued errors become a message and exit status 2, never a traceback."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except HotlineError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(2)


def settings_from(ctx: click.Context) -> Settings:
    """The settings of this run, for a subcommand: `settings_from(click.get_current_context())`."""
    loader = ctx.find_object(SettingsLoader)
    if loader is None:  # the command was invoked on its own, as in some tests
        return load_settings()
    return loader.settings()
