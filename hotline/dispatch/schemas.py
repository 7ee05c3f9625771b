"""The dispatch domain's API shapes: a field worker's task as their phone page shows it (the
caller's number masked: they call the citizen through the platform), a field worker's status, and
what an assignment did."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Shape(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FieldTaskView(Shape):
    """A task on the field worker's page: where to go and what to bring, never the full number."""

    id: str
    category: str
    state: str
    priority: int
    urgent: bool
    caller_name: str | None
    caller_number: str  # masked: "***-**-22"
    postcode: str | None
    street: str | None
    house: str | None
    flat: str | None
    address_note: str | None
    district_id: str | None
    form: dict[str, Any]
    note: str | None
    assigned_at: datetime | None
    accept_by: datetime | None
    accepted_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    sla_deadline: datetime
    outcome_note: str | None
    reason: str | None


class FieldWorkerView(Shape):
    """A field worker's dispatch status."""

    user_id: str
    username: str
    kind: str
    districts: list[str]
    categories: list[str]
    capacity: int
    available: bool
    active_tasks: int
    last_assigned_at: datetime | None


class OutcomeIn(Shape):
    """What the field worker did (required to mark a task done)."""

    note: str = Field(min_length=1, max_length=4000)


class AvailabilityIn(Shape):
    available: bool


class CitizenCallOut(Shape):
    """A call to the citizen that was started: `call_id` is its contact; `mode` `bridge` (your
    phone rings first, then the citizen's) or `agent_callback` (an agent will call them)."""

    call_id: str
    mode: Literal["bridge", "agent_callback"]
