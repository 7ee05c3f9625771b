"""IVR flow versions.

One row per published version of a line's IVR flow (its YAML source and validated JSON), who
published it and when, and which version is current: at most one per line, held by a partial
unique index (both SQLite and PostgreSQL have them).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ivr_flow_versions",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("line_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column(
            "definition",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.String(200), nullable=False),
        sa.Column("based_on", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.CheckConstraint("version > 0", name=op.f("ck_ivr_flow_versions_version")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ivr_flow_versions")),
        sa.UniqueConstraint(
            "line_id", "version", name=op.f("uq_ivr_flow_versions_line_id_version")
        ),
    )
    op.create_index(op.f("ix_ivr_flow_versions_line_id"), "ivr_flow_versions", ["line_id"])
    op.create_index(
        "uq_ivr_flow_versions_current_line",
        "ivr_flow_versions",
        ["line_id"],
        unique=True,
        sqlite_where=sa.text("is_current"),
        postgresql_where=sa.text("is_current"),
    )


def downgrade() -> None:
    op.drop_table("ivr_flow_versions")
