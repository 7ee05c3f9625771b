"""`audit_log`: one row per audited read or change, written in the transaction of the change (or
right after the read). Rows outlive their actor: the user id is cleared when a user is deleted,
the username stays. Details never hold phone numbers or other personal data themselves."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from hotline.auth.models import ADDRESS_LENGTH
from hotline.db.base import KEY_LENGTH, Base, BigIntKey, JSONType, UTCDateTime

OBJECT_ID_LENGTH = 128


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_object", "object_type", "object_id", "id"),
        Index("ix_audit_log_actor", "actor_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_username: Mapped[str | None] = mapped_column(String(KEY_LENGTH))
    action: Mapped[str] = mapped_column(String(KEY_LENGTH), index=True)
    object_type: Mapped[str] = mapped_column(String(KEY_LENGTH))
    object_id: Mapped[str | None] = mapped_column(String(OBJECT_ID_LENGTH))
    ip: Mapped[str | None] = mapped_column(String(ADDRESS_LENGTH))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
