"""The simulator's behaviour on small worlds whose outcome can be worked out by hand, plus
invariants over random ones. The engine is the real one: these tests exercise the simulator's
contract with it (answer, hang up, abandon, breaks, shifts, callbacks, wrap-up, ringing)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotline.core.errors import InvalidInput
from hotline.planning.distributions import Constant, Exponential, PoissonProfile, ReplayedArrivals
from hotline.planning.report import summary
from hotline.planning.simulator import (
    AgentPlan,
    Break,
    CallbackPolicy,
    SimulationModel,
    Topic,
    simulate,
)
from hotline.routing.engine import RoutingEngine
from hotline.routing.types import (
    AgentSkill,
    OverflowAction,
    OverflowRule,
    QueueSpec,
    SkillRequirement,
)

SKILL = (AgentSkill("s"),)


def one_queue(
    arrivals: tuple[float, ...],
    *,
    handle: float = 20.0,
    agents: tuple[AgentPlan, ...] | None = None,
    patience: float | None = None,
    wrap_up: float = 0.0,
    sl_target: float = 8.0,
    horizon: float | None = None,
    **model: object,
) -> SimulationModel:
    """One queue, constant handle time, replayed arrival times: a world with a known answer."""
    queue = QueueSpec(
        "q", (SkillRequirement("s"),), wrap_up_seconds=wrap_up, sl_target_seconds=sl_target
    )
    return SimulationModel(
        queues=(queue,),
        topics=(
            Topic(
                "t", "q", Constant(handle), 1.0, None if patience is None else Constant(patience)
            ),
        ),
        arrivals=ReplayedArrivals(arrivals, horizon=horizon),
        agents=agents if agents is not None else (AgentPlan("a1", SKILL),),
        interval_seconds=60.0,
        sample_seconds=1.0,
        **model,  # type: ignore[arg-type]
    )


def test_waits_add_up_when_one_agent_serves_contacts_in_turn() -> None:
    # arrivals 0, 10, 20; each takes 15 s: waits 0, 5, 10
    result = simulate(one_queue((0.0, 10.0, 20.0), handle=15.0, horizon=60.0), seed=1)
    total = result.total()
    assert (total.offered, total.answered, total.abandoned) == (3, 3, 0)
    assert total.asa_seconds == pytest.approx(5.0)
    assert total.longest_wait == pytest.approx(10.0)
    assert total.service_level == pytest.approx(2 / 3)  # within 8 s: the first two
    assert result.outcomes == {"handled": 3}


def test_a_caller_out_of_patience_abandons_and_the_next_is_served() -> None:
    # the agent is busy 0..100; the second caller gives up at 5 + 30
    result = simulate(one_queue((0.0, 5.0), handle=100.0, patience=30.0, horizon=60.0), seed=1)
    total = result.total()
    assert (total.answered, total.abandoned) == (1, 1)
    assert total.longest_wait == pytest.approx(30.0)
    assert result.outcomes == {"handled": 1, "abandoned": 1}


def test_wrap_up_keeps_the_agent_from_the_next_contact() -> None:
    result = simulate(one_queue((0.0, 1.0), handle=5.0, wrap_up=10.0, horizon=60.0), seed=1)
    total = result.total()
    assert total.longest_wait == pytest.approx(14.0)  # 5 s talk + 10 s wrap-up - 1 s
    assert total.aht_seconds == pytest.approx(15.0)  # handle time counts the wrap-up


def test_ringing_delays_every_answer() -> None:
    result = simulate(one_queue((0.0, 100.0), ring_seconds=3.0, horizon=200.0), seed=1)
    assert result.total().asa_seconds == pytest.approx(3.0)


def test_an_agent_answers_only_after_logging_in() -> None:
    agents = (AgentPlan("a1", SKILL, login=100.0),)
    result = simulate(one_queue((0.0,), agents=agents, horizon=200.0), seed=1)
    assert result.total().longest_wait == pytest.approx(100.0)


def test_a_logout_waits_for_the_contact_in_hand() -> None:
    # shift ends at 10 while talking (0..20): that contact is handled; the one at 15 never is
    agents = (AgentPlan("a1", SKILL, login=0.0, logout=10.0),)
    result = simulate(one_queue((0.0, 15.0), agents=agents, patience=50.0, horizon=60.0), seed=1)
    assert result.outcomes == {"handled": 1, "abandoned": 1}


def test_a_break_waits_for_the_contact_and_then_lasts_its_full_length() -> None:
    # break planned at 5 for 60 s; the agent talks 0..20, so the break runs 20..80
    agents = (AgentPlan("a1", SKILL, breaks=(Break(5.0, 60.0),)),)
    result = simulate(one_queue((0.0, 30.0), agents=agents, horizon=120.0), seed=1)
    assert result.total().longest_wait == pytest.approx(50.0)


def test_agent_time_on_break_is_not_available_time() -> None:
    agents = (AgentPlan("a1", SKILL, breaks=(Break(0.0, 30.0),)),)
    result = simulate(one_queue((59.0,), handle=1.0, agents=agents, horizon=60.0), seed=1)
    row = result.intervals()[0]
    assert row.available_seconds == pytest.approx(29.0)
    assert row.handling_seconds == pytest.approx(1.0)


def test_callers_who_accept_a_callback_keep_their_place_and_do_not_abandon() -> None:
    queue = QueueSpec(
        "q",
        (SkillRequirement("s"),),
        sl_target_seconds=20.0,
        overflow=(OverflowRule(10.0, OverflowAction.CALLBACK),),
    )
    model = replace(
        one_queue((0.0, 1.0, 2.0), handle=100.0, patience=30.0, horizon=60.0),
        queues=(queue,),
        callbacks=CallbackPolicy(accept=1.0),
    )
    result = simulate(model, seed=1)
    total = result.total()
    assert result.outcomes == {"handled": 3}  # patience 30 s, yet nobody abandoned
    assert total.callbacks == 2
    assert total.longest_wait == pytest.approx(198.0)  # the third, called back at 200


def test_a_callback_that_never_reaches_the_caller_fails_after_its_attempts() -> None:
    queue = QueueSpec(
        "q",
        (SkillRequirement("s"),),
        overflow=(OverflowRule(10.0, OverflowAction.CALLBACK),),
    )
    policy = CallbackPolicy(accept=1.0, reach=0.0, dial=Constant(5.0), retry_seconds=60.0)
    model = replace(
        one_queue((0.0, 1.0), handle=50.0, horizon=60.0), queues=(queue,), callbacks=policy
    )
    result = simulate(model, seed=1)
    assert result.outcomes == {"handled": 1, "callback_failed": 1}
    assert result.end_time == pytest.approx(50.0 + 5.0 + (60.0 + 5.0) * 2)  # three dials


def test_a_widening_overflow_lets_other_agents_take_the_contact() -> None:
    queues = (
        QueueSpec(
            "q",
            (SkillRequirement("s"),),
            overflow=(OverflowRule(20.0, OverflowAction.WIDEN, (SkillRequirement("t"),)),),
        ),
    )
    agents = (AgentPlan("a1", SKILL), AgentPlan("b1", (AgentSkill("t"),)))
    model = replace(one_queue((0.0, 1.0), handle=100.0, horizon=60.0), queues=queues, agents=agents)
    result = simulate(model, seed=1)
    assert result.total().longest_wait == pytest.approx(20.0)


def test_replayed_topics_and_handle_times_are_used_as_recorded() -> None:
    queues = (
        QueueSpec("q1", (SkillRequirement("s"),)),
        QueueSpec("q2", (SkillRequirement("s"),)),
    )
    topics = (
        Topic("t1", "q1", Constant(1.0)),
        Topic("t2", "q2", Constant(1.0)),
    )
    arrivals = ReplayedArrivals(
        (0.0, 10.0, 20.0), topics=("t2", None, "t2"), handle_seconds=(7.0, None, 3.0)
    )
    model = SimulationModel(
        queues=queues,
        topics=topics,
        arrivals=arrivals,
        agents=(AgentPlan("a", SKILL),),
        interval_seconds=60.0,
    )
    result = simulate(model, seed=1)
    assert result.total("q2").offered >= 2
    assert result.total().handle_sum == pytest.approx(7.0 + 1.0 + 3.0)


def test_contacts_waiting_are_sampled_over_time() -> None:
    result = simulate(one_queue((0.0, 0.5, 0.7), handle=10.0, horizon=5.0), seed=1)
    # at 0 s nothing has arrived; at 1..5 s two contacts wait behind the one in hand
    assert result.queue_samples[:6] == [0, 2, 2, 2, 2, 2]


def test_the_same_seed_gives_the_same_run_and_another_seed_another() -> None:
    model = SimulationModel(
        queues=(QueueSpec("q", (SkillRequirement("s"),), wrap_up_seconds=5.0),),
        topics=(Topic("t", "q", Exponential(180.0), 1.0, Exponential(60.0)),),
        arrivals=PoissonProfile.constant(200.0, 2.0),
        agents=AgentPlan.team("a", 10, SKILL),
    )
    first, again, other = simulate(model, seed=7), simulate(model, seed=7), simulate(model, seed=8)
    assert summary(first) == summary(again)
    assert summary(first) != summary(other)


def test_a_run_without_a_seed_reports_the_seed_it_drew() -> None:
    model = one_queue((0.0, 1.0), horizon=10.0)
    result = simulate(model)
    assert summary(simulate(model, seed=result.seed)) == summary(result)


def test_contacts_nobody_can_serve_do_not_hang_the_run() -> None:
    agents = (AgentPlan("a1", SKILL, login=1000.0, logout=1001.0),)
    model = one_queue((0.0, 1.0), agents=agents, horizon=10.0)
    result = simulate(model, seed=1)
    assert result.contacts == 2
    assert sum(result.outcomes.values()) == 1  # one taken in the one second of the shift


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"agents": ()}, "at least one agent"),
        ({"topics": (Topic("t", "nowhere", Constant(1.0)),)}, "no queue 'nowhere'"),
        ({"ring_seconds": 25.0}, "offer timeout"),
        ({"interval_seconds": 90.5}, "whole number of seconds"),
        ({"callbacks": CallbackPolicy(accept=1.5)}, "between 0 and 1"),
    ],
)
def test_an_inconsistent_model_is_refused_with_a_clear_message(
    change: dict[str, object], message: str
) -> None:
    model = replace(one_queue((0.0,), horizon=10.0), **change)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match=message):
        simulate(model, seed=1)


@st.composite
def small_worlds(draw: st.DrawFn) -> SimulationModel:
    agents = draw(st.integers(1, 6))
    plans = []
    for k in range(agents):
        login = draw(st.sampled_from([0.0, 0.0, 300.0]))
        logout = draw(st.sampled_from([None, None, 1500.0]))
        breaks = draw(st.sampled_from([(), (Break(600.0, 120.0),)]))
        plans.append(AgentPlan(f"a{k}", SKILL, login, logout, breaks))
    overflow = draw(st.sampled_from([(), (OverflowRule(30.0, OverflowAction.CALLBACK),)]))
    queue = QueueSpec(
        "q",
        (SkillRequirement("s"),),
        wrap_up_seconds=draw(st.sampled_from([0.0, 15.0])),
        overflow=overflow,
    )
    patience = draw(st.sampled_from([None, Exponential(60.0)]))
    return SimulationModel(
        queues=(queue,),
        topics=(Topic("t", "q", Exponential(draw(st.sampled_from([30.0, 120.0]))), 1.0, patience),),
        arrivals=PoissonProfile(
            600.0, tuple(draw(st.lists(st.integers(0, 40), min_size=1, max_size=4)))
        ),
        agents=tuple(plans),
        interval_seconds=600.0,
        ring_seconds=draw(st.sampled_from([0.0, 2.0])),
        callbacks=CallbackPolicy(
            accept=draw(st.sampled_from([0.0, 0.5])),
            reach=draw(st.sampled_from([1.0, 0.5])),
            retry_seconds=60.0,
        ),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(model=small_worlds(), seed=st.integers(0, 2**32 - 1))
def test_every_contact_is_counted_once_and_ends_once_unless_still_held(
    model: SimulationModel, seed: int
) -> None:
    engine = RoutingEngine(model.queues, interval_seconds=model.interval_seconds)
    result = simulate(model, seed=seed, engine=engine)
    total = result.total()
    ended = sum(result.outcomes.values())
    assert total.offered == result.contacts
    assert ended + len(engine.contacts()) == result.contacts  # ended once, or still held
    assert total.answered + total.abandoned <= total.offered
    assert result.outcomes.get("abandoned", 0) == total.abandoned
    assert min(result.queue_samples, default=0) >= 0
    occupancy = total.occupancy
    assert occupancy is None or 0.0 <= occupancy <= 1.0
    assert summary(simulate(model, seed=seed)) == summary(result)
