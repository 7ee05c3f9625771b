"""`config_versions`: every publish of the live configuration (queues, skills, business hours,
wrap-up codes, agents' skill levels) through the administration pages, never changed afterwards.

The live configuration itself is the configuration tables (`hotline.routing.models`,
`hotline.calendars.models`...): they are what the router and the call path read. A version row
keeps the YAML as its author wrote it (comments included), so a diff and a rollback have text to
work on, and the digest of the configuration as exported right after the publish, so a change
made elsewhere since (a supervisor's skill change, `hotline init --force`) can be told apart."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hotline.db.base import Base, UTCDateTime, utcnow

DIGEST_LENGTH = 64


class ConfigVersion(Base):
    __tablename__ = "config_versions"
    __table_args__ = (CheckConstraint("version > 0", name="version"),)

    # The number is the key: two publishes that slipped past the lock cannot both take it.
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    source: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(DIGEST_LENGTH))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_by: Mapped[str] = mapped_column(String(200))
    based_on: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
