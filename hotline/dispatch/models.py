"""Field worker kinds, districts and field workers (a profile on a user with the role field_worker):
which districts they serve, optionally which categories, their capacity, availability and open
task count.

`active_tasks` is kept by the request service in the same transaction as each step that gives or
takes a task, and raised only by a conditional UPDATE (`active_tasks < capacity AND available`),
so two assignments racing for a worker's last free slot cannot both win."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline.db.base import KEY_LENGTH, Base, JSONType, Timestamped, UTCDateTime, key_column, utcnow

NAME_LENGTH = 200


class FieldWorkerKind(Timestamped, Base):
    """Volunteer, courier, social worker, polyclinic staff... (configuration)."""

    __tablename__ = "field_worker_kinds"

    id: Mapped[str] = key_column()
    name_en: Mapped[str] = mapped_column(String(NAME_LENGTH))
    name_ru: Mapped[str] = mapped_column(String(NAME_LENGTH))
    position: Mapped[int] = mapped_column(Integer, default=0)


class District(Timestamped, Base):
    """A district and how an address is found in it: postcode prefixes (normalised), street names
    (as configured); see `hotline.dispatch.districts`."""

    __tablename__ = "districts"

    id: Mapped[str] = key_column()
    name_en: Mapped[str] = mapped_column(String(NAME_LENGTH))
    name_ru: Mapped[str] = mapped_column(String(NAME_LENGTH))
    postcodes: Mapped[list[str]] = mapped_column(JSONType, default=list)
    streets: Mapped[list[str]] = mapped_column(JSONType, default=list)
    position: Mapped[int] = mapped_column(Integer, default=0)


class FieldWorker(Base):
    """A field worker's dispatch profile and state."""

    __tablename__ = "field_workers"
    __table_args__ = (
        CheckConstraint("capacity >= 1", name="capacity"),
        CheckConstraint("active_tasks >= 0", name="active_tasks"),
    )

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    kind_id: Mapped[str] = mapped_column(
        String(KEY_LENGTH), ForeignKey("field_worker_kinds.id", ondelete="RESTRICT"), index=True
    )
    capacity: Mapped[int] = mapped_column(Integer, default=3)
    available: Mapped[bool] = mapped_column(Boolean, default=True)
    active_tasks: Mapped[int] = mapped_column(Integer, default=0)
    last_assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    districts: Mapped[list[FieldWorkerDistrict]] = relationship(
        cascade="all, delete-orphan",
        order_by="FieldWorkerDistrict.position",
        lazy="selectin",
    )
    categories: Mapped[list[FieldWorkerCategory]] = relationship(
        cascade="all, delete-orphan",
        order_by="FieldWorkerCategory.position",
        lazy="selectin",
    )


class FieldWorkerDistrict(Base):
    """A district a field worker serves. Indexed by district first: assignment looks up the
    workers of one district."""

    __tablename__ = "field_worker_districts"
    __table_args__ = (Index("ix_field_worker_districts_district", "district_id", "user_id"),)

    user_id: Mapped[str] = mapped_column(
        ForeignKey("field_workers.user_id", ondelete="CASCADE"), primary_key=True
    )
    district_id: Mapped[str] = mapped_column(
        String(KEY_LENGTH), ForeignKey("districts.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)


class FieldWorkerCategory(Base):
    """A category a field worker is limited to; a worker with none serves every category their
    kind fulfils."""

    __tablename__ = "field_worker_categories"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("field_workers.user_id", ondelete="CASCADE"), primary_key=True
    )
    category_id: Mapped[str] = mapped_column(
        String(KEY_LENGTH),
        ForeignKey("request_categories.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
