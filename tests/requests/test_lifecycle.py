"""The request lifecycle: allowed moves, reasons, priority and SLA; and, over random sequences of
steps, that a request moves only along allowed edges and ends exactly once."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

import hypothesis.strategies as st
import pytest
from hypothesis import given

from hotline.requests.lifecycle import (
    ACCEPTED,
    ACTIVE_STATES,
    ASSIGNED,
    CANCELLED,
    DONE,
    END_STATES,
    FAILED,
    IN_PROGRESS,
    NEW,
    TRANSITIONS,
    InvalidTransition,
    Lifecycle,
    Priority,
    RequestState,
    advance,
    load_changes,
    priority_of,
    sla_breached,
    sla_deadline,
)

T0 = datetime(2025, 4, 1, 9, 0, tzinfo=UTC)


def test_a_task_goes_from_new_to_done_through_its_field_worker() -> None:
    lc = Lifecycle()
    lc = advance(lc, ASSIGNED, at=T0, worker_id="w1")
    lc = advance(lc, ACCEPTED, at=T0 + timedelta(minutes=5))
    lc = advance(lc, IN_PROGRESS, at=T0 + timedelta(minutes=10))
    lc = advance(lc, DONE, at=T0 + timedelta(hours=2))
    assert (lc.state, lc.worker_id, lc.ended_at) == (DONE, "w1", T0 + timedelta(hours=2))
    assert lc.accepted_at == T0 + timedelta(minutes=5)


def test_failing_or_cancelling_needs_a_reason() -> None:
    lc = advance(Lifecycle(), ASSIGNED, at=T0, worker_id="w1")
    for state in (FAILED, CANCELLED):
        with pytest.raises(InvalidTransition, match="a reason is required"):
            advance(lc, state, at=T0, reason="  ")
    failed = advance(lc, FAILED, at=T0, reason="pharmacy out of stock")
    assert (failed.state, failed.reason) == (FAILED, "pharmacy out of stock")


def test_an_ended_request_moves_no_more() -> None:
    lc = advance(Lifecycle(), CANCELLED, at=T0, reason="caller recovered")
    with pytest.raises(InvalidTransition, match="already cancelled"):
        advance(lc, ASSIGNED, at=T0, worker_id="w1")


def test_only_an_information_only_request_is_done_without_a_field_worker() -> None:
    with pytest.raises(InvalidTransition, match="only an information-only request"):
        advance(Lifecycle(), DONE, at=T0)
    assert advance(Lifecycle(information_only=True), DONE, at=T0).state is DONE
    with pytest.raises(InvalidTransition, match="answered by the hotline"):
        advance(Lifecycle(information_only=True), ASSIGNED, at=T0, worker_id="w1")


def test_reassignment_needs_another_worker_and_moves_the_load() -> None:
    lc = advance(Lifecycle(), ASSIGNED, at=T0, worker_id="w1")
    with pytest.raises(InvalidTransition, match="already this field worker's task"):
        advance(lc, ASSIGNED, at=T0, worker_id="w1")
    moved = advance(lc, ASSIGNED, at=T0, worker_id="w2")
    assert load_changes(lc, moved) == {"w1": -1, "w2": 1}
    declined = advance(moved, NEW, at=T0, reason="not in town")
    assert (declined.worker_id, declined.reason) == (None, "not in town")
    assert load_changes(moved, declined) == {"w2": -1}


def test_priority_from_age_disability_and_the_urgent_mark() -> None:
    assert priority_of() is Priority.NORMAL
    assert priority_of(age=64) is Priority.NORMAL
    assert priority_of(age=65) is Priority.HIGH
    assert priority_of(age=30, disability=True) is Priority.HIGH
    assert priority_of(age=30, urgent=True) is Priority.URGENT


def test_the_sla_clock_shortens_with_priority() -> None:
    assert sla_deadline(T0, 24, Priority.NORMAL) == T0 + timedelta(hours=24)
    assert sla_deadline(T0, 24, Priority.HIGH) == T0 + timedelta(hours=12)
    assert sla_deadline(T0, 24, Priority.URGENT) == T0 + timedelta(hours=6)


def test_a_breach_is_an_end_after_the_deadline_or_an_open_request_past_it() -> None:
    deadline = T0 + timedelta(hours=1)
    late = deadline + timedelta(seconds=1)
    assert not sla_breached(deadline, now=late, ended_at=deadline)
    assert sla_breached(deadline, now=T0, ended_at=late)
    assert sla_breached(deadline, now=late, ended_at=None)
    assert not sla_breached(deadline, now=deadline, ended_at=None)


# ---- properties over random step sequences ----

steps = st.lists(
    st.tuples(
        st.sampled_from(list(RequestState)),
        st.sampled_from([None, "w1", "w2", "w3"]),
        st.sampled_from([None, "", "reason"]),
    ),
    max_size=30,
)


@given(steps=steps, information_only=st.booleans())
def test_a_request_moves_only_along_allowed_edges_and_ends_exactly_once(
    steps: list[tuple[RequestState, str | None, str | None]], information_only: bool
) -> None:
    lc = Lifecycle(information_only=information_only)
    ends = 0
    load: dict[str, int] = {}
    for n, (to, worker, reason) in enumerate(steps):
        at = T0 + timedelta(minutes=n)
        before = lc
        try:
            lc = advance(lc, to, at=at, worker_id=worker, reason=reason)
        except InvalidTransition:
            continue
        assert (before.state, to) in EDGES
        assert before.state not in END_STATES
        if lc.state in END_STATES:
            ends += 1
            assert lc.ended_at == at
        assert (lc.state in ACTIVE_STATES) == (lc.worker_id is not None and lc.is_open)
        for who, delta in load_changes(before, lc).items():
            load[who] = load.get(who, 0) + delta
        # The task counts for exactly the worker who holds it.
        holder = lc.worker_id if lc.state in ACTIVE_STATES else None
        assert {w: n for w, n in load.items() if n} == ({holder: 1} if holder else {})
    assert ends == (1 if lc.state in END_STATES else 0)


@given(steps=steps)
def test_every_step_outside_the_allowed_edges_is_refused(
    steps: list[tuple[RequestState, str | None, str | None]],
) -> None:
    lc = Lifecycle()
    for to, worker, reason in steps:
        if to not in TRANSITIONS[lc.state]:
            with pytest.raises(InvalidTransition):
                advance(lc, to, at=T0, worker_id=worker, reason=reason)
            continue
        with contextlib.suppress(InvalidTransition):
            lc = advance(lc, to, at=T0, worker_id=worker, reason=reason)


EDGES = {
    (NEW, ASSIGNED),
    (NEW, DONE),  # information-only categories only
    (NEW, FAILED),
    (NEW, CANCELLED),
    (ASSIGNED, NEW),  # declined, not accepted in time, or taken back
    (ASSIGNED, ASSIGNED),  # re-assigned to another field worker
    (ASSIGNED, ACCEPTED),
    (ASSIGNED, FAILED),
    (ASSIGNED, CANCELLED),
    (ACCEPTED, NEW),
    (ACCEPTED, ASSIGNED),
    (ACCEPTED, IN_PROGRESS),
    (ACCEPTED, DONE),
    (ACCEPTED, FAILED),
    (ACCEPTED, CANCELLED),
    (IN_PROGRESS, NEW),
    (IN_PROGRESS, ASSIGNED),
    (IN_PROGRESS, DONE),
    (IN_PROGRESS, FAILED),
    (IN_PROGRESS, CANCELLED),
}
"""The lifecycle as issue 5 describes it, written out edge by edge."""


def test_the_transition_table_is_exactly_the_described_lifecycle() -> None:
    assert {(a, b) for a, targets in TRANSITIONS.items() for b in targets} == EDGES
    assert Lifecycle().state is NEW
    assert {s for s, targets in TRANSITIONS.items() if not targets} == END_STATES
