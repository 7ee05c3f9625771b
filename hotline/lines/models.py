"""The lines table. A line is a number callers dial. A departmental line belongs to another agency
(`department`), whose specialists answer it.

A line's IVR flow is not kept here: flows are versioned per line in `hotline.ivr.models`
(`IvrFlowVersion.line_id`, with no foreign key, so a flow's history outlives
`hotline init --force`), and the current version is the one new calls run. The `ivr_flow_id`
column is unused: nothing reads or writes it; it stays in the schema until a migration drops it."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hotline.db.base import KEY_LENGTH, Base, Timestamped, check_in, key_column

LINE_KINDS = ("public", "department")


class Line(Timestamped, Base):
    __tablename__ = "lines"
    __table_args__ = (CheckConstraint(check_in("kind", LINE_KINDS), name="kind"),)

    id: Mapped[str] = key_column()
    name: Mapped[str] = mapped_column(String(200))
    number: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="public")
    department: Mapped[str | None] = mapped_column(String(KEY_LENGTH))
    queue_id: Mapped[str | None] = mapped_column(
        ForeignKey("queues.id", ondelete="RESTRICT"), index=True
    )
    calendar_id: Mapped[str | None] = mapped_column(
        ForeignKey("calendars.id", ondelete="RESTRICT"), index=True
    )
    closed_message: Mapped[str | None] = mapped_column(Text)
    ivr_flow_id: Mapped[str | None] = mapped_column(String(KEY_LENGTH))
