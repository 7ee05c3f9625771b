"""Events of the requests domain. Each is written to the request's append-only log (its audit
trail) in the transaction of the change, and published after the commit. They carry ids, states
and reasons, never the caller's number, name or address. Their correlation id is the contact's
when the request came from a call (so a call's and its request's events line up), else the
request's own id."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from hotline.core.events import Event, register


@register
class RequestCreated(Event):
    """A request was accepted. `needs_district`: its address matched no district, so it waits for
    a supervisor to place it; `duplicates`: open requests that look like the same one."""

    type: ClassVar[str] = "request.created"

    request_id: str
    category: str
    priority: int
    sla_deadline: datetime
    district_id: str | None = None
    needs_district: bool = False
    source: str = "agent"
    contact_id: str | None = None
    actor: str | None = None
    duplicates: list[str] = []


@register
class RequestStateChanged(Event):
    """A step of the lifecycle. `worker_id` is the field worker who holds the task afterwards (or
    held it last, for an end); `cause` says what moved it when it was not a person's own choice
    (`auto_assign`, `manual_assign`, `accept_timeout`, `merged`)."""

    type: ClassVar[str] = "request.state_changed"

    request_id: str
    from_state: str
    to_state: str
    worker_id: str | None = None
    previous_worker_id: str | None = None
    reason: str | None = None
    note: str | None = None
    cause: str | None = None
    actor: str | None = None


@register
class RequestMerged(Event):
    """`duplicate_id` was merged into this request (which took the higher priority and the earlier
    deadline of the two); the duplicate was cancelled."""

    type: ClassVar[str] = "request.merged"

    request_id: str
    duplicate_id: str
    priority: int
    sla_deadline: datetime
    actor: str | None = None


@register
class RequestPlaced(Event):
    """A supervisor put a request whose address matched no district into one."""

    type: ClassVar[str] = "request.placed"

    request_id: str
    district_id: str
    actor: str | None = None


@register
class RequestSlaBreached(Event):
    """The request is still open past its SLA deadline: the alert supervisors act on."""

    type: ClassVar[str] = "request.sla_breached"

    request_id: str
    sla_deadline: datetime
    state: str
    priority: int
