"""Agent scripts and forms, versioned (`hotline.db.versions`), and what each contact's agents gave
to them: script answers and form data.

A script or form version names the topics and queues it serves and its language; the current
version of each id is live. Keys are plain ids without foreign keys, as for IVR flows: the history
outlives a configuration replaced by `hotline init --force`.

A contact keeps the version it started on (`script_version`, `form_version`), so a publish during
a call does not pull the form from under the agent. `contact_forms.version` counts saves: a save
names the version it was edited from and is refused if another save came first (optimistic
concurrency: two browsers, or an agent and the colleague a call was transferred to)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from hotline.core.ids import new_id
from hotline.db.base import ID_LENGTH, KEY_LENGTH, Base, JSONType, UTCDateTime, check_in
from hotline.db.versions import Versioned

FORM_STATUSES = ("draft", "submitted")


def _versioned_table_args(table: str, key: str) -> tuple[Any, ...]:
    return (
        UniqueConstraint(key, "version"),
        CheckConstraint("version > 0", name="version"),
        CheckConstraint(check_in("language", ("ru", "en")), name="language"),
        Index(
            f"uq_{table}_current_{key}",
            key,
            unique=True,
            sqlite_where=text("is_current"),
            postgresql_where=text("is_current"),
        ),
    )


class _Published(Versioned):
    """What script and form versions share besides their content."""

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(8))
    # The contact attribute `topic` values and the queue ids this version serves.
    topics: Mapped[list[str]] = mapped_column(JSONType, default=list)
    queues: Mapped[list[str]] = mapped_column(JSONType, default=list)


class ScriptVersion(_Published, Base):
    __tablename__ = "script_versions"
    __table_args__ = _versioned_table_args("script_versions", "script_id")

    script_id: Mapped[str] = mapped_column(String(KEY_LENGTH), index=True)
    # `hotline.scripts.schemas.ScriptBody` as JSON: start and steps.
    definition: Mapped[dict[str, Any]] = mapped_column(JSONType)


class FormVersion(_Published, Base):
    __tablename__ = "form_versions"
    __table_args__ = _versioned_table_args("form_versions", "form_id")

    form_id: Mapped[str] = mapped_column(String(KEY_LENGTH), index=True)
    json_schema: Mapped[dict[str, Any]] = mapped_column(JSONType)
    ui_schema: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class ContactScript(Base):
    """A contact's answers to one script, by step id, saved as they are given."""

    __tablename__ = "contact_scripts"

    contact_id: Mapped[str] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    script_id: Mapped[str] = mapped_column(String(KEY_LENGTH), primary_key=True)
    script_version: Mapped[int] = mapped_column(Integer)
    answers: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(KEY_LENGTH))


class ContactForm(Base):
    """A contact's data in one form: a draft while the agent types, then submitted."""

    __tablename__ = "contact_forms"
    __table_args__ = (
        CheckConstraint(check_in("status", FORM_STATUSES), name="status"),
        CheckConstraint("version > 0", name="version"),
    )

    contact_id: Mapped[str] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    form_id: Mapped[str] = mapped_column(String(KEY_LENGTH), primary_key=True)
    form_version: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(KEY_LENGTH))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submitted_by: Mapped[str | None] = mapped_column(String(KEY_LENGTH))
