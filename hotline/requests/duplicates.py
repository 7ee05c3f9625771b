"""Duplicate requests: the same person (phone number) or the same door (address) asking again in the
same category while their first request is still open. A worried relative calls twice, a neighbour
calls for the same pensioner: the field worker should go once.

Pure: the keys of a new request and of the open requests that share a key come in; candidates and
merge plans come out. Merging keeps the older request (the primary), which takes the higher of the
two priorities and the earlier SLA deadline (the caller has been waiting since the first call);
the duplicate is cancelled with a reason naming the primary and keeps a link to it. Nothing is
deleted: both records and their logs stay."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from hotline.requests.lifecycle import (
    ACCEPTED,
    IN_PROGRESS,
    OPEN_STATES,
    InvalidTransition,
    Priority,
    RequestState,
)


class Match(StrEnum):
    """Why two requests look like one."""

    SAME_PHONE = "same_phone"
    SAME_ADDRESS = "same_address"


@dataclass(frozen=True, slots=True)
class RequestKeys:
    """What duplicate detection compares, for one request."""

    id: str
    category_id: str
    state: RequestState
    created_at: datetime
    phone_key: str | None = None
    address_key: str | None = None
    priority: Priority = Priority.NORMAL
    sla_deadline: datetime | None = None
    merged_into: str | None = None


@dataclass(frozen=True, slots=True)
class Candidate:
    """An open request that may be the same as the new one, and why."""

    id: str
    matches: tuple[Match, ...]
    created_at: datetime


def find_duplicates(
    *,
    category_id: str,
    phone_key: str | None,
    address_key: str | None,
    existing: Iterable[RequestKeys],
    exclude_id: str | None = None,
) -> list[Candidate]:
    """The open requests of `category_id` that share the phone or the address key, oldest first."""
    found: list[Candidate] = []
    for other in existing:
        if other.id == exclude_id or other.category_id != category_id:
            continue
        if other.state not in OPEN_STATES or other.merged_into is not None:
            continue
        matches: list[Match] = []
        if phone_key is not None and other.phone_key == phone_key:
            matches.append(Match.SAME_PHONE)
        if address_key is not None and other.address_key == address_key:
            matches.append(Match.SAME_ADDRESS)
        if matches:
            found.append(Candidate(other.id, tuple(matches), other.created_at))
    found.sort(key=lambda c: (c.created_at, c.id))
    return found


@dataclass(frozen=True, slots=True)
class MergePlan:
    """What merging `duplicate_id` into `primary_id` changes on the primary."""

    primary_id: str
    duplicate_id: str
    priority: Priority
    sla_deadline: datetime | None
    reason: str


def plan_merge(primary: RequestKeys, duplicate: RequestKeys) -> MergePlan:
    """Check that `duplicate` may be merged into `primary` and say what the primary becomes.
    A duplicate a field worker has already accepted (or started) is not cancelled under them:
    merge the other way round."""
    if primary.id == duplicate.id:
        raise InvalidTransition("a request cannot be merged into itself", request_id=primary.id)
    if primary.category_id != duplicate.category_id:
        raise InvalidTransition(
            "only requests of the same category are merged",
            primary=primary.category_id,
            duplicate=duplicate.category_id,
        )
    for side, request in (("primary", primary), ("duplicate", duplicate)):
        if request.merged_into is not None:
            raise InvalidTransition(
                f"the {side} request is already merged into request {request.merged_into}",
                request_id=request.id,
            )
        if request.state not in OPEN_STATES:
            raise InvalidTransition(
                f"the {side} request is already {request.state.value}",
                request_id=request.id,
                state=request.state.value,
            )
    if duplicate.state in (ACCEPTED, IN_PROGRESS):
        raise InvalidTransition(
            "a field worker has accepted the duplicate: merge the other request into it instead",
            request_id=duplicate.id,
            state=duplicate.state.value,
        )
    deadlines = [d for d in (primary.sla_deadline, duplicate.sla_deadline) if d is not None]
    return MergePlan(
        primary_id=primary.id,
        duplicate_id=duplicate.id,
        priority=max(primary.priority, duplicate.priority),
        sla_deadline=min(deadlines) if deadlines else None,
        reason=f"duplicate of request {primary.id}",
    )
