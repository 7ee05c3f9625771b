"""Writing and reading the audit log. Every domain that reads or changes a caller's personal data,
or publishes configuration, calls `record` with the session of its own transaction, so the row
is committed together with the change (or not at all).

`details` is for identifiers and counts ("which fields changed", "version 7"), never for the
personal data itself: no phone numbers, names or addresses of callers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.audit.models import AuditEntry
from hotline.db.base import utcnow


class Actor(Protocol):
    """Who acted: a signed-in user (`hotline.auth.service.SignedInUser`) or a `User` row."""

    @property
    def id(self) -> str: ...

    @property
    def username(self) -> str: ...


async def record(
    *,
    session: AsyncSession,
    actor: Actor | None,
    action: str,
    object_type: str,
    object_id: str | None,
    ip: str | None,
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEntry:
    """Add an audit row to `session`'s transaction (the caller commits). `actor` None is the
    system itself (a command-line import, a timer); `action` is `<domain>.<verb>`, e.g.
    `contact.read`, `ivr_flow.publish`."""
    entry = AuditEntry(
        at=at or utcnow(),
        actor_id=actor.id if actor is not None else None,
        actor_username=actor.username if actor is not None else None,
        action=action,
        object_type=object_type,
        object_id=object_id,
        ip=ip,
        details=details,
    )
    session.add(entry)
    await session.flush()
    return entry


async def entries(
    *,
    session: AsyncSession,
    object_type: str | None = None,
    object_id: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    before: int | None = None,
    limit: int = 100,
) -> Sequence[AuditEntry]:
    """Newest first, filtered; `before` is the id the previous page ended at (keyset pagination:
    pages stay stable while new rows arrive). `actor` is a username."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if object_type is not None:
        query = query.where(AuditEntry.object_type == object_type)
    if object_id is not None:
        query = query.where(AuditEntry.object_id == object_id)
    if actor is not None:
        query = query.where(AuditEntry.actor_username == actor)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    if before is not None:
        query = query.where(AuditEntry.id < before)
    return (await session.scalars(query)).all()
