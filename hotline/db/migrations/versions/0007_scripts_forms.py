"""Agent scripts and forms.

- `script_versions` and `form_versions`: versioned records (`hotline.db.versions`) by script or
  form id, each with its name, language, the topics and queues it serves, and its content (a
  script's steps; a form's JSON Schema and ui-schema); at most one current version per id (a
  partial unique index);
- `contact_scripts`: a contact's answers to a script, by step, and the version it started on;
- `contact_forms`: a contact's form data, draft or submitted, with a save counter (`version`) for
  optimistic concurrency. Both go with their contact (ON DELETE CASCADE).

Written from Alembic's autogenerate output, then reviewed.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-12
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _versions_table(table: str, key: str, *content: sa.Column[object]) -> None:
    op.create_table(
        table,
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column(key, sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("topics", JSON_TYPE, nullable=False),
        sa.Column("queues", JSON_TYPE, nullable=False),
        *content,
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.String(length=200), nullable=False),
        sa.Column("based_on", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.CheckConstraint("language IN ('ru', 'en')", name=op.f(f"ck_{table}_language")),
        sa.CheckConstraint("version > 0", name=op.f(f"ck_{table}_version")),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        sa.UniqueConstraint(key, "version", name=op.f(f"uq_{table}_{key}_version")),
    )
    op.create_index(op.f(f"ix_{table}_{key}"), table, [key])
    op.create_index(
        f"uq_{table}_current_{key}",
        table,
        [key],
        unique=True,
        sqlite_where=sa.text("is_current"),
        postgresql_where=sa.text("is_current"),
    )


def _contact_key(table: str) -> tuple[sa.Column[object], sa.ForeignKeyConstraint]:
    return (
        sa.Column("contact_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f(f"fk_{table}_contact_id_contacts"),
            ondelete="CASCADE",
        ),
    )


def upgrade() -> None:
    _versions_table(
        "script_versions", "script_id", sa.Column("definition", JSON_TYPE, nullable=False)
    )
    _versions_table(
        "form_versions",
        "form_id",
        sa.Column("json_schema", JSON_TYPE, nullable=False),
        sa.Column("ui_schema", JSON_TYPE, nullable=False),
    )
    contact, to_contact = _contact_key("contact_scripts")
    op.create_table(
        "contact_scripts",
        contact,
        sa.Column("script_id", sa.String(length=64), nullable=False),
        sa.Column("script_version", sa.Integer(), nullable=False),
        sa.Column("answers", JSON_TYPE, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        to_contact,
        sa.PrimaryKeyConstraint("contact_id", "script_id", name=op.f("pk_contact_scripts")),
    )
    contact, to_contact = _contact_key("contact_forms")
    op.create_table(
        "contact_forms",
        contact,
        sa.Column("form_id", sa.String(length=64), nullable=False),
        sa.Column("form_version", sa.Integer(), nullable=False),
        sa.Column("data", JSON_TYPE, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submitted_by", sa.String(length=64), nullable=True),
        sa.CheckConstraint(
            "status IN ('draft', 'submitted')", name=op.f("ck_contact_forms_status")
        ),
        sa.CheckConstraint("version > 0", name=op.f("ck_contact_forms_version")),
        to_contact,
        sa.PrimaryKeyConstraint("contact_id", "form_id", name=op.f("pk_contact_forms")),
    )


def downgrade() -> None:
    for table in ("contact_forms", "contact_scripts", "form_versions", "script_versions"):
        op.drop_table(table)
