"""Shapes of the live API (docs/web-api.md, "Live events" and "The wallboard"), for validation and
the OpenAPI document the browser app is typed from."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hotline.db.base import KEY_LENGTH
from hotline.live.wallboard import AgentRow
from hotline.routing.models import MAX_LEVEL, MIN_LEVEL


class AgentStateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: Literal["ready", "not_ready", "logged_out"]
    reason: str | None = Field(None, max_length=100)


class SkillLevelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    skill: str = Field(min_length=1, max_length=KEY_LENGTH)
    level: int = Field(ge=MIN_LEVEL, le=MAX_LEVEL)
    preference: int = Field(0, ge=0, le=100, description="lower: served first")


class QueueRowOut(BaseModel):
    """A queue as `GET /api/v1/queues` gives it, plus `waiting_since` (seconds since the epoch):
    the longest wait now is `now - waiting_since` (0 when it is null)."""

    queue_id: str
    name: str
    waiting: int
    callbacks_waiting: int
    ringing: int
    longest_wait_seconds: float
    expected_wait_seconds: float
    agents: dict[str, int]
    offered_today: int
    answered_today: int
    abandoned_today: int
    service_level_today: float | None
    asa_today_seconds: float | None
    offered_30min: int
    answered_30min: int
    abandoned_30min: int
    service_level_30min: float | None
    asa_30min_seconds: float | None
    sl_target_seconds: float
    topic: str | None
    topic_name: str | None
    waiting_since: float | None


class SnapshotOut(BaseModel):
    queues: list[QueueRowOut]
    agents: list[AgentRow]


class WallboardOut(BaseModel):
    """The wallboard as of event `id`: open `GET /api/v1/events?last_event_id=<id>` to follow it.
    `at` is the server's time (unix seconds), for the page's clock offset."""

    id: int
    at: float
    data: SnapshotOut
