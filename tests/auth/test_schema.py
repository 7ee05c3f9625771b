"""Migration 0004 on both databases: existing users get the new columns' defaults, the language is
checked, and a downgrade to 0003 gives back the old schema with the users kept."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from hotline.db import migrate
from hotline.db.engine import create_engine


def _schema(connection: Connection) -> tuple[set[str], set[str]]:
    inspector = inspect(connection)
    return set(inspector.get_table_names()), {c["name"] for c in inspector.get_columns("users")}


async def test_0004_adds_sessions_audit_and_user_columns_and_downgrades_cleanly(
    empty_database_url: str,
) -> None:
    engine = create_engine(empty_database_url)
    try:
        await migrate.upgrade(engine, "0003")
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO users (id, username, name, active, created_at, updated_at) "
                    "VALUES ('u1', 'agent01', 'Anna', true, :now, :now)"
                ),
                {"now": datetime(2026, 12, 1, 9, tzinfo=UTC)},
            )
        await migrate.upgrade(engine, "0004")
        async with engine.begin() as connection:
            tables, columns = await connection.run_sync(_schema)
            assert {"web_sessions", "audit_log"} <= tables
            assert {"must_change_password", "language"} <= columns
            row = (
                await connection.execute(
                    text("SELECT must_change_password, language FROM users WHERE id = 'u1'")
                )
            ).one()
            assert (bool(row[0]), row[1]) == (False, "ru")
            await connection.execute(text("UPDATE users SET language = 'en' WHERE id = 'u1'"))
        with pytest.raises(IntegrityError):
            async with engine.begin() as connection:
                await connection.execute(text("UPDATE users SET language = 'de' WHERE id = 'u1'"))

        await migrate.downgrade(engine, "0003")
        assert await migrate.current_revision(engine) == "0003"
        async with engine.connect() as connection:
            tables, columns = await connection.run_sync(_schema)
            assert not {"web_sessions", "audit_log"} & tables
            assert not {"must_change_password", "language"} & columns
            names = (await connection.execute(text("SELECT username FROM users"))).scalars()
            assert list(names) == ["agent01"]
    finally:
        await engine.dispose()
