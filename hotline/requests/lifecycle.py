"""A request's lifecycle: its states, the moves allowed between them, its priority and SLA clock.

Pure: the current lifecycle and a step come in, the next lifecycle comes out (or
`InvalidTransition`); times are handed in, never read. The service stores the result and writes
each step to the request's append-only event log, so the log replays to the row.

    new ──assign──▶ assigned ──accept──▶ accepted ──start──▶ in_progress ──▶ done
     │  ◀──decline / timeout / unassign──┘   │                   │
     │                                       └────────────▶ done (start is optional)
     └──▶ done (information-only categories: answered by the hotline itself)
    any open state ──▶ failed (with a reason) or cancelled (with a reason); assigned, accepted
    and in progress may be re-assigned to another field worker.

done, failed and cancelled are final: a request ends exactly once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import IntEnum, StrEnum

from hotline.core.errors import HotlineError


class RequestState(StrEnum):
    NEW = "new"
    ASSIGNED = "assigned"
    ACCEPTED = "accepted"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


NEW = RequestState.NEW
ASSIGNED = RequestState.ASSIGNED
ACCEPTED = RequestState.ACCEPTED
IN_PROGRESS = RequestState.IN_PROGRESS
DONE = RequestState.DONE
FAILED = RequestState.FAILED
CANCELLED = RequestState.CANCELLED

END_STATES = frozenset({DONE, FAILED, CANCELLED})
OPEN_STATES = frozenset(RequestState) - END_STATES
ACTIVE_STATES = frozenset({ASSIGNED, ACCEPTED, IN_PROGRESS})
"""States in which a request is a field worker's task and counts against their capacity."""

TRANSITIONS: Mapping[RequestState, frozenset[RequestState]] = {
    NEW: frozenset({ASSIGNED, DONE, FAILED, CANCELLED}),
    ASSIGNED: frozenset({NEW, ASSIGNED, ACCEPTED, FAILED, CANCELLED}),
    ACCEPTED: frozenset({NEW, ASSIGNED, IN_PROGRESS, DONE, FAILED, CANCELLED}),
    IN_PROGRESS: frozenset({NEW, ASSIGNED, DONE, FAILED, CANCELLED}),
    DONE: frozenset(),
    FAILED: frozenset(),
    CANCELLED: frozenset(),
}
"""Every allowed edge. ASSIGNED -> ASSIGNED is a re-assignment to another field worker."""

NEEDS_REASON = frozenset({FAILED, CANCELLED})


class InvalidTransition(HotlineError):
    """The request cannot move to that state from the one it is in (or not without a reason, a
    field worker...)."""

    code = "invalid_transition"
    http_status = 409


class Priority(IntEnum):
    """Higher is served first and has a shorter SLA."""

    NORMAL = 0
    HIGH = 1
    URGENT = 2


SLA_FACTOR: Mapping[Priority, float] = {
    Priority.NORMAL: 1.0,
    Priority.HIGH: 0.5,
    Priority.URGENT: 0.25,
}
"""A category's SLA hours are for a request of normal priority; higher priorities get a share."""


@dataclass(frozen=True, slots=True)
class PriorityRules:
    """Who is served first: callers aged `elder_age` and over (the 65+ self-isolation rule of the
    reference deployment) and people with a disability get high priority; an agent may mark a
    request urgent (no medicine left, no heating)."""

    elder_age: int = 65


DEFAULT_PRIORITY_RULES = PriorityRules()


def priority_of(
    *,
    age: int | None = None,
    disability: bool = False,
    urgent: bool = False,
    rules: PriorityRules = DEFAULT_PRIORITY_RULES,
) -> Priority:
    """The priority a request gets from its caller and the agent's urgent mark."""
    if urgent:
        return Priority.URGENT
    if disability or (age is not None and age >= rules.elder_age):
        return Priority.HIGH
    return Priority.NORMAL


def sla_deadline(created_at: datetime, sla_hours: float, priority: Priority) -> datetime:
    """When the request must be over by, to be within its SLA."""
    return created_at + timedelta(hours=sla_hours * SLA_FACTOR[priority])


def sla_breached(deadline: datetime, *, now: datetime, ended_at: datetime | None) -> bool:
    """Whether the SLA is broken: ended after the deadline, or still open past it."""
    return (ended_at if ended_at is not None else now) > deadline


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """Where a request is: its state, its field worker (while a task), the times of its steps, and
    why it failed or was cancelled."""

    state: RequestState = NEW
    information_only: bool = False
    worker_id: str | None = None
    assigned_at: datetime | None = None
    accepted_at: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    reason: str | None = None

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


def advance(
    current: Lifecycle,
    to: RequestState,
    *,
    at: datetime,
    worker_id: str | None = None,
    reason: str | None = None,
) -> Lifecycle:
    """The lifecycle after moving to `to` at `at`. `worker_id` is required to assign (and must be
    another worker to re-assign); `reason` is required to fail or cancel. Anything else that is not
    an edge of `TRANSITIONS` raises `InvalidTransition`."""
    state = current.state
    if to not in TRANSITIONS[state]:
        if state in END_STATES:
            raise InvalidTransition(
                f"the request is already {state.value}", state=state.value, to=to.value
            )
        raise InvalidTransition(
            f"a request cannot go from {state.value} to {to.value}", state=state.value, to=to.value
        )
    if to in NEEDS_REASON and not (reason and reason.strip()):
        raise InvalidTransition(f"a reason is required to mark a request {to.value}", to=to.value)
    if to is ASSIGNED:
        if current.information_only:
            raise InvalidTransition(
                "an information-only request is answered by the hotline, not by a field worker",
                state=state.value,
                to=to.value,
            )
        if worker_id is None:
            raise InvalidTransition("assigning needs a field worker", to=to.value)
        if worker_id == current.worker_id:
            raise InvalidTransition(
                "the request is already this field worker's task", state=state.value, to=to.value
            )
        return replace(
            current,
            state=ASSIGNED,
            worker_id=worker_id,
            assigned_at=at,
            accepted_at=None,
            started_at=None,
            reason=None,
        )
    if to is DONE and state is NEW and not current.information_only:
        raise InvalidTransition(
            "only an information-only request is done without a field worker",
            state=state.value,
            to=to.value,
        )
    if to is NEW:
        return replace(
            current,
            state=NEW,
            worker_id=None,
            assigned_at=None,
            accepted_at=None,
            started_at=None,
            reason=reason,
        )
    if to is ACCEPTED:
        return replace(current, state=ACCEPTED, accepted_at=at)
    if to is IN_PROGRESS:
        return replace(current, state=IN_PROGRESS, started_at=at)
    # An end: the worker stays recorded as the one who held it last.
    return replace(current, state=to, ended_at=at, reason=reason if to in NEEDS_REASON else None)


def load_changes(before: Lifecycle, after: Lifecycle) -> dict[str, int]:
    """How a step changes field workers' open task counts: +1 for a worker who gains the task,
    -1 for one who loses it (re-assigned, declined, or the task ended)."""
    changes: dict[str, int] = {}
    held = before.worker_id if before.state in ACTIVE_STATES else None
    holds = after.worker_id if after.state in ACTIVE_STATES else None
    if held != holds:
        if held is not None:
            changes[held] = changes.get(held, 0) - 1
        if holds is not None:
            changes[holds] = changes.get(holds, 0) + 1
    return changes
