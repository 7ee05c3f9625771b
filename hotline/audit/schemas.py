"""The shapes of `/api/v1/audit`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class AuditEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor_id: str | None
    actor_username: str | None
    action: str
    object_type: str
    object_id: str | None
    ip: str | None
    details: dict[str, Any] | None


class AuditPage(BaseModel):
    """Newest first; `next_before` is the `before` of the next (older) page, null at the end."""

    items: list[AuditEntryOut]
    next_before: int | None
