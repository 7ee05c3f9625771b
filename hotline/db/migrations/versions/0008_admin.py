"""Administration: configuration versions and managed prompts.

- `config_versions`: every publish of the live configuration (queues, skills, business hours,
  wrap-up codes, agents' skill levels) made through the administration pages: the YAML as
  written, the digest of the configuration right after, who, when, and which version a rollback
  copied;
- `prompts`: recorded and synthesized prompts by name (the audio is a file in the prompts
  folder; the row says what it is and who made it).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-16
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "config_versions",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.String(200), nullable=False),
        sa.Column("based_on", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.CheckConstraint("version > 0", name=op.f("ck_config_versions_version")),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_config_versions")),
    )
    op.create_table(
        "prompts",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("lang", sa.String(8), nullable=True),
        sa.Column("voice", sa.String(64), nullable=True),
        sa.Column("filename", sa.String(255), nullable=True),
        sa.Column("duration", sa.Float(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('upload', 'tts')", name=op.f("ck_prompts_kind")),
        sa.CheckConstraint("size >= 0", name=op.f("ck_prompts_size")),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_prompts")),
    )


def downgrade() -> None:
    op.drop_table("prompts")
    op.drop_table("config_versions")
