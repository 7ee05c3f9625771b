"""Tables for what the router is configured with: skills, queues, the skills a queue requires and
its overflow rules. The routing engine never sees these rows: `hotline.config.service` turns them
into the engine's frozen specs (`hotline.routing.types`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline.db.base import KEY_LENGTH, Base, JSONType, Timestamped, check_in, key_column
from hotline.routing.types import OverflowAction, Strategy

SKILL_KINDS = ("topic", "language", "other")
MIN_LEVEL, MAX_LEVEL = 1, 10


class Skill(Timestamped, Base):
    """What an agent can handle: a topic or a language. Levels live on agents and requirements."""

    __tablename__ = "skills"
    __table_args__ = (CheckConstraint(check_in("kind", SKILL_KINDS), name="kind"),)

    id: Mapped[str] = key_column()
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default="topic")


class Queue(Timestamped, Base):
    __tablename__ = "queues"
    __table_args__ = (
        CheckConstraint(check_in("strategy", Strategy), name="strategy"),
        CheckConstraint("wrap_up_seconds >= 0", name="wrap_up_seconds"),
        CheckConstraint("offer_timeout_seconds > 0", name="offer_timeout_seconds"),
        CheckConstraint("sl_target_seconds > 0", name="sl_target_seconds"),
    )

    id: Mapped[str] = key_column()
    name: Mapped[str] = mapped_column(String(200))
    strategy: Mapped[str] = mapped_column(String(32))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    wrap_up_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    offer_timeout_seconds: Mapped[float] = mapped_column(Float, default=20.0)
    sl_target_seconds: Mapped[float] = mapped_column(Float, default=20.0)
    calendar_id: Mapped[str | None] = mapped_column(
        ForeignKey("calendars.id", ondelete="RESTRICT"), index=True
    )
    closed_message: Mapped[str | None] = mapped_column(Text)
    # Record this queue's calls (a stereo WAV per contact, kept with the contact's record).
    record: Mapped[bool] = mapped_column(Boolean, default=False)

    skills: Mapped[list[QueueSkill]] = relationship(
        cascade="all, delete-orphan", order_by="QueueSkill.position", lazy="selectin"
    )
    overflow: Mapped[list[QueueOverflowRule]] = relationship(
        cascade="all, delete-orphan",
        order_by="QueueOverflowRule.after_seconds",
        foreign_keys="QueueOverflowRule.queue_id",
        lazy="selectin",
    )


class QueueSkill(Base):
    """A skill a queue's contacts need, with the lowest level that may take them."""

    __tablename__ = "queue_skills"
    __table_args__ = (
        CheckConstraint(f"min_level BETWEEN {MIN_LEVEL} AND {MAX_LEVEL}", name="min_level"),
    )

    queue_id: Mapped[str] = mapped_column(
        ForeignKey("queues.id", ondelete="CASCADE"), primary_key=True
    )
    skill_id: Mapped[str] = mapped_column(
        ForeignKey("skills.id", ondelete="RESTRICT"), primary_key=True, index=True
    )
    min_level: Mapped[int] = mapped_column(Integer, default=MIN_LEVEL)
    position: Mapped[int] = mapped_column(Integer, default=0)


class QueueOverflowRule(Base):
    """After `after_seconds` of waiting, do `action`. One rule per queue and moment: two rules at
    the same `after` would race, so the database refuses them too. The skills a WIDEN rule adds are
    a JSON list of `{skill, min_level}` checked by the configuration schema."""

    __tablename__ = "queue_overflow_rules"
    __table_args__ = (
        UniqueConstraint("queue_id", "after_seconds"),
        CheckConstraint(check_in("action", OverflowAction), name="action"),
        CheckConstraint("after_seconds >= 0", name="after_seconds"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    queue_id: Mapped[str] = mapped_column(ForeignKey("queues.id", ondelete="CASCADE"))
    after_seconds: Mapped[float] = mapped_column(Float)
    action: Mapped[str] = mapped_column(String(16))
    target_queue_id: Mapped[str | None] = mapped_column(
        String(KEY_LENGTH), ForeignKey("queues.id", ondelete="RESTRICT"), index=True
    )
    message: Mapped[str | None] = mapped_column(Text)
    skills: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
