"""The live call path: SIP accounts, per-queue recording, call-layer outcomes.

- `sip_credentials`: the digest HA1 values (MD5 and SHA-256) of each agent's SIP account, never the
  password;
- `queues.record`: whether a queue's calls are recorded (existing queues: no);
- `contacts`: the outcomes the call layer sets when the router never held a contact
  (`ivr_abandoned`, `ivr_finished`, `rejected`) and the `consult` direction of a warm transfer's
  consultation join the CHECK constraints.

Widening a CHECK constraint on SQLite: SQLite cannot alter a constraint, and Alembic's batch mode
would copy the table and DROP the old one. With foreign keys on (always, see `hotline.db.engine`)
that DROP deletes every contact first and cascades to the event logs, and foreign keys cannot be
turned off inside the transaction every upgrade runs in. So the constraint text is rewritten in
`sqlite_schema` instead, the procedure SQLite documents for changing constraints that do not change
the stored format (https://sqlite.org/lang_altertable.html, "making other kinds of table schema
changes"): every existing row satisfies a widened constraint, so nothing is rewritten or lost.
PostgreSQL drops and re-adds the constraint.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_OUTCOMES = (
    "handled",
    "abandoned",
    "closed",
    "message",
    "transferred",
    "callback_failed",
    "cancelled",
)
NEW_OUTCOMES = (*OLD_OUTCOMES, "ivr_abandoned", "ivr_finished", "rejected")
OLD_DIRECTIONS = ("inbound", "outbound", "callback")
NEW_DIRECTIONS = (*OLD_DIRECTIONS, "consult")

# What the new values become on a downgrade, so that the narrower constraints hold again.
DOWNGRADE_OUTCOMES = {
    "ivr_abandoned": "abandoned",
    "ivr_finished": "closed",
    "rejected": "cancelled",
}


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _outcome_check(values: Sequence[str]) -> str:
    return f"outcome IS NULL OR {_in('outcome', values)}"


def upgrade() -> None:
    op.create_table(
        "sip_credentials",
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("realm", sa.String(200), nullable=False),
        sa.Column("ha1_md5", sa.String(32), nullable=False),
        sa.Column("ha1_sha256", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_sip_credentials_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_sip_credentials")),
    )
    op.add_column(
        "queues",
        sa.Column("record", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    _contact_checks(
        (_outcome_check(OLD_OUTCOMES), _outcome_check(NEW_OUTCOMES)),
        (_in("direction", OLD_DIRECTIONS), _in("direction", NEW_DIRECTIONS)),
    )


def downgrade() -> None:
    for new, old in DOWNGRADE_OUTCOMES.items():
        op.execute(sa.text(f"UPDATE contacts SET outcome = '{old}' WHERE outcome = '{new}'"))
    op.execute(sa.text("UPDATE contacts SET direction = 'outbound' WHERE direction = 'consult'"))
    _contact_checks(
        (_outcome_check(NEW_OUTCOMES), _outcome_check(OLD_OUTCOMES)),
        (_in("direction", NEW_DIRECTIONS), _in("direction", OLD_DIRECTIONS)),
    )
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("queues", recreate="never") as batch:
            batch.drop_column("record")
    else:
        op.drop_column("queues", "record")
    op.drop_table("sip_credentials")


def _contact_checks(outcome: tuple[str, str], direction: tuple[str, str]) -> None:
    """Replace the `outcome` and `direction` CHECK constraints of `contacts`: (old, new) SQL."""
    changes = {"ck_contacts_outcome": outcome, "ck_contacts_direction": direction}
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for name, (_, new) in changes.items():
            op.drop_constraint(op.f(name), "contacts", type_="check")
            op.create_check_constraint(op.f(name), "contacts", new)
        return
    sql = bind.execute(
        sa.text("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'contacts'")
    ).scalar_one()
    for name, (old, new) in changes.items():
        before = f"CONSTRAINT {name} CHECK ({old})"
        if before not in sql:
            raise RuntimeError(f"contacts: constraint {name} is not the expected {old!r}")
        sql = sql.replace(before, f"CONSTRAINT {name} CHECK ({new})")
    version = bind.execute(sa.text("PRAGMA schema_version")).scalar_one()
    bind.execute(sa.text("PRAGMA writable_schema = ON"))
    try:
        bind.execute(
            sa.text(
                "UPDATE sqlite_schema SET sql = :sql WHERE type = 'table' AND name = 'contacts'"
            ),
            {"sql": sql},
        )
        # A new schema version makes every connection re-read the schema before its next statement.
        bind.execute(sa.text(f"PRAGMA schema_version = {int(version) + 1}"))
    finally:
        bind.execute(sa.text("PRAGMA writable_schema = OFF"))
    problem = bind.execute(sa.text("PRAGMA quick_check")).scalar_one()
    if problem != "ok":
        raise RuntimeError(f"contacts: the schema check failed after the change: {problem}")
