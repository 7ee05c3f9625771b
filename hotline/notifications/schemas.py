"""The outbox page's shapes (`GET /api/v1/outbox`): what was (or, with the demo's outbox
adapter, would have been) sent to callers. The number is masked: the page is for checking what
callers are told, not whom to call."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class OutboxEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    request_id: str | None
    topic: str
    channel: str
    to: str  # masked: "***-**-22"
    language: str
    text: str
    status: str
    adapter: str | None
    attempts: int
    error: str | None
    created_at: datetime
    sent_at: datetime | None


class OutboxPage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    messages: list[OutboxEntry]
    next_before: str | None
