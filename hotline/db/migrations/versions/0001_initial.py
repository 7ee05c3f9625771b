"""Initial schema.

Lines, calendars, skills, queues, users and roles, agent skills and state history, wrap-up codes,
contacts and their append-only event logs.

Written from Alembic's autogenerate output, then reviewed: plain column types instead of the
models' Python-side decorators (so this file never changes when the models do), the roles seeded,
and the triggers that make contact events append-only on both databases.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLES = [
    ("agent", "Agent"),
    ("supervisor", "Supervisor"),
    ("admin", "Administrator"),
    ("field_worker", "Field worker"),
    ("department_specialist", "Department specialist"),
]


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _json(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False)


def _key(name: str = "id") -> sa.Column[object]:
    return sa.Column(name, sa.String(64), nullable=False)


def _serial(name: str = "id", *, big: bool = False) -> sa.Column[object]:
    type_: sa.types.TypeEngine[int] = sa.Integer()
    if big:
        type_ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    return sa.Column(name, type_, autoincrement=True, nullable=False)


def _check(sql: str, table: str, name: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(sql, name=op.f(f"ck_{table}_{name}"))


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    referred = target.split(".")[0]
    return sa.ForeignKeyConstraint(
        [column], [target], name=op.f(f"fk_{table}_{column}_{referred}"), ondelete=ondelete
    )


def _index(table: str, *columns: str, name: str | None = None) -> None:
    op.create_index(name or op.f(f"ix_{table}_{columns[0]}"), table, list(columns))


def upgrade() -> None:
    op.create_table(
        "calendars",
        _key(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendars")),
    )
    op.create_table(
        "calendar_hours",
        _serial(),
        _key("calendar_id"),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("opens", sa.Integer(), nullable=False),
        sa.Column("closes", sa.Integer(), nullable=False),
        _check("weekday BETWEEN 0 AND 6", "calendar_hours", "weekday"),
        _check("opens >= 0 AND opens < closes AND closes <= 1440", "calendar_hours", "range"),
        _fk("calendar_hours", "calendar_id", "calendars.id", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_hours")),
        sa.UniqueConstraint(
            "calendar_id",
            "weekday",
            "opens",
            name=op.f("uq_calendar_hours_calendar_id_weekday_opens"),
        ),
    )
    op.create_table(
        "calendar_holidays",
        _serial(),
        _key("calendar_id"),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        _check("month BETWEEN 1 AND 12", "calendar_holidays", "month"),
        _check("day BETWEEN 1 AND 31", "calendar_holidays", "day"),
        _fk("calendar_holidays", "calendar_id", "calendars.id", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_holidays")),
        sa.UniqueConstraint(
            "calendar_id",
            "year",
            "month",
            "day",
            name=op.f("uq_calendar_holidays_calendar_id_year_month_day"),
        ),
    )

    op.create_table(
        "skills",
        _key(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        _check("kind IN ('topic', 'language', 'other')", "skills", "kind"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_skills")),
    )
    op.create_table(
        "queues",
        _key(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("strategy", sa.String(32), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("wrap_up_seconds", sa.Float(), nullable=False),
        sa.Column("offer_timeout_seconds", sa.Float(), nullable=False),
        sa.Column("sl_target_seconds", sa.Float(), nullable=False),
        sa.Column("calendar_id", sa.String(64), nullable=True),
        sa.Column("closed_message", sa.Text(), nullable=True),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        _check(
            "strategy IN ('longest_idle', 'least_occupied', 'round_robin', 'best_skill')",
            "queues",
            "strategy",
        ),
        _check("wrap_up_seconds >= 0", "queues", "wrap_up_seconds"),
        _check("offer_timeout_seconds > 0", "queues", "offer_timeout_seconds"),
        _check("sl_target_seconds > 0", "queues", "sl_target_seconds"),
        _fk("queues", "calendar_id", "calendars.id", "RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queues")),
    )
    _index("queues", "calendar_id")
    op.create_table(
        "queue_skills",
        _key("queue_id"),
        _key("skill_id"),
        sa.Column("min_level", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        _check("min_level BETWEEN 1 AND 10", "queue_skills", "min_level"),
        _fk("queue_skills", "queue_id", "queues.id", "CASCADE"),
        _fk("queue_skills", "skill_id", "skills.id", "RESTRICT"),
        sa.PrimaryKeyConstraint("queue_id", "skill_id", name=op.f("pk_queue_skills")),
    )
    _index("queue_skills", "skill_id")
    op.create_table(
        "queue_overflow_rules",
        _serial(),
        _key("queue_id"),
        sa.Column("after_seconds", sa.Float(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("target_queue_id", sa.String(64), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        _json("skills"),
        _check(
            "action IN ('widen', 'move', 'callback', 'message')", "queue_overflow_rules", "action"
        ),
        _check("after_seconds >= 0", "queue_overflow_rules", "after_seconds"),
        _fk("queue_overflow_rules", "queue_id", "queues.id", "CASCADE"),
        _fk("queue_overflow_rules", "target_queue_id", "queues.id", "RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queue_overflow_rules")),
        sa.UniqueConstraint(
            "queue_id",
            "after_seconds",
            name=op.f("uq_queue_overflow_rules_queue_id_after_seconds"),
        ),
    )
    _index("queue_overflow_rules", "target_queue_id")

    op.create_table(
        "lines",
        _key(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("department", sa.String(64), nullable=True),
        sa.Column("queue_id", sa.String(64), nullable=True),
        sa.Column("calendar_id", sa.String(64), nullable=True),
        sa.Column("closed_message", sa.Text(), nullable=True),
        sa.Column("ivr_flow_id", sa.String(64), nullable=True),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        _check("kind IN ('public', 'department')", "lines", "kind"),
        _fk("lines", "queue_id", "queues.id", "RESTRICT"),
        _fk("lines", "calendar_id", "calendars.id", "RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lines")),
        sa.UniqueConstraint("number", name=op.f("uq_lines_number")),
    )
    _index("lines", "calendar_id")
    _index("lines", "queue_id")

    op.create_table(
        "roles",
        _key(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roles")),
    )
    roles = sa.table("roles", sa.column("id", sa.String()), sa.column("name", sa.String()))
    op.bulk_insert(roles, [{"id": key, "name": name} for key, name in ROLES])
    op.create_table(
        "users",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=True),
        sa.Column("department", sa.String(64), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "user_roles",
        sa.Column("user_id", sa.String(32), nullable=False),
        _key("role_id"),
        _fk("user_roles", "user_id", "users.id", "CASCADE"),
        _fk("user_roles", "role_id", "roles.id", "RESTRICT"),
        sa.PrimaryKeyConstraint("user_id", "role_id", name=op.f("pk_user_roles")),
    )
    op.create_table(
        "agent_skills",
        sa.Column("user_id", sa.String(32), nullable=False),
        _key("skill_id"),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("preference", sa.Integer(), nullable=False),
        _check("level BETWEEN 1 AND 10", "agent_skills", "level"),
        _check("preference >= 0", "agent_skills", "preference"),
        _fk("agent_skills", "user_id", "users.id", "CASCADE"),
        _fk("agent_skills", "skill_id", "skills.id", "RESTRICT"),
        sa.PrimaryKeyConstraint("user_id", "skill_id", name=op.f("pk_agent_skills")),
    )
    _index("agent_skills", "skill_id")

    op.create_table(
        "wrap_up_codes",
        _key(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wrap_up_codes")),
    )
    op.create_table(
        "contacts",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("correlation_id", sa.String(64), nullable=False),
        sa.Column("direction", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("caller_number", sa.String(64), nullable=True),
        sa.Column("line_id", sa.String(64), nullable=True),
        sa.Column("queue_id", sa.String(64), nullable=True),
        sa.Column("agent_id", sa.String(32), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=True),
        sa.Column("wrap_up_code_id", sa.String(64), nullable=True),
        sa.Column("wrap_up_note", sa.Text(), nullable=True),
        _json("attributes"),
        _timestamp("arrived_at"),
        _timestamp("answered_at", nullable=True),
        _timestamp("ended_at", nullable=True),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        _check("direction IN ('inbound', 'outbound', 'callback')", "contacts", "direction"),
        _check("state IN ('waiting', 'offered', 'connected', 'ended')", "contacts", "state"),
        _check(
            "outcome IS NULL OR outcome IN ('handled', 'abandoned', 'closed', 'message', "
            "'transferred', 'callback_failed', 'cancelled')",
            "contacts",
            "outcome",
        ),
        _check("last_seq >= 0", "contacts", "last_seq"),
        _fk("contacts", "line_id", "lines.id", "SET NULL"),
        _fk("contacts", "queue_id", "queues.id", "SET NULL"),
        _fk("contacts", "agent_id", "users.id", "SET NULL"),
        _fk("contacts", "wrap_up_code_id", "wrap_up_codes.id", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
    )
    for column in ("agent_id", "arrived_at", "caller_number", "correlation_id", "line_id"):
        _index("contacts", column)
    _index("contacts", "queue_id")
    op.create_table(
        "contact_events",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("contact_id", sa.String(32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(100), nullable=False),
        _timestamp("at"),
        sa.Column("correlation_id", sa.String(64), nullable=True),
        _json("payload"),
        _check("seq > 0", "contact_events", "seq"),
        _fk("contact_events", "contact_id", "contacts.id", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_events")),
        sa.UniqueConstraint("contact_id", "seq", name=op.f("uq_contact_events_contact_id_seq")),
    )
    _index("contact_events", "correlation_id")
    _index("contact_events", "type")
    _create_event_log_guards()

    op.create_table(
        "agent_state_history",
        _serial(big=True),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("contact_id", sa.String(32), nullable=True),
        _timestamp("at"),
        _check(
            "state IN ('offline', 'ready', 'not_ready', 'reserved', 'busy', 'wrap_up')",
            "agent_state_history",
            "state",
        ),
        _fk("agent_state_history", "user_id", "users.id", "CASCADE"),
        _fk("agent_state_history", "contact_id", "contacts.id", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_state_history")),
    )
    _index("agent_state_history", "contact_id")
    _index("agent_state_history", "user_id", "at", name="ix_agent_state_history_user_at")


def _create_event_log_guards() -> None:
    """Events are never changed, and leave only with their contact (ON DELETE CASCADE)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION contact_events_append_only() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'UPDATE' THEN
                    RAISE EXCEPTION 'contact events are append-only: an event cannot be changed';
                END IF;
                IF EXISTS (SELECT 1 FROM contacts WHERE id = OLD.contact_id) THEN
                    RAISE EXCEPTION
                        'contact events are append-only: delete the contact to delete its log';
                END IF;
                RETURN OLD;
            END
            $$
            """
        )
        op.execute(
            "CREATE TRIGGER contact_events_append_only BEFORE UPDATE OR DELETE ON contact_events "
            "FOR EACH ROW EXECUTE FUNCTION contact_events_append_only()"
        )
    else:
        op.execute(
            "CREATE TRIGGER contact_events_no_update BEFORE UPDATE ON contact_events BEGIN "
            "SELECT RAISE(ABORT, 'contact events are append-only: an event cannot be changed'); "
            "END"
        )
        op.execute(
            "CREATE TRIGGER contact_events_no_delete BEFORE DELETE ON contact_events "
            "WHEN EXISTS (SELECT 1 FROM contacts WHERE id = OLD.contact_id) BEGIN "
            "SELECT RAISE(ABORT, "
            "'contact events are append-only: delete the contact to delete its log'); "
            "END"
        )


def _drop_event_log_guards() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER contact_events_append_only ON contact_events")
        op.execute("DROP FUNCTION contact_events_append_only()")
    else:
        op.execute("DROP TRIGGER contact_events_no_update")
        op.execute("DROP TRIGGER contact_events_no_delete")


def downgrade() -> None:
    _drop_event_log_guards()
    for table in (
        "agent_state_history",
        "contact_events",
        "contacts",
        "wrap_up_codes",
        "agent_skills",
        "user_roles",
        "users",
        "roles",
        "lines",
        "queue_overflow_rules",
        "queue_skills",
        "queues",
        "skills",
        "calendar_holidays",
        "calendar_hours",
        "calendars",
    ):
        op.drop_table(table)
