"""The requests domain's API shapes: what creating a request takes, and what staff see of one.
A field worker's view of their tasks (with the caller's number masked) is in
`hotline.dispatch.schemas`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from hotline.requests.duplicates import Match

Text200 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text32 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]


class Shape(BaseModel):
    """Unknown fields are errors: a misspelt field must not be silently dropped."""

    model_config = ConfigDict(extra="forbid")


class CallerIn(Shape):
    number: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None = None
    name: Text200 | None = None
    age: int | None = Field(default=None, ge=0, le=150)
    disability: bool = False


class AddressIn(Shape):
    postcode: Annotated[str, StringConstraints(strip_whitespace=True, max_length=16)] | None = None
    street: Text200 | None = None
    house: Text32 | None = None
    flat: Text32 | None = None
    note: LongText | None = None  # entrance, floor, door code


class RequestCreate(Shape):
    """A new request, from a call's form, a department specialist or an API client.
    `idempotency_key` is made once per form (a UUID when the form opens): submitting the same form
    twice gives back the first request instead of a second one."""

    category: str = Field(max_length=64)
    idempotency_key: str = Field(min_length=8, max_length=100)
    caller: CallerIn = CallerIn()
    address: AddressIn | None = None
    form: dict[str, Any] = {}
    urgent: bool = False
    note: LongText | None = None
    contact_id: str | None = Field(default=None, max_length=32)
    source: Literal["agent", "specialist", "api"] = "agent"


class CallerView(Shape):
    number: str | None
    name: str | None
    age: int | None
    disability: bool


class AddressView(Shape):
    postcode: str | None
    street: str | None
    house: str | None
    flat: str | None
    note: str | None


class RequestView(Shape):
    """A request as agents, specialists and supervisors see it (reading it is audited)."""

    id: str
    category: str
    state: str
    priority: int
    urgent: bool
    source: str
    contact_id: str | None
    caller: CallerView
    address: AddressView | None
    district_id: str | None
    needs_district: bool
    form: dict[str, Any]
    note: str | None
    worker: str | None  # the field worker's username
    assigned_at: datetime | None
    accept_by: datetime | None
    accepted_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    reason: str | None
    outcome_note: str | None
    sla_deadline: datetime
    sla_breached: bool
    merged_into: str | None
    created_at: datetime


class RequestSummary(Shape):
    """A line of a caller's history on the agent desktop: no personal data beyond what the agent
    already has on the call."""

    id: str
    category: str
    state: str
    priority: int
    created_at: datetime
    ended_at: datetime | None
    sla_deadline: datetime
    sla_breached: bool
    worker: str | None


class DuplicateView(Shape):
    id: str
    matches: list[Match]
    created_at: datetime
