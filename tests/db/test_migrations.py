"""Migrations on both databases: up to head matches the models, down to base removes everything,
and a failing migration leaves the database where it was."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from hotline.app import build_app
from hotline.cli import cli
from hotline.core.settings import load_settings
from hotline.db import migrate
from hotline.db.engine import create_engine
from hotline.db.models import metadata

FAILING_REVISION = '''"""Fails half-way.

Revision ID: 0099
Revises: {head}
"""

import sqlalchemy as sa
from alembic import op

revision = "0099"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("half_done", sa.Column("id", sa.Integer(), primary_key=True))
    op.execute("INSERT INTO no_such_table VALUES (1)")


def downgrade() -> None:
    op.drop_table("half_done")
'''
"""A revision after the newest one (`{head}`) that fails after it has created a table."""


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def test_upgrade_to_head_builds_the_schema_the_models_describe(
    empty_database_url: str,
) -> None:
    engine = create_engine(empty_database_url)
    try:
        assert await migrate.current_revision(engine) is None
        await migrate.upgrade(engine)
        assert await migrate.current_revision(engine) == migrate.head_revision()
        async with engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
            roles = (await connection.execute(text("SELECT id FROM roles ORDER BY id"))).scalars()
            assert list(roles) == [
                "admin",
                "agent",
                "department_specialist",
                "field_worker",
                "supervisor",
            ]
    finally:
        await engine.dispose()


async def test_downgrade_to_base_removes_every_table_and_upgrade_runs_again(
    empty_database_url: str,
) -> None:
    engine = create_engine(empty_database_url)
    try:
        await migrate.upgrade(engine)
        await migrate.downgrade(engine, "base")
        assert await migrate.current_revision(engine) is None
        async with engine.connect() as connection:
            assert await connection.run_sync(_tables) <= {"alembic_version"}
        await migrate.upgrade(engine)
        async with engine.connect() as connection:
            assert await connection.run_sync(_tables) >= {t.name for t in metadata.sorted_tables}
    finally:
        await engine.dispose()


async def test_a_failing_migration_leaves_the_database_at_its_previous_revision(
    empty_database_url: str, tmp_path: Path
) -> None:
    scripts = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    head = migrate.head_revision()
    assert head is not None
    (scripts / "versions" / "0099_fails.py").write_text(FAILING_REVISION.format(head=head))
    engine = create_engine(empty_database_url)
    try:
        await migrate.upgrade(engine, head, script_location=scripts)
        with pytest.raises(DBAPIError):
            await migrate.upgrade(engine, "head", script_location=scripts)
        assert await migrate.current_revision(engine) == head
        async with engine.connect() as connection:
            assert "half_done" not in await connection.run_sync(_tables)
    finally:
        await engine.dispose()


async def test_sqlite_connections_use_wal_full_sync_and_foreign_keys(tmp_path: Path) -> None:
    app = build_app(load_settings(data_dir=tmp_path / "data"))
    try:
        async with app.engine.connect() as connection:
            pragma = {
                name: (await connection.exec_driver_sql(f"PRAGMA {name}")).scalar()
                for name in ("journal_mode", "synchronous", "foreign_keys")
            }
        assert pragma == {"journal_mode": "wal", "synchronous": 2, "foreign_keys": 1}
        assert (tmp_path / "data" / "hotline.db").exists()
    finally:
        await app.close()


def test_db_upgrade_command_migrates_the_configured_database(empty_database_url: str) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["--database-url", empty_database_url, "db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert f"at revision {migrate.head_revision()}" in result.output
    current = runner.invoke(cli, ["--database-url", empty_database_url, "db", "current"])
    assert "up to date" in current.output
