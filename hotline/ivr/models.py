"""The versioned IVR flows of each line (`hotline.db.versions`): one row per published version,
never changed afterwards except for which one is current. At most one version per line is current
(a partial unique index on both databases).

`line_id` is the line's id without a foreign key on purpose: replacing a hotline configuration
deletes and re-creates its lines (`hotline init --force`), and the flows' history must survive
that. The service checks that the line exists when it publishes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import CheckConstraint, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from hotline.core.ids import new_id
from hotline.db.base import ID_LENGTH, KEY_LENGTH, Base, JSONType
from hotline.db.versions import Versioned


class IvrFlowVersion(Versioned, Base):
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
    name: Mapped[str] = mapped_column(String(200))
    # The YAML as its author wrote it (comments included), and the validated flow as JSON: the
    # interpreter is built from `definition`, so a stored version never needs YAML parsing.
    source: Mapped[str] = mapped_column(Text)
    definition: Mapped[dict[str, Any]] = mapped_column(JSONType)
