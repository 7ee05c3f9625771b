"""Request categories (configuration), requests, and each request's append-only event log.

A request's events are its audit trail: rows in `request_events`, numbered 1, 2, 3... per request
(`seq`), each saying who did what and why. As for contacts' logs, triggers created by the
migration refuse any UPDATE of an event and any DELETE while its request still exists. Events name
their actor by id and username without a foreign key, so deleting a user changes no event.

Personal data (the caller's number, name and address) lives in the request row only, never in
events, which go to browsers and reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

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
from hotline.requests.lifecycle import Priority, RequestState

NAME_LENGTH = 200
SOURCES = ("agent", "specialist", "api")
"""Who created a request: an agent from a call's form, a department specialist, or an API client."""


class RequestCategory(Timestamped, Base):
    """What a caller may ask for: its form (JSON Schema), SLA and who fulfils it."""

    __tablename__ = "request_categories"
    __table_args__ = (
        CheckConstraint("sla_hours > 0", name="sla_hours"),
        CheckConstraint("accept_minutes > 0", name="accept_minutes"),
    )

    id: Mapped[str] = key_column()
    name_en: Mapped[str] = mapped_column(String(NAME_LENGTH))
    name_ru: Mapped[str] = mapped_column(String(NAME_LENGTH))
    sla_hours: Mapped[float] = mapped_column(Float)
    accept_minutes: Mapped[float] = mapped_column(Float, default=30.0)
    information_only: Mapped[bool] = mapped_column(Boolean, default=False)
    form: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    position: Mapped[int] = mapped_column(Integer, default=0)

    kinds: Mapped[list[RequestCategoryKind]] = relationship(
        cascade="all, delete-orphan",
        order_by="RequestCategoryKind.position",
        lazy="selectin",
    )

    @property
    def kind_ids(self) -> list[str]:
        return [k.kind_id for k in self.kinds]


class RequestCategoryKind(Base):
    """A kind of field worker who may fulfil a category."""

    __tablename__ = "request_category_kinds"

    category_id: Mapped[str] = mapped_column(
        ForeignKey("request_categories.id", ondelete="CASCADE"), primary_key=True
    )
    kind_id: Mapped[str] = mapped_column(
        String(KEY_LENGTH),
        ForeignKey("field_worker_kinds.id", ondelete="RESTRICT"),
        primary_key=True,
        index=True,
    )
    position: Mapped[int] = mapped_column(Integer, default=0)


class Request(Timestamped, Base):
    """A service request: who needs what, where, by when, and where it is in its lifecycle."""

    __tablename__ = "requests"
    __table_args__ = (
        CheckConstraint(check_in("state", RequestState), name="state"),
        CheckConstraint(check_in("source", SOURCES), name="source"),
        CheckConstraint(
            f"priority BETWEEN {min(Priority):d} AND {max(Priority):d}", name="priority"
        ),
        CheckConstraint("caller_age IS NULL OR caller_age BETWEEN 0 AND 150", name="caller_age"),
        CheckConstraint("last_seq >= 0", name="last_seq"),
        # Duplicate detection and a caller's history: same person or same door, per category.
        Index("ix_requests_phone_key_category", "phone_key", "category_id"),
        Index("ix_requests_address_key_category", "address_key", "category_id"),
        # A field worker's tasks; the timers (acceptance, SLA) scan open requests by time.
        Index("ix_requests_worker_state", "worker_id", "state"),
        Index("ix_requests_state_accept_by", "state", "accept_by"),
        Index("ix_requests_state_sla_deadline", "state", "sla_deadline"),
        # A caller's history newest first; a department's requests; reports by day (0006).
        Index("ix_requests_phone_key_created", "phone_key", "created_at"),
        Index("ix_requests_department_created", "department", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=new_id)
    category_id: Mapped[str] = mapped_column(
        String(KEY_LENGTH), ForeignKey("request_categories.id", ondelete="RESTRICT"), index=True
    )
    state: Mapped[str] = mapped_column(String(16), default=RequestState.NEW.value)
    priority: Mapped[int] = mapped_column(Integer, default=int(Priority.NORMAL))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(16), default="agent")
    contact_id: Mapped[str | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    created_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The department it belongs to (its specialist's, or the department line it was called in
    # on): department specialists see their department's requests only.
    department: Mapped[str | None] = mapped_column(String(KEY_LENGTH))

    # The caller (personal data: never logged, never in events).
    caller_number: Mapped[str | None] = mapped_column(String(64))
    caller_name: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    caller_age: Mapped[int | None] = mapped_column(Integer)
    disability: Mapped[bool] = mapped_column(Boolean, default=False)
    phone_key: Mapped[str | None] = mapped_column(String(32))

    # Where to go (personal data too).
    postcode: Mapped[str | None] = mapped_column(String(16))
    street: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    house: Mapped[str | None] = mapped_column(String(32))
    flat: Mapped[str | None] = mapped_column(String(32))
    address_note: Mapped[str | None] = mapped_column(Text)  # entrance, floor, door code
    address_key: Mapped[str | None] = mapped_column(String(300))
    district_id: Mapped[str | None] = mapped_column(
        String(KEY_LENGTH), ForeignKey("districts.id", ondelete="SET NULL"), index=True
    )
    # The address matched no district: accepted, and waiting for a supervisor to place it.
    needs_district: Mapped[bool] = mapped_column(Boolean, default=False)

    form_data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    note: Mapped[str | None] = mapped_column(Text)

    worker_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    accept_by: Mapped[datetime | None] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reason: Mapped[str | None] = mapped_column(Text)  # why it failed, was cancelled or declined
    outcome_note: Mapped[str | None] = mapped_column(Text)  # what the field worker did
    # Field workers who declined the task or let it time out: not offered it again.
    excluded_workers: Mapped[list[str]] = mapped_column(JSONType, default=list)

    sla_deadline: Mapped[datetime] = mapped_column(UTCDateTime())
    sla_breached: Mapped[bool] = mapped_column(Boolean, default=False)

    # A double submission of one form carries the same key and gets the first request back.
    idempotency_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    merged_into_id: Mapped[str | None] = mapped_column(
        ForeignKey("requests.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    # The `seq` of the newest event (see `hotline.contacts.models.Contact.last_seq`).
    last_seq: Mapped[int] = mapped_column(Integer, default=0)


class RequestEvent(Base):
    """One entry of a request's audit trail."""

    __tablename__ = "request_events"
    __table_args__ = (
        UniqueConstraint("request_id", "seq"),
        CheckConstraint("seq > 0", name="seq"),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(100), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    actor: Mapped[str | None] = mapped_column(String(KEY_LENGTH))
    correlation_id: Mapped[str | None] = mapped_column(String(64), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
