"""Requests and field dispatch.

- `field_worker_kinds`, `districts` (postcode prefixes and street names), `request_categories`
  (form as JSON Schema, SLA hours, acceptance timeout, information-only) and
  `request_category_kinds` (who may fulfil each category): configuration records;
- `field_workers` (a dispatch profile on a user with the role field_worker: kind, capacity,
  availability, open task count), `field_worker_districts` and `field_worker_categories`;
- `requests` (caller, address and district, form answers, lifecycle, SLA, idempotency key, merge
  link) and `request_events`, their append-only audit trail, guarded by triggers as contact
  events are (no UPDATE; no DELETE while the request exists).

Written from Alembic's autogenerate output, then reviewed: plain column types, and CHECK
constraints spelt out here so this file never changes when the models do.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-10
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

TABLES = (
    "request_events",
    "requests",
    "field_worker_districts",
    "field_worker_categories",
    "request_category_kinds",
    "field_workers",
    "request_categories",
    "field_worker_kinds",
    "districts",
)
"""Every table of this revision, children first (the order a downgrade drops them in)."""


def upgrade() -> None:
    op.create_table(
        "districts",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("name_ru", sa.String(length=200), nullable=False),
        sa.Column("postcodes", JSON_TYPE, nullable=False),
        sa.Column("streets", JSON_TYPE, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_districts")),
    )
    op.create_table(
        "field_worker_kinds",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("name_ru", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_field_worker_kinds")),
    )
    op.create_table(
        "request_categories",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("name_ru", sa.String(length=200), nullable=False),
        sa.Column("sla_hours", sa.Float(), nullable=False),
        sa.Column("accept_minutes", sa.Float(), nullable=False),
        sa.Column("information_only", sa.Boolean(), nullable=False),
        sa.Column("form", JSON_TYPE, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("accept_minutes > 0", name=op.f("ck_request_categories_accept_minutes")),
        sa.CheckConstraint("sla_hours > 0", name=op.f("ck_request_categories_sla_hours")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_categories")),
    )
    op.create_table(
        "field_workers",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("kind_id", sa.String(length=64), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("available", sa.Boolean(), nullable=False),
        sa.Column("active_tasks", sa.Integer(), nullable=False),
        sa.Column("last_assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("active_tasks >= 0", name=op.f("ck_field_workers_active_tasks")),
        sa.CheckConstraint("capacity >= 1", name=op.f("ck_field_workers_capacity")),
        sa.ForeignKeyConstraint(
            ["kind_id"],
            ["field_worker_kinds.id"],
            name=op.f("fk_field_workers_kind_id_field_worker_kinds"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_field_workers_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_field_workers")),
    )
    op.create_index(op.f("ix_field_workers_kind_id"), "field_workers", ["kind_id"])
    op.create_table(
        "request_category_kinds",
        sa.Column("category_id", sa.String(length=64), nullable=False),
        sa.Column("kind_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["request_categories.id"],
            name=op.f("fk_request_category_kinds_category_id_request_categories"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["kind_id"],
            ["field_worker_kinds.id"],
            name=op.f("fk_request_category_kinds_kind_id_field_worker_kinds"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("category_id", "kind_id", name=op.f("pk_request_category_kinds")),
    )
    op.create_index(
        op.f("ix_request_category_kinds_kind_id"), "request_category_kinds", ["kind_id"]
    )
    op.create_table(
        "field_worker_categories",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("category_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["request_categories.id"],
            name=op.f("fk_field_worker_categories_category_id_request_categories"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["field_workers.user_id"],
            name=op.f("fk_field_worker_categories_user_id_field_workers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "category_id", name=op.f("pk_field_worker_categories")),
    )
    op.create_index(
        op.f("ix_field_worker_categories_category_id"), "field_worker_categories", ["category_id"]
    )
    op.create_table(
        "field_worker_districts",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("district_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["district_id"],
            ["districts.id"],
            name=op.f("fk_field_worker_districts_district_id_districts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["field_workers.user_id"],
            name=op.f("fk_field_worker_districts_user_id_field_workers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "district_id", name=op.f("pk_field_worker_districts")),
    )
    op.create_index(
        "ix_field_worker_districts_district", "field_worker_districts", ["district_id", "user_id"]
    )
    op.create_table(
        "requests",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("category_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("contact_id", sa.String(length=32), nullable=True),
        sa.Column("created_by_id", sa.String(length=32), nullable=True),
        sa.Column("caller_number", sa.String(length=64), nullable=True),
        sa.Column("caller_name", sa.String(length=200), nullable=True),
        sa.Column("caller_age", sa.Integer(), nullable=True),
        sa.Column("disability", sa.Boolean(), nullable=False),
        sa.Column("phone_key", sa.String(length=32), nullable=True),
        sa.Column("postcode", sa.String(length=16), nullable=True),
        sa.Column("street", sa.String(length=200), nullable=True),
        sa.Column("house", sa.String(length=32), nullable=True),
        sa.Column("flat", sa.String(length=32), nullable=True),
        sa.Column("address_note", sa.Text(), nullable=True),
        sa.Column("address_key", sa.String(length=300), nullable=True),
        sa.Column("district_id", sa.String(length=64), nullable=True),
        sa.Column("needs_district", sa.Boolean(), nullable=False),
        sa.Column("form_data", JSON_TYPE, nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("worker_id", sa.String(length=32), nullable=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accept_by", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("outcome_note", sa.Text(), nullable=True),
        sa.Column("excluded_workers", JSON_TYPE, nullable=False),
        sa.Column("sla_deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sla_breached", sa.Boolean(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=100), nullable=True),
        sa.Column("fingerprint", sa.String(length=64), nullable=True),
        sa.Column("merged_into_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "source IN ('agent', 'specialist', 'api')", name=op.f("ck_requests_source")
        ),
        sa.CheckConstraint(
            "state IN ('new', 'assigned', 'accepted', 'in_progress', 'done', 'failed', "
            "'cancelled')",
            name=op.f("ck_requests_state"),
        ),
        sa.CheckConstraint(
            "caller_age IS NULL OR caller_age BETWEEN 0 AND 150",
            name=op.f("ck_requests_caller_age"),
        ),
        sa.CheckConstraint("last_seq >= 0", name=op.f("ck_requests_last_seq")),
        sa.CheckConstraint("priority BETWEEN 0 AND 2", name=op.f("ck_requests_priority")),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["request_categories.id"],
            name=op.f("fk_requests_category_id_request_categories"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_requests_contact_id_contacts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_requests_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["district_id"],
            ["districts.id"],
            name=op.f("fk_requests_district_id_districts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"],
            ["requests.id"],
            name=op.f("fk_requests_merged_into_id_requests"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["worker_id"],
            ["users.id"],
            name=op.f("fk_requests_worker_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_requests")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_requests_idempotency_key")),
    )
    op.create_index("ix_requests_address_key_category", "requests", ["address_key", "category_id"])
    op.create_index(op.f("ix_requests_category_id"), "requests", ["category_id"])
    op.create_index(op.f("ix_requests_contact_id"), "requests", ["contact_id"])
    op.create_index(op.f("ix_requests_created_at"), "requests", ["created_at"])
    op.create_index(op.f("ix_requests_district_id"), "requests", ["district_id"])
    op.create_index(op.f("ix_requests_merged_into_id"), "requests", ["merged_into_id"])
    op.create_index("ix_requests_phone_key_category", "requests", ["phone_key", "category_id"])
    op.create_index("ix_requests_state_accept_by", "requests", ["state", "accept_by"])
    op.create_index("ix_requests_state_sla_deadline", "requests", ["state", "sla_deadline"])
    op.create_index("ix_requests_worker_state", "requests", ["worker_id", "state"])
    op.create_table(
        "request_events",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("request_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.String(length=32), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=True),
        sa.Column("correlation_id", sa.String(length=64), nullable=True),
        sa.Column("payload", JSON_TYPE, nullable=False),
        sa.CheckConstraint("seq > 0", name=op.f("ck_request_events_seq")),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["requests.id"],
            name=op.f("fk_request_events_request_id_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_events")),
        sa.UniqueConstraint("request_id", "seq", name=op.f("uq_request_events_request_id_seq")),
    )
    op.create_index(op.f("ix_request_events_at"), "request_events", ["at"])
    op.create_index(op.f("ix_request_events_correlation_id"), "request_events", ["correlation_id"])
    op.create_index(op.f("ix_request_events_type"), "request_events", ["type"])
    _create_event_log_guards()


def _create_event_log_guards() -> None:
    """Events are never changed, and leave only with their request (ON DELETE CASCADE)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION request_events_append_only() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'UPDATE' THEN
                    RAISE EXCEPTION 'request events are append-only: an event cannot be changed';
                END IF;
                IF EXISTS (SELECT 1 FROM requests WHERE id = OLD.request_id) THEN
                    RAISE EXCEPTION
                        'request events are append-only: delete the request to delete its log';
                END IF;
                RETURN OLD;
            END
            $$
            """
        )
        op.execute(
            "CREATE TRIGGER request_events_append_only BEFORE UPDATE OR DELETE ON request_events "
            "FOR EACH ROW EXECUTE FUNCTION request_events_append_only()"
        )
    else:
        op.execute(
            "CREATE TRIGGER request_events_no_update BEFORE UPDATE ON request_events BEGIN "
            "SELECT RAISE(ABORT, 'request events are append-only: an event cannot be changed'); "
            "END"
        )
        op.execute(
            "CREATE TRIGGER request_events_no_delete BEFORE DELETE ON request_events "
            "WHEN EXISTS (SELECT 1 FROM requests WHERE id = OLD.request_id) BEGIN "
            "SELECT RAISE(ABORT, "
            "'request events are append-only: delete the request to delete its log'); "
            "END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER request_events_append_only ON request_events")
        op.execute("DROP FUNCTION request_events_append_only()")
    else:
        op.execute("DROP TRIGGER request_events_no_update")
        op.execute("DROP TRIGGER request_events_no_delete")
    for table in TABLES:
        op.drop_table(table)
