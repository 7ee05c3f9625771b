"""Requests' way back to the caller, departments, and the indexes reports and histories need.

- `outbox_messages`: messages to callers (a request's status), written in the transaction of the
  change and delivered afterwards by the configured adapter (SMS gateway or the demo's outbox);
- `requests.department`: the department a request belongs to (department specialists see their
  own department's only);
- indexes: a caller's history newest first (`requests (phone_key, created_at)`,
  `contacts (caller_number, arrived_at)`), a department's requests by day, and a period of every
  agent's state history (`agent_state_history (at)`) and one kind of contact event over a period
  (`contact_events (type, at)`) for reports.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-14
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUS_CHECK = "status IN ('pending', 'sending', 'sent', 'kept', 'failed')"


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "outbox_messages",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("request_id", sa.String(32), nullable=True),
        sa.Column("topic", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("to_number", sa.String(64), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("adapter", sa.String(64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        _timestamp("created_at"),
        _timestamp("claimed_at", nullable=True),
        _timestamp("sent_at", nullable=True),
        sa.CheckConstraint(STATUS_CHECK, name=op.f("ck_outbox_messages_status")),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_outbox_messages_attempts")),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["requests.id"],
            name=op.f("fk_outbox_messages_request_id_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_messages")),
    )
    op.create_index(op.f("ix_outbox_messages_request_id"), "outbox_messages", ["request_id"])
    op.create_index(op.f("ix_outbox_messages_created_at"), "outbox_messages", ["created_at"])
    op.create_index(
        "ix_outbox_messages_status_created", "outbox_messages", ["status", "created_at"]
    )

    op.add_column("requests", sa.Column("department", sa.String(64), nullable=True))
    op.create_index("ix_requests_department_created", "requests", ["department", "created_at"])
    op.create_index("ix_requests_phone_key_created", "requests", ["phone_key", "created_at"])
    op.create_index(
        "ix_contacts_caller_number_arrived_at", "contacts", ["caller_number", "arrived_at"]
    )
    op.create_index("ix_agent_state_history_at", "agent_state_history", ["at"])
    op.create_index("ix_contact_events_type_at", "contact_events", ["type", "at"])


def downgrade() -> None:
    op.drop_index("ix_contact_events_type_at", table_name="contact_events")
    op.drop_index("ix_agent_state_history_at", table_name="agent_state_history")
    op.drop_index("ix_contacts_caller_number_arrived_at", table_name="contacts")
    op.drop_index("ix_requests_phone_key_created", table_name="requests")
    op.drop_index("ix_requests_department_created", table_name="requests")
    op.drop_column("requests", "department")
    op.drop_table("outbox_messages")
