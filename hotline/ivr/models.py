"""The versioned IVR flows of each line: one row per published version, never changed afterwards
except for which one is current.

Publishing adds version N+1 and makes it current; rolling back adds a new version too, a copy of
the older one (`based_on`), so the table is the audit trail of who put which flow live and when.
At most one version per line is current (a partial unique index on both databases).

`line_id` is the line's id without a foreign key on purpose: replacing a hotline configuration
deletes and re-creates its lines (`hotline init --force`), and the flows' history must survive
that. The service checks that the line exists when it publishes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from hotline.core.ids import new_id
from hotline.db.base import ID_LENGTH, KEY_LENGTH, Base, JSONType, UTCDateTime, utcnow


class IvrFlowVersion(Base):
    __tablename__ = "ivr_flow_versions"
    __table_args__ = (
        UniqueConstraint("line_id", "version"),
        CheckConstraint("version > 0", name="version"),
        Index(
            "uq_ivr_flow_versions_current_line",
            "line_id",
            unique=True,
            sqlite_where=text("is_current"),
            postgresql_where=text("is_current"),
        ),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=new_id)
    line_id: Mapped[str] = mapped_column(String(KEY_LENGTH), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    # The YAML as its author wrote it (comments included), and the validated flow as JSON: the
    # interpreter is built from `definition`, so a stored version never needs YAML parsing.
    source: Mapped[str] = mapped_column(Text)
    definition: Mapped[dict[str, Any]] = mapped_column(JSONType)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_by: Mapped[str] = mapped_column(String(200))
    based_on: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    is_current: Mapped[bool] = mapped_column(Boolean, default=False)
