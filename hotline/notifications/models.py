"""`outbox_messages`: every message to a caller, written in the transaction of the change it
reports (so none is lost and none is sent for a change that was rolled back), then delivered by
the configured adapter. The row is also what `GET /api/v1/outbox` shows.

The number is personal data: it lives here, in the row, and is never logged nor shown in full."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hotline.core.ids import new_id
from hotline.db.base import ID_LENGTH, KEY_LENGTH, Base, UTCDateTime, check_in, utcnow

STATUSES = ("pending", "sending", "sent", "kept", "failed")
"""pending: to deliver; sending: an adapter has it now; sent: the gateway took it; kept: the
outbox adapter keeps it for the page (nothing leaves); failed: the gateway refused it for good."""


class OutboxMessage(Base):
    """A message to a caller, and how its delivery went."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        CheckConstraint(check_in("status", STATUSES), name="status"),
        CheckConstraint("attempts >= 0", name="attempts"),
        Index("ix_outbox_messages_status_created", "status", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=new_id)
    request_id: Mapped[str | None] = mapped_column(
        ForeignKey("requests.id", ondelete="CASCADE"), index=True
    )
    # What it reports: a request's new state (`accepted`, `done`, `failed`).
    topic: Mapped[str] = mapped_column(String(KEY_LENGTH))
    channel: Mapped[str] = mapped_column(String(16), default="sms")
    to_number: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(2))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    adapter: Mapped[str | None] = mapped_column(String(KEY_LENGTH))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
