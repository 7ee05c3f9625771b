"""Users, their roles and skills, and the agent state history (every change of an agent's state,
kept for occupancy and adherence reports). Roles are rows seeded by the migrations, so a user's
roles are checked by a foreign key and a new role is a new revision."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline.core.ids import new_id
from hotline.db.base import (
    ID_LENGTH,
    KEY_LENGTH,
    Base,
    BigIntKey,
    Timestamped,
    UTCDateTime,
    check_in,
    utcnow,
)
from hotline.routing.models import MAX_LEVEL, MIN_LEVEL
from hotline.routing.types import AgentState


class Role(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    FIELD_WORKER = "field_worker"
    DEPARTMENT_SPECIALIST = "department_specialist"


class RoleRecord(Base):
    """A row per `Role`; seeded by migration 0001."""

    __tablename__ = "roles"

    id: Mapped[str] = mapped_column(String(KEY_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))


user_roles = Table(
    "user_roles",
    Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("role_id", ForeignKey("roles.id", ondelete="RESTRICT"), primary_key=True),
)


LANGUAGES = ("ru", "en")
"""The languages of the browser app; a user's choice is kept on their row."""


class User(Timestamped, Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(check_in("language", LANGUAGES), name="language"),)

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(KEY_LENGTH), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    department: Mapped[str | None] = mapped_column(String(KEY_LENGTH))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Set for first-login credentials: nothing but /auth/* answers until a new password is chosen.
    must_change_password: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    language: Mapped[str] = mapped_column(String(2), default="ru", server_default="ru")

    roles: Mapped[list[RoleRecord]] = relationship(
        secondary=user_roles, order_by=RoleRecord.id, lazy="selectin"
    )
    skills: Mapped[list[AgentSkill]] = relationship(
        cascade="all, delete-orphan",
        order_by="(AgentSkill.preference, AgentSkill.skill_id)",
        lazy="selectin",
    )

    @property
    def role_names(self) -> list[str]:
        return [role.id for role in self.roles]


class AgentSkill(Base):
    """An agent's level on a skill (1 novice .. 10 expert) and preference (lower = served first)."""

    __tablename__ = "agent_skills"
    __table_args__ = (
        CheckConstraint(f"level BETWEEN {MIN_LEVEL} AND {MAX_LEVEL}", name="level"),
        CheckConstraint("preference >= 0", name="preference"),
    )

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    skill_id: Mapped[str] = mapped_column(
        ForeignKey("skills.id", ondelete="RESTRICT"), primary_key=True, index=True
    )
    level: Mapped[int] = mapped_column(Integer, default=MIN_LEVEL)
    preference: Mapped[int] = mapped_column(Integer, default=0)


class SipCredential(Timestamped, Base):
    """The SIP account of a user's phones: the SIP user name is the user's username, and only the
    digest HA1 values (MD5 and SHA-256, for `realm`) are kept, never the password. A phone's
    REGISTER is checked against them; HA1 depends on the realm, so changing the realm means new
    SIP passwords."""

    __tablename__ = "sip_credentials"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    realm: Mapped[str] = mapped_column(String(200))
    ha1_md5: Mapped[str] = mapped_column(String(32))
    ha1_sha256: Mapped[str] = mapped_column(String(64))


class AgentStateRecord(Base):
    """An agent entered `state` at `at` (and stayed until their next record)."""

    __tablename__ = "agent_state_history"
    __table_args__ = (
        CheckConstraint(check_in("state", AgentState), name="state"),
        Index("ix_agent_state_history_user_at", "user_id", "at"),
        Index("ix_agent_state_history_at", "at"),  # reports read a period of everyone's (0006)
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    contact_id: Mapped[str | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
