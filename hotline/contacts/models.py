"""Contacts, their event logs and the wrap-up codes that close them.

A contact's events are the record of truth for what happened to it: rows in `contact_events`,
numbered 1, 2, 3... per contact (`seq`), never changed afterwards. The database enforces that:
triggers (created by the migrations) refuse any UPDATE of an event and any DELETE while its contact
still exists, so a log only disappears together with its contact."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from hotline.core.ids import new_id
from hotline.db.base import (
    ID_LENGTH,
    KEY_LENGTH,
    Base,
    JSONType,
    Timestamped,
    UTCDateTime,
    check_in,
    key_column,
    utcnow,
)
from hotline.routing.types import ContactState, Outcome

# A consultation is the internal call an agent makes to a colleague during a warm transfer: a
# contact of its own (the colleague's time is routed and counted), linked to the caller's.
DIRECTIONS = ("inbound", "outbound", "callback", "consult")


class CallOutcome(StrEnum):
    """How a contact ended when the router never held it: set by the call layer
    (`hotline.calls`), never by the routing engine, whose endings are `Outcome`."""

    IVR_ABANDONED = "ivr_abandoned"  # the caller hung up in the IVR, before reaching a queue
    IVR_FINISHED = "ivr_finished"  # the IVR ended the call itself (a hang-up step's message)
    REJECTED = "rejected"  # refused before it was answered (unknown number, no common codec)


CONTACT_OUTCOMES: tuple[str, ...] = (*(o.value for o in Outcome), *(o.value for o in CallOutcome))
"""Every outcome a contact row may hold."""


class WrapUpCode(Timestamped, Base):
    """A disposition an agent picks in wrap-up ("consultation given", "request created"...)."""

    __tablename__ = "wrap_up_codes"

    id: Mapped[str] = key_column()
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)


class Contact(Base):
    """One interaction with a caller, from arrival to its end."""

    __tablename__ = "contacts"
    __table_args__ = (
        CheckConstraint(check_in("direction", DIRECTIONS), name="direction"),
        CheckConstraint(check_in("state", ContactState), name="state"),
        CheckConstraint(
            f"outcome IS NULL OR {check_in('outcome', CONTACT_OUTCOMES)}", name="outcome"
        ),
        CheckConstraint("last_seq >= 0", name="last_seq"),
        # A caller's history by number, newest first (migration 0006).
        Index("ix_contacts_caller_number_arrived_at", "caller_number", "arrived_at"),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=new_id)
    correlation_id: Mapped[str] = mapped_column(String(64), index=True)
    direction: Mapped[str] = mapped_column(String(16), default="inbound")
    channel: Mapped[str] = mapped_column(String(16), default="voice")
    caller_number: Mapped[str | None] = mapped_column(String(64), index=True)
    line_id: Mapped[str | None] = mapped_column(
        ForeignKey("lines.id", ondelete="SET NULL"), index=True
    )
    queue_id: Mapped[str | None] = mapped_column(
        ForeignKey("queues.id", ondelete="SET NULL"), index=True
    )
    agent_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    state: Mapped[str] = mapped_column(String(16), default=ContactState.WAITING.value)
    outcome: Mapped[str | None] = mapped_column(String(32))
    wrap_up_code_id: Mapped[str | None] = mapped_column(
        String(KEY_LENGTH), ForeignKey("wrap_up_codes.id", ondelete="SET NULL")
    )
    wrap_up_note: Mapped[str | None] = mapped_column(Text)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    arrived_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The `seq` of the newest event: appending increments it first, which serialises concurrent
    # appends to one contact (a row lock on PostgreSQL, the write lock on SQLite).
    last_seq: Mapped[int] = mapped_column(Integer, default=0)


class ContactEvent(Base):
    """One entry of a contact's log: the event's envelope in columns, its fields in `payload`."""

    __tablename__ = "contact_events"
    __table_args__ = (
        UniqueConstraint("contact_id", "seq"),
        CheckConstraint("seq > 0", name="seq"),
        # Reports read one kind of event over a period (`contact.ended` of a day: migration 0006).
        Index("ix_contact_events_type_at", "type", "at"),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(100), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    correlation_id: Mapped[str | None] = mapped_column(String(64), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
