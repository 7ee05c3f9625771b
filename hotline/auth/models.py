"""Browser sessions. The cookie holds a random 256-bit token; only its SHA-256 is stored, so a copy
of the database (or a backup) signs nobody in. A session ends at sign-out, at a password change
(for the user's other sessions), or when unused for `web_session_idle_minutes`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from hotline.db.base import Base, UTCDateTime

TOKEN_HASH_LENGTH = 64
"""Hex digits of a SHA-256."""
ADDRESS_LENGTH = 45
"""The longest text form of an IP address (IPv6 with an embedded IPv4)."""
USER_AGENT_LENGTH = 300


class WebSession(Base):
    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(TOKEN_HASH_LENGTH), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Touched at most once a minute, so idle expiry is exact to the minute.
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    ip: Mapped[str | None] = mapped_column(String(ADDRESS_LENGTH))
    user_agent: Mapped[str | None] = mapped_column(String(USER_AGENT_LENGTH))
