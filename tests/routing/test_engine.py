"""The routing engine, one behaviour per test."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from hotline.core.errors import RoutingRejected
from hotline.routing.engine import RoutingEngine
from hotline.routing.types import (
    AgentSkill,
    AgentState,
    AgentStateChanged,
    CallbackSuggested,
    ContactEnded,
    ContactMoved,
    Decision,
    Offer,
    OfferWithdrawn,
    Outcome,
    OverflowAction,
    OverflowRule,
    QueueSpec,
    SkillRequirement,
    Strategy,
)


def queue(
    queue_id: str = "medical",
    *skills: str,
    strategy: Strategy = Strategy.LONGEST_IDLE,
    **kwargs: object,
) -> QueueSpec:
    reqs = tuple(SkillRequirement(s) for s in (skills or (queue_id,)))
    return QueueSpec(queue_id, reqs, strategy, **kwargs)  # type: ignore[arg-type]


def offers(decisions: list[Decision]) -> list[tuple[str, str]]:
    return [(d.contact_id, d.agent_id) for d in decisions if isinstance(d, Offer)]


def ended(decisions: list[Decision]) -> list[ContactEnded]:
    return [d for d in decisions if isinstance(d, ContactEnded)]


def test_arriving_contact_is_offered_to_the_only_ready_agent() -> None:
    engine = RoutingEngine([queue()])
    engine.login("a1", [AgentSkill("medical")], 0, ready=True)
    assert offers(engine.arrive("c1", "medical", 1)) == [("c1", "a1")]
    assert engine.agent("a1").state is AgentState.RESERVED


def test_contact_waits_when_no_agent_has_the_skill() -> None:
    engine = RoutingEngine([queue()])
    engine.login("a1", [AgentSkill("employment")], 0, ready=True)
    assert offers(engine.arrive("c1", "medical", 1)) == []
    assert engine.waiting_count("medical") == 1


def test_minimum_skill_level_is_respected() -> None:
    spec = QueueSpec("medical", (SkillRequirement("medical", 5),))
    engine = RoutingEngine([spec])
    engine.login("junior", [AgentSkill("medical", 3)], 0, ready=True)
    assert offers(engine.arrive("c1", "medical", 1)) == []
    assert offers(engine.login("senior", [AgentSkill("medical", 7)], 2, ready=True)) == [
        ("c1", "senior")
    ]


def test_longest_idle_agent_gets_the_contact() -> None:
    engine = RoutingEngine([queue()])
    engine.login("late", [AgentSkill("medical")], 10, ready=True)
    engine.login("early", [AgentSkill("medical")], 10, ready=False)
    engine.set_ready("early", 5 + 10)
    # "late" became ready at 10, "early" at 15: "late" has been idle longest
    assert offers(engine.arrive("c1", "medical", 20)) == [("c1", "late")]


def test_best_skill_first_prefers_the_highest_level_then_longest_idle() -> None:
    engine = RoutingEngine([queue(strategy=Strategy.BEST_SKILL)])
    engine.login("novice", [AgentSkill("medical", 2)], 0, ready=True)
    engine.login("expert", [AgentSkill("medical", 9)], 5, ready=True)
    engine.login("expert2", [AgentSkill("medical", 9)], 6, ready=True)
    assert offers(engine.arrive("c1", "medical", 10)) == [("c1", "expert")]
    assert offers(engine.arrive("c2", "medical", 11)) == [("c2", "expert2")]
    assert offers(engine.arrive("c3", "medical", 12)) == [("c3", "novice")]


def test_round_robin_takes_agents_in_turn() -> None:
    engine = RoutingEngine([queue(strategy=Strategy.ROUND_ROBIN)])
    for name in ("a", "b", "c"):
        engine.login(name, [AgentSkill("medical")], 0, ready=True)
    taken = []
    now = 1.0
    for i in range(6):
        (offer,) = offers(engine.arrive(f"c{i}", "medical", now))
        taken.append(offer[1])
        engine.answer(f"c{i}", now)
        engine.hangup(f"c{i}", now + 1)
        now += 2
    assert taken[:3] == ["a", "b", "c"]
    assert taken[3:] == taken[:3]


def test_least_occupied_agent_gets_the_contact() -> None:
    engine = RoutingEngine([queue(strategy=Strategy.LEAST_OCCUPIED)])
    engine.login("busy", [AgentSkill("medical")], 0, ready=True)
    engine.arrive("c1", "medical", 0)
    engine.answer("c1", 0)
    engine.hangup("c1", 90)  # "busy" worked 90 of 100 seconds
    engine.login("fresh", [AgentSkill("medical")], 95, ready=True)
    engine.set_not_ready("busy", 96)
    engine.set_ready("busy", 99)
    engine.set_not_ready("fresh", 99.5)
    engine.set_ready("fresh", 100)  # ready after "busy": longest idle would pick "busy"
    assert offers(engine.arrive("c2", "medical", 101)) == [("c2", "fresh")]


def test_higher_priority_contact_is_taken_first() -> None:
    engine = RoutingEngine([queue()])
    engine.arrive("normal", "medical", 1)
    engine.arrive("urgent", "medical", 2, priority=5)
    assert offers(engine.login("a1", [AgentSkill("medical")], 3, ready=True)) == [("urgent", "a1")]


def test_queue_priority_applies_to_multi_skilled_agents() -> None:
    engine = RoutingEngine(
        [queue("medical"), queue("psychology", priority=3)],
    )
    engine.arrive("m", "medical", 1)
    engine.arrive("p", "psychology", 2)
    skills = [AgentSkill("medical"), AgentSkill("psychology")]
    assert offers(engine.login("a1", skills, 3, ready=True)) == [("p", "a1")]


def test_agent_serves_the_preferred_skill_first_at_equal_priority() -> None:
    engine = RoutingEngine([queue("medical"), queue("psychology")])
    engine.arrive("m", "medical", 1)
    engine.arrive("p", "psychology", 2)
    skills = [AgentSkill("medical", preference=2), AgentSkill("psychology", preference=1)]
    assert offers(engine.login("a1", skills, 3, ready=True)) == [("p", "a1")]


def test_without_preference_the_longest_waiting_contact_is_taken() -> None:
    engine = RoutingEngine([queue("medical"), queue("psychology")])
    engine.arrive("m", "medical", 1)
    engine.arrive("p", "psychology", 2)
    skills = [AgentSkill("medical"), AgentSkill("psychology")]
    assert offers(engine.login("a1", skills, 3, ready=True)) == [("m", "a1")]


def test_offer_timeout_returns_contact_to_head_and_sets_agent_not_ready() -> None:
    engine = RoutingEngine([queue(offer_timeout_seconds=15)])
    engine.login("a1", [AgentSkill("medical")], 0, ready=True)
    engine.arrive("first", "medical", 1)
    engine.arrive("second", "medical", 2)
    assert engine.next_deadline() == 16
    decisions = engine.advance(16)
    assert OfferWithdrawn("first", "a1", "missed") in decisions
    agent = engine.agent("a1")
    assert (agent.state, agent.reason) == (AgentState.NOT_READY, "missed")
    # the missed contact kept its arrival time: it is still ahead of "second"
    assert offers(engine.login("a2", [AgentSkill("medical")], 17, ready=True)) == [("first", "a2")]


def test_abandon_while_waiting_is_recorded_with_its_wait() -> None:
    engine = RoutingEngine([queue()])
    engine.arrive("c1", "medical", 10)
    (end,) = ended(engine.abandon("c1", 52))
    assert (end.outcome, end.waited) == (Outcome.ABANDONED, 42)
    total = engine.stats.total("medical")
    assert (total.offered, total.abandoned, total.longest_wait) == (1, 1, 42)


def test_abandon_while_ringing_frees_the_agent_who_keeps_their_idle_place() -> None:
    engine = RoutingEngine([queue()])
    engine.login("a1", [AgentSkill("medical")], 0, ready=True)
    engine.login("a2", [AgentSkill("medical")], 5, ready=True)
    engine.arrive("c1", "medical", 10)  # offered to a1, the longest idle
    decisions = engine.abandon("c1", 12)
    assert OfferWithdrawn("c1", "a1", "abandoned") in decisions
    assert engine.agent("a1").state is AgentState.READY
    assert offers(engine.arrive("c2", "medical", 13)) == [("c2", "a1")]


def test_short_abandons_are_left_out_of_the_service_level() -> None:
    engine = RoutingEngine([queue(sl_target_seconds=20)], short_abandon_seconds=5)
    engine.login("a1", [AgentSkill("medical")], 0, ready=True)
    engine.arrive("answered", "medical", 1)
    engine.answer("answered", 2)
    engine.arrive("short", "medical", 3)
    engine.abandon("short", 4)
    engine.arrive("long", "medical", 5)
    engine.abandon("long", 60)
    total = engine.stats.total("medical")
    assert (total.offered, total.abandoned, total.short_abandoned) == (3, 2, 1)
    assert total.service_level == pytest.approx(1 / 2)


def test_service_level_and_asa_count_answers_within_the_target() -> None:
    engine = RoutingEngine([queue(sl_target_seconds=20)])
    engine.login("a1", [AgentSkill("medical")], 0, ready=False)
    engine.arrive("quick", "medical", 0)
    engine.arrive("slow", "medical", 0)
    engine.set_ready("a1", 10)
    engine.answer("quick", 10)
    engine.hangup("quick", 20)
    engine.answer("slow", 30)
    total = engine.stats.total("medical")
    assert total.service_level == pytest.approx(0.5)
    assert total.asa_seconds == pytest.approx(20)


def test_wrap_up_runs_its_time_then_the_agent_takes_the_next_contact() -> None:
    engine = RoutingEngine([queue(wrap_up_seconds=30)])
    engine.login("a1", [AgentSkill("medical")], 0, ready=True)
    engine.arrive("c1", "medical", 0)
    engine.answer("c1", 1)
    engine.arrive("c2", "medical", 5)
    engine.hangup("c1", 100)
    assert engine.agent("a1").state is AgentState.WRAP_UP
    assert engine.next_deadline() == 130
    assert offers(engine.advance(130)) == [("c2", "a1")]
    assert engine.stats.total("medical").aht_seconds == pytest.approx(99 + 30)


def test_agent_can_end_wrap_up_early() -> None:
    engine = RoutingEngine([queue(wrap_up_seconds=60)])
    engine.login("a1", [AgentSkill("medical")], 0, ready=True)
    engine.arrive("c1", "medical", 0)
    engine.answer("c1", 1)
    engine.hangup("c1", 10)
    engine.end_wrap_up("a1", 15)
    assert engine.agent("a1").state is AgentState.READY
    assert engine.next_deadline() is None


def test_not_ready_requested_during_a_call_applies_after_wrap_up() -> None:
    engine = RoutingEngine([queue(wrap_up_seconds=10)])
    engine.login("a1", [AgentSkill("medical")], 0, ready=True)
    engine.arrive("c1", "medical", 0)
    engine.answer("c1", 1)
    engine.set_not_ready("a1", 5, "lunch")
    assert engine.agent("a1").state is AgentState.BUSY
    engine.arrive("c2", "medical", 6)
    engine.hangup("c1", 20)
    assert offers(engine.advance(30)) == []
    agent = engine.agent("a1")
    assert (agent.state, agent.reason) == (AgentState.NOT_READY, "lunch")


def test_logout_during_a_call_happens_after_it() -> None:
    engine = RoutingEngine([queue()])
    engine.login("a1", [AgentSkill("medical")], 0, ready=True)
    engine.arrive("c1", "medical", 0)
    engine.answer("c1", 1)
    engine.logout("a1", 5)
    assert engine.agent("a1").state is AgentState.BUSY
    engine.hangup("c1", 20)
    assert engine.agent("a1").state is AgentState.OFFLINE


def test_overflow_widens_the_skill_set_after_its_time() -> None:
    widen = OverflowRule(30, OverflowAction.WIDEN, (SkillRequirement("general"),))
    engine = RoutingEngine([queue(overflow=(widen,))])
    engine.login("generalist", [AgentSkill("general")], 0, ready=True)
    assert offers(engine.arrive("c1", "medical", 10)) == []
    assert engine.next_deadline() == 40
    decisions = engine.advance(40)
    assert ContactMoved("c1", "medical", "medical", True) in decisions
    assert offers(decisions) == [("c1", "generalist")]


def test_overflow_moves_the_contact_keeping_its_place() -> None:
    move = OverflowRule(60, OverflowAction.MOVE, queue="backup")
    engine = RoutingEngine([queue(overflow=(move,)), queue("backup", "general")])
    engine.arrive("moved", "medical", 0)
    engine.arrive("local", "backup", 30)
    decisions = engine.advance(60)
    assert ContactMoved("moved", "medical", "backup") in decisions
    assert engine.waiting_count("backup") == 2
    # "moved" arrived first: it is ahead of "local" in the backup queue
    assert offers(engine.login("g", [AgentSkill("general")], 61, ready=True)) == [("moved", "g")]
    assert engine.stats.total("medical").overflowed == 1


def test_max_wait_suggests_a_callback_and_the_callback_keeps_its_place() -> None:
    suggest = OverflowRule(120, OverflowAction.CALLBACK, message="press 1 for a callback")
    engine = RoutingEngine([queue(overflow=(suggest,))])
    engine.arrive("c1", "medical", 0)
    engine.arrive("c2", "medical", 10)
    decisions = engine.advance(120)
    assert CallbackSuggested("c1", "medical", "press 1 for a callback") in decisions
    engine.request_callback("c1", 125)
    decisions = engine.login("a1", [AgentSkill("medical")], 200, ready=True)
    (offer,) = [d for d in decisions if isinstance(d, Offer)]
    assert (offer.contact_id, offer.is_callback) == ("c1", True)
    assert engine.stats.total("medical").callbacks == 1


def test_failed_callback_is_retried_later_in_its_place() -> None:
    engine = RoutingEngine([queue()])
    engine.arrive("cb", "medical", 0)
    engine.request_callback("cb", 1)
    engine.login("a1", [AgentSkill("medical")], 10, ready=True)
    engine.answer("cb", 11)
    engine.callback_failed("cb", 40, retry_at=300)
    assert engine.agent("a1").state is AgentState.READY
    engine.arrive("later", "medical", 100)
    engine.answer("later", 100)
    assert engine.advance(300) == []  # the retry is due, but a1 is busy: the callback waits
    assert engine.waiting_count("medical") == 1
    retry = [d for d in engine.hangup("later", 400) if isinstance(d, Offer)]
    assert [(o.contact_id, o.agent_id, o.is_callback) for o in retry] == [("cb", "a1", True)]


def test_max_wait_message_ends_the_contact_with_its_prompt() -> None:
    message = OverflowRule(300, OverflowAction.MESSAGE, message="please call later")
    engine = RoutingEngine([queue(overflow=(message,))])
    engine.arrive("c1", "medical", 0)
    (end,) = ended(engine.advance(300))
    assert (end.outcome, end.message, end.waited) == (Outcome.MESSAGE, "please call later", 300)


@dataclass(frozen=True)
class NineToFive:
    def is_open(self, at: float) -> bool:
        return 9 * 3600 <= at % 86400 < 17 * 3600


def test_a_closed_queue_ends_the_contact_with_its_message() -> None:
    spec = queue(hours=NineToFive(), closed_message="we are closed")
    engine = RoutingEngine([spec])
    (end,) = ended(engine.arrive("night", "medical", 3 * 3600))
    assert (end.outcome, end.message) == (Outcome.CLOSED, "we are closed")
    assert ended(engine.arrive("day", "medical", 10 * 3600)) == []
    assert engine.stats.total("medical").closed == 1


def test_blind_transfer_moves_a_connected_contact_and_wraps_up_the_agent() -> None:
    engine = RoutingEngine([queue(wrap_up_seconds=10), queue("ministry", "ministry")])
    engine.login("a1", [AgentSkill("medical")], 0, ready=True)
    engine.login("m1", [AgentSkill("ministry")], 0, ready=True)
    engine.arrive("c1", "medical", 0)
    engine.answer("c1", 2)
    decisions = engine.transfer("c1", "ministry", 50)
    assert ContactMoved("c1", "medical", "ministry") in decisions
    assert offers(decisions) == [("c1", "m1")]
    assert engine.agent("a1").state is AgentState.WRAP_UP


def test_supervisor_skill_change_takes_effect_at_once() -> None:
    engine = RoutingEngine([queue()])
    engine.login("a1", [AgentSkill("employment")], 0, ready=True)
    engine.arrive("c1", "medical", 1)
    decisions = engine.set_skills("a1", [AgentSkill("employment"), AgentSkill("medical")], 2)
    assert offers(decisions) == [("c1", "a1")]


def test_a_republished_queue_applies_to_contacts_already_waiting() -> None:
    engine = RoutingEngine([queue()])
    engine.login("g", [AgentSkill("general")], 0, ready=True)
    engine.arrive("c1", "medical", 1)
    decisions = engine.set_queue(queue("medical", "general"), 2)
    assert offers(decisions) == [("c1", "g")]


def test_expected_wait_grows_with_the_line() -> None:
    engine = RoutingEngine([queue()])
    engine.login("a1", [AgentSkill("medical")], 0, ready=True)
    assert engine.expected_wait("medical", 0) == 0
    engine.arrive("c1", "medical", 0)
    engine.answer("c1", 0)
    engine.hangup("c1", 100)  # AHT so far: 100 s
    engine.arrive("c2", "medical", 100)
    engine.answer("c2", 100)
    first = engine.expected_wait("medical", 101)
    engine.arrive("c3", "medical", 101)
    second = engine.expected_wait("medical", 102)
    assert first == pytest.approx(100)
    assert second == pytest.approx(200)


def test_state_changes_are_reported_with_reason_and_time() -> None:
    engine = RoutingEngine([queue()])
    engine.login("a1", [AgentSkill("medical")], 0)
    decisions = engine.set_not_ready("a1", 5, "training")
    assert decisions == [AgentStateChanged("a1", AgentState.NOT_READY, "training", 5)]


def test_interval_statistics_split_by_arrival_interval_and_merge_to_an_hour() -> None:
    engine = RoutingEngine([queue()], interval_seconds=900)
    engine.login("a1", [AgentSkill("medical")], 0, ready=True)
    for i, at in enumerate((100, 1000, 2000, 3000)):
        engine.arrive(f"c{i}", "medical", at)
        engine.answer(f"c{i}", at + 5)
        engine.hangup(f"c{i}", at + 50)
    quarter = engine.stats.intervals("medical")
    assert [row.offered for row in quarter] == [1, 1, 1, 1]
    hour = engine.stats.intervals("medical", length=3600)
    assert [(row.start, row.offered, row.answered) for row in hour] == [(0, 4, 4)]
    assert hour[0].occupancy == pytest.approx(4 * 50 / 3050)


def test_sliding_window_counts_only_recent_minutes() -> None:
    engine = RoutingEngine([queue()], window_seconds=1800)
    engine.arrive("old", "medical", 0)
    engine.abandon("old", 10)
    engine.arrive("new", "medical", 3000)
    engine.abandon("new", 3010)
    window = engine.stats.window("medical", 3100)
    assert (window.abandoned, window.offered) == (1, 1)


@pytest.mark.parametrize(
    ("command", "args"),
    [
        ("answer", ("nobody", 1)),
        ("hangup", ("nobody", 1)),
        ("abandon", ("nobody", 1)),
        ("arrive", ("c", "no-such-queue", 1)),
        ("set_ready", ("ghost", 1)),
        ("end_wrap_up", ("ghost", 1)),
    ],
)
def test_commands_on_unknown_things_are_rejected(command: str, args: tuple[object, ...]) -> None:
    engine = RoutingEngine([queue()])
    with pytest.raises(RoutingRejected):
        getattr(engine, command)(*args)


def test_answering_a_waiting_contact_is_rejected_and_changes_nothing() -> None:
    engine = RoutingEngine([queue()])
    engine.arrive("c1", "medical", 1)
    with pytest.raises(RoutingRejected):
        engine.answer("c1", 2)
    assert engine.waiting_count("medical") == 1


def test_time_cannot_go_backwards() -> None:
    engine = RoutingEngine([queue()])
    engine.arrive("c1", "medical", 10)
    with pytest.raises(RoutingRejected):
        engine.abandon("c1", 5)


def test_a_queue_without_skills_is_served_by_any_agent() -> None:
    engine = RoutingEngine([QueueSpec("anyone", ())])
    engine.login("a1", [AgentSkill("employment")], 0, ready=True)
    assert offers(engine.arrive("c1", "anyone", 1)) == [("c1", "a1")]


def test_agent_time_is_split_even_with_an_interval_of_fractional_seconds() -> None:
    engine = RoutingEngine([queue()], interval_seconds=120_967.74)
    engine.login("a1", [AgentSkill("medical")], 0, ready=True)
    engine.set_not_ready("a1", 500_000.5)
    rows = engine.stats.intervals()
    assert sum(r.available_seconds for r in rows) == pytest.approx(500_000.5)
    assert len(rows) == 5


def test_reading_statistics_changes_nothing() -> None:
    engine = RoutingEngine([queue()])
    engine.login("a1", [AgentSkill("medical")], 0, ready=True)
    engine.arrive("c1", "medical", 10)
    engine.answer("c1", 10)
    engine.hangup("c1", 100)
    first = [r.as_dict() for r in engine.stats.intervals("medical")]
    first[0]["offered"] = 99
    engine.stats.intervals("medical")[0].offered = 42
    assert [r.as_dict() for r in engine.stats.intervals("medical")][0]["offered"] == 1


def test_a_retried_callback_counts_one_answer_and_is_handled_once() -> None:
    engine = RoutingEngine([queue(sl_target_seconds=20)])
    engine.arrive("cb", "medical", 0)
    engine.request_callback("cb", 1)
    engine.login("a1", [AgentSkill("medical")], 49, ready=True)
    engine.answer("cb", 49)
    engine.callback_failed("cb", 60, retry_at=90)
    engine.advance(90)
    engine.answer("cb", 99)
    (end,) = ended(engine.hangup("cb", 160))
    total = engine.stats.total("medical")
    assert (total.answered, total.handled) == (1, 1)
    assert total.asa_seconds == pytest.approx(49)
    assert end.waited == pytest.approx(49)
    assert total.handle_sum == pytest.approx(11 + 61)


def test_a_closed_queue_still_accepts_a_callback() -> None:
    engine = RoutingEngine([queue(hours=NineToFive(), closed_message="we are closed")])
    assert ended(engine.arrive("night", "medical", 3 * 3600, callback=True)) == []
    engine.request_callback("night", 3 * 3600 + 5)
    decisions = engine.login("a1", [AgentSkill("medical")], 9 * 3600, ready=True)
    assert [(o.contact_id, o.is_callback) for o in decisions if isinstance(o, Offer)] == [
        ("night", True)
    ]
