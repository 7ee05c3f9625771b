"""Choosing a field worker: by district, kind and category, availability, capacity and load; manual
override; and, over random sequences of dispatch steps (hypothesis stateful testing), that nobody
is ever given more than their capacity, nor a task while unavailable or outside their district or
kind, and that a request that someone could take is never left unassigned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import hypothesis.strategies as st
import pytest
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from hotline.dispatch.assignment import (
    AssignmentRefused,
    CategorySpec,
    FieldWorkerSpec,
    WorkerPool,
    acceptance_deadline,
    can_take,
    check_manual,
    choose,
)
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
    InvalidTransition,
    Lifecycle,
    RequestState,
    advance,
    load_changes,
)

T0 = datetime(2025, 4, 1, 9, 0, tzinfo=UTC)
MEDICINE = CategorySpec("medicine", ("volunteer", "polyclinic_staff"))
FIREWOOD = CategorySpec("firewood", ("social_worker", "courier"), accept_minutes=240)
QUESTION = CategorySpec("question", (), information_only=True)


def worker(
    worker_id: str, kind: str = "volunteer", *districts: str, **kw: object
) -> FieldWorkerSpec:
    return FieldWorkerSpec(worker_id, kind, frozenset(districts or ("centre",)), **kw)  # type: ignore[arg-type]


def test_the_least_loaded_worker_of_the_district_and_kind_is_chosen() -> None:
    pool = WorkerPool.of(
        [
            worker("busy", capacity=2, load=1),
            worker("idle", capacity=2),
            worker("elsewhere", "volunteer", "north"),
            worker("courier", "courier"),
        ]
    )
    chosen = pool.choose(MEDICINE, district="centre")
    assert chosen is not None
    assert chosen.id == "idle"


def test_load_is_compared_relative_to_capacity() -> None:
    big = worker("big", capacity=10, load=3)
    small = worker("small", capacity=2, load=1)
    assert choose([big, small], MEDICINE, district="centre") is big


def test_among_equals_the_one_longest_without_a_task_is_chosen() -> None:
    recent = worker("a", last_assigned_at=T0)
    earlier = worker("b", last_assigned_at=T0 - timedelta(hours=1))
    assert choose([recent, earlier], MEDICINE, district="centre") is earlier


def test_nobody_is_chosen_when_all_are_full_unavailable_or_excluded() -> None:
    pool = WorkerPool.of(
        [
            worker("full", capacity=1, load=1),
            worker("away", available=False),
            worker("declined"),
        ]
    )
    assert pool.choose(MEDICINE, district="centre", exclude={"declined"}) is None


def test_a_worker_limited_to_some_categories_gets_only_those() -> None:
    social = worker("s", "social_worker", categories=frozenset({"groceries"}))
    assert not can_take(social, FIREWOOD, "centre")
    assert can_take(worker("c", "courier"), FIREWOOD, "centre")


def test_a_manual_choice_may_cross_districts_but_not_capacity_kind_or_availability() -> None:
    check_manual(worker("far", "volunteer", "north"), MEDICINE)
    with pytest.raises(AssignmentRefused, match="does not fulfil"):
        check_manual(worker("c", "courier"), MEDICINE)
    with pytest.raises(AssignmentRefused, match="not available"):
        check_manual(worker("away", available=False), MEDICINE)
    with pytest.raises(AssignmentRefused, match="already holds 2 of 2 tasks"):
        check_manual(worker("full", capacity=2, load=2), MEDICINE)
    with pytest.raises(AssignmentRefused, match="information-only"):
        check_manual(worker("any"), QUESTION)


def test_a_task_not_accepted_in_time_is_due_for_someone_else() -> None:
    assert acceptance_deadline(T0, MEDICINE) == T0 + timedelta(minutes=30)
    assert acceptance_deadline(T0, FIREWOOD) == T0 + timedelta(hours=4)


def test_the_pool_refuses_a_task_beyond_capacity_and_reindexes_a_changed_worker() -> None:
    pool = WorkerPool.of([worker("w", capacity=1)])
    pool.assign("w", at=T0)
    with pytest.raises(AssignmentRefused):
        pool.assign("w", at=T0)
    pool.put(worker("w", "volunteer", "north", capacity=1))
    assert pool.choose(MEDICINE, district="centre") is None
    assert [w.id for w in pool.candidates("north", ["volunteer"])] == ["w"]


# ---- dispatch over random step sequences ----

DISTRICTS = ("centre", "north", "south")
KINDS = ("volunteer", "courier", "social_worker", "polyclinic_staff")
CATEGORIES = (
    MEDICINE,
    FIREWOOD,
    CategorySpec("groceries", ("volunteer", "courier", "social_worker")),
)


def _fits(w: FieldWorkerSpec, category: CategorySpec, district: str) -> bool:
    """Who may take a request automatically, spelt out here rather than with the engine's own
    `can_take`."""
    return (
        w.available
        and w.load < w.capacity
        and district in w.districts
        and w.kind in category.kinds
        and (not w.categories or category.id in w.categories)
    )


class Dispatch(RuleBasedStateMachine):
    """Requests and field workers driven by the same pure code the service runs: lifecycle steps
    with `advance`, loads with `load_changes`, choices with `WorkerPool.choose`."""

    def __init__(self) -> None:
        super().__init__()
        self.pool = WorkerPool()
        self.requests: dict[int, tuple[CategorySpec, str, Lifecycle]] = {}
        self.ends: dict[int, int] = {}
        self.excluded: dict[int, set[str]] = {}
        self.now = T0

    def _step(self, number: int, to: RequestState, **kw: object) -> None:
        category, district, before = self.requests[number]
        after = advance(before, to, at=self.now, **kw)  # type: ignore[arg-type]
        for who, delta in load_changes(before, after).items():
            if delta > 0:
                self.pool.assign(who, at=self.now)
            else:
                self.pool.release(who)
        self.requests[number] = (category, district, after)
        if after.state in END_STATES:
            self.ends[number] = self.ends.get(number, 0) + 1

    @rule(
        n=st.integers(0, 11),
        kind=st.sampled_from(KINDS),
        districts=st.sets(st.sampled_from(DISTRICTS), min_size=1),
        capacity=st.integers(1, 3),
        only=st.sets(st.sampled_from([c.id for c in CATEGORIES]), max_size=2),
    )
    def hire(self, n: int, kind: str, districts: set[str], capacity: int, only: set[str]) -> None:
        worker_id = f"w{n}"
        if worker_id in {w.id for w in self.pool}:
            return
        self.pool.put(
            FieldWorkerSpec(worker_id, kind, frozenset(districts), frozenset(only), capacity)
        )

    @precondition(lambda self: len(self.pool) > 0)
    @rule(data=st.data(), available=st.booleans())
    def set_available(self, data: st.DataObject, available: bool) -> None:
        who = data.draw(st.sampled_from(sorted(w.id for w in self.pool)))
        self.pool.set_available(who, available)

    @rule(category=st.sampled_from(CATEGORIES), district=st.sampled_from(DISTRICTS))
    def new_request(self, category: CategorySpec, district: str) -> None:
        number = len(self.requests)
        self.requests[number] = (category, district, Lifecycle())
        self.excluded[number] = set()
        self.auto_assign_request(number)

    def auto_assign_request(self, number: int) -> None:
        category, district, lc = self.requests[number]
        if lc.state is not NEW:
            return
        chosen = self.pool.choose(category, district=district, exclude=self.excluded[number])
        fitting = {
            w.id
            for w in self.pool
            if w.id not in self.excluded[number] and _fits(w, category, district)
        }
        if chosen is None:
            assert fitting == set()  # nobody could take it
            return
        assert chosen.id in fitting
        self._step(number, ASSIGNED, worker_id=chosen.id)

    @precondition(lambda self: len(self.requests) > 0)
    @rule(data=st.data())
    def auto_assign(self, data: st.DataObject) -> None:
        self.auto_assign_request(data.draw(st.sampled_from(sorted(self.requests))))

    @precondition(lambda self: len(self.requests) > 0)
    @rule(
        data=st.data(),
        to=st.sampled_from([ACCEPTED, IN_PROGRESS, DONE, FAILED, CANCELLED, NEW]),
    )
    def step(self, data: st.DataObject, to: RequestState) -> None:
        number = data.draw(st.sampled_from(sorted(self.requests)))
        _, _, lc = self.requests[number]
        try:
            self._step(number, to, reason="because")
        except InvalidTransition:
            return
        if to is NEW and lc.worker_id is not None:  # declined: not offered to them again
            self.excluded[number].add(lc.worker_id)

    @precondition(lambda self: len(self.requests) > 0 and len(self.pool) > 0)
    @rule(data=st.data())
    def manual_assign(self, data: st.DataObject) -> None:
        number = data.draw(st.sampled_from(sorted(self.requests)))
        who = self.pool.get(data.draw(st.sampled_from(sorted(w.id for w in self.pool))))
        category, _, lc = self.requests[number]
        try:
            check_manual(who, category)
            self._step(number, ASSIGNED, worker_id=who.id)
        except (AssignmentRefused, InvalidTransition):
            return

    @rule(minutes=st.integers(1, 120))
    def time_passes(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)

    @invariant()
    def nobody_holds_more_than_their_capacity(self) -> None:
        for w in self.pool:
            assert 0 <= w.load <= w.capacity

    @invariant()
    def each_workers_load_is_the_tasks_they_hold(self) -> None:
        held: dict[str, int] = {}
        for _, _, lc in self.requests.values():
            if lc.state in ACTIVE_STATES and lc.worker_id is not None:
                held[lc.worker_id] = held.get(lc.worker_id, 0) + 1
        assert {w.id: w.load for w in self.pool if w.load} == held

    @invariant()
    def tasks_are_held_by_workers_of_an_allowed_kind(self) -> None:
        for category, _, lc in self.requests.values():
            if lc.state in ACTIVE_STATES:
                assert lc.worker_id is not None
                assert self.pool.get(lc.worker_id).serves(category)

    @invariant()
    def every_request_ends_at_most_once(self) -> None:
        for number, (_, _, lc) in self.requests.items():
            assert self.ends.get(number, 0) == (1 if lc.state in END_STATES else 0)


Dispatch.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
TestDispatch = Dispatch.TestCase
