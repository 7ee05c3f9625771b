"""Signing in to the browser app, and the audit log.

- `web_sessions`: server-side browser sessions (only the SHA-256 of the cookie's token is kept);
- `audit_log`: who read or changed a caller's personal data or published configuration;
- `users.must_change_password` (existing users: no) and `users.language` (existing users: "ru",
  checked to be "ru" or "en").

SQLite adds the language column with its CHECK written on the column (SQLite cannot add a table
constraint to an existing table), and drops it again natively: a CHECK that belongs to the dropped
column does not stop `ALTER TABLE DROP COLUMN`.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-09
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LANGUAGE_CHECK = "language IN ('ru', 'en')"


def _timestamp(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        _timestamp("created_at"),
        _timestamp("last_seen_at"),
        sa.Column("ip", sa.String(45), nullable=True),
        sa.Column("user_agent", sa.String(300), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_web_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_sessions")),
    )
    op.create_index(op.f("ix_web_sessions_user_id"), "web_sessions", ["user_id"])
    op.create_index(op.f("ix_web_sessions_last_seen_at"), "web_sessions", ["last_seen_at"])

    op.create_table(
        "audit_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        _timestamp("at"),
        sa.Column("actor_id", sa.String(32), nullable=True),
        sa.Column("actor_username", sa.String(64), nullable=True),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("object_type", sa.String(64), nullable=False),
        sa.Column("object_id", sa.String(128), nullable=True),
        sa.Column("ip", sa.String(45), nullable=True),
        sa.Column(
            "details", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_audit_log_actor_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"])
    op.create_index(op.f("ix_audit_log_action"), "audit_log", ["action"])
    op.create_index("ix_audit_log_object", "audit_log", ["object_type", "object_id", "id"])
    op.create_index("ix_audit_log_actor", "audit_log", ["actor_id", "id"])

    op.add_column(
        "users",
        sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    if op.get_bind().dialect.name == "sqlite":
        op.add_column(
            "users",
            sa.Column(
                "language",
                sa.String(2),
                sa.CheckConstraint(LANGUAGE_CHECK, name=op.f("ck_users_language")),
                nullable=False,
                server_default="ru",
            ),
        )
    else:
        op.add_column(
            "users", sa.Column("language", sa.String(2), nullable=False, server_default="ru")
        )
        op.create_check_constraint(op.f("ck_users_language"), "users", LANGUAGE_CHECK)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("users", recreate="never") as batch:
            batch.drop_column("language")
            batch.drop_column("must_change_password")
    else:
        op.drop_constraint(op.f("ck_users_language"), "users", type_="check")
        op.drop_column("users", "language")
        op.drop_column("users", "must_change_password")
    op.drop_table("audit_log")
    op.drop_table("web_sessions")
