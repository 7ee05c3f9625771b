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
    department: str | None = None
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


# ---------------------------------------------------------------------------- the HTTP API


class RequestCreateResult(Shape):
    """What creating a request answers: the request, whether this submission made it (False:
    the same form was submitted before, and this is that request), and the open requests that
    look like the same one (to merge)."""

    request: RequestView
    created: bool
    duplicates: list[DuplicateView]


class RequestPage(Shape):
    """A page of requests, newest first; `next_before` is the id to pass as `before` for the next
    page (None: this was the last)."""

    requests: list[RequestView]
    next_before: str | None


class ReasonIn(Shape):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


class NoteIn(Shape):
    note: LongText | None = None


class AssignIn(Shape):
    """A field worker by username (a supervisor's choice)."""

    worker: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class PlaceIn(Shape):
    district_id: str = Field(min_length=1, max_length=64)


class MergeIn(Shape):
    """Merge `duplicate_id` into the request of the path (the primary)."""

    duplicate_id: str = Field(min_length=1, max_length=32)


class CallerLookupIn(Shape):
    """A caller's number, sent in a body so that it stays out of URLs and access logs."""

    number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class RequestDraft(Shape):
    """A new request's form as the agent desktop opens it: from a call, with the caller's number
    and the contact filled in; or with no call (a department specialist's), blank, the citizen's
    number to be typed. Its idempotency key makes submitting the form twice harmless."""

    idempotency_key: str
    contact_id: str | None
    caller: CallerView
    topic: str | None
    language: str | None


class CategoryView(Shape):
    """A request category as the forms need it."""

    id: str
    name: dict[str, str]
    sla_hours: float
    accept_minutes: float
    information_only: bool
    form: dict[str, Any]
    kinds: list[str]


class LogEntry(Shape):
    """One step of a request's audit trail."""

    seq: int
    type: str
    at: datetime
    actor: str | None
    data: dict[str, Any]
