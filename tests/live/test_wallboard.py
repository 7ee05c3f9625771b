"""The wallboard's pure part: how one browser event moves a snapshot on, how rows read at a moment,
and what an agent may see of it."""

from __future__ import annotations

import json

from hotline.live.events import (
    AGENT_STATE,
    CONTACT_ENDED,
    CONTACT_OFFERED,
    QUEUE_FIGURES,
    LiveEvent,
)
from hotline.live.wallboard import AgentRow, QueueRow, Snapshot, apply, build_snapshot
from hotline.routing.engine import RoutingEngine
from hotline.routing.figures import QueueFigures
from hotline.routing.types import AgentSkill, QueueSpec, SkillRequirement

ANNA = AgentRow("agent01", "Anna Ivanova", "ready", None, 100.0, None, ("medical",))


def _queue(queue_id: str, waiting: int = 0, since: float | None = None) -> QueueRow:
    figures = QueueFigures(queue_id, queue_id.title(), waiting, 0, 0, 0.0, 0.0, {"ready": 1})
    return QueueRow(figures, since)


def _wire(kind: str, data: dict[str, object]) -> dict[str, object]:
    """A message as the browser parses it."""
    message: dict[str, object] = json.loads(LiveEvent.make(1, kind, 200.0, dict(data)).text)
    return message


def test_an_agent_state_event_adds_or_replaces_the_agents_row() -> None:
    busy = AgentRow("agent01", "Anna Ivanova", "busy", None, 150.0, "c1", ("medical",))
    added = apply(Snapshot(), _wire(AGENT_STATE, ANNA.as_dict()))
    replaced = apply(added, _wire(AGENT_STATE, busy.as_dict()))
    assert added == Snapshot({}, {"agent01": ANNA})
    assert replaced == Snapshot({}, {"agent01": busy})


def test_a_queue_figures_event_replaces_that_queue_only() -> None:
    before = Snapshot({"medical": _queue("medical"), "english": _queue("english")}, {})
    after = apply(before, _wire(QUEUE_FIGURES, {"queue": _queue("medical", 2, 90.0).as_dict()}))
    assert after.queues == {"medical": _queue("medical", 2, 90.0), "english": _queue("english")}


def test_applying_an_event_the_snapshot_already_reflects_changes_nothing() -> None:
    snapshot = Snapshot({"medical": _queue("medical", 1, 50.0)}, {"agent01": ANNA})
    for message in (
        _wire(AGENT_STATE, ANNA.as_dict()),
        _wire(QUEUE_FIGURES, {"queue": _queue("medical", 1, 50.0).as_dict()}),
    ):
        assert apply(snapshot, message) == snapshot


def test_contact_events_and_unknown_types_leave_the_wallboard_as_it_is() -> None:
    snapshot = Snapshot({"medical": _queue("medical")}, {"agent01": ANNA})
    for message in (
        _wire(CONTACT_OFFERED, {"contact_id": "c1", "username": "agent01", "queue": "medical"}),
        _wire(CONTACT_ENDED, {"contact_id": "c1", "outcome": "handled"}),
        _wire("something.new", {"x": 1}),
    ):
        assert apply(snapshot, message) is snapshot


def test_the_longest_wait_reads_from_when_the_oldest_contact_arrived() -> None:
    row = _queue("medical", 2, since=1000.0)
    assert row.at(1030.0).figures.longest_wait_seconds == 30.0
    assert _queue("medical").at(1030.0).figures.longest_wait_seconds == 0.0


def test_a_snapshot_survives_its_wire_form() -> None:
    snapshot = Snapshot({"medical": _queue("medical", 3, 12.5)}, {"agent01": ANNA})
    assert Snapshot.from_dict(json.loads(json.dumps(snapshot.as_dict()))) == snapshot


def test_an_agent_sees_their_own_row_and_their_queues() -> None:
    pavel = AgentRow("agent02", "Pavel Orlov", "ready", None, 1.0, None, ("english",))
    snapshot = Snapshot(
        {"medical": _queue("medical"), "english": _queue("english")},
        {"agent01": ANNA, "agent02": pavel},
    )
    assert snapshot.view("agent02", ["english"]) == Snapshot(
        {"english": _queue("english")}, {"agent02": pavel}
    )


def test_a_snapshot_from_the_engine_lists_each_agents_queues_by_skill() -> None:
    specs = {
        "medical": QueueSpec("medical", (SkillRequirement("medical", 5),)),
        "any": QueueSpec("any", ()),
    }
    engine = RoutingEngine(specs.values())
    engine.login("a1", [AgentSkill("medical", 3)], 10.0, ready=True)
    engine.login("a2", [AgentSkill("medical", 7)], 10.0)
    engine.arrive("c1", "medical", 12.0)
    snapshot = build_snapshot(engine, specs, {}, now=20.0, day_start=0.0, names={})
    assert {u: (a.state, a.queues) for u, a in snapshot.agents.items()} == {
        "a1": ("ready", ("any",)),
        "a2": ("not_ready", ("medical", "any")),
    }
    assert snapshot.queues["medical"].waiting_since == 12.0
    assert snapshot.queues["medical"].figures.longest_wait_seconds == 8.0


def test_a_queue_row_carries_its_topic_target_and_last_30_minutes() -> None:
    specs = {
        "medical": QueueSpec(
            "medical", (), sl_target_seconds=10, topic="medical", topic_name="Medical help"
        ),
        "other": QueueSpec("other", ()),
    }
    engine = RoutingEngine(specs.values())
    engine.login("a1", [], 0.0, ready=True)
    engine.arrive("c1", "medical", 100.0)  # offered to a1 at once
    engine.answer("c1", 115.0)  # waited 15 s: beyond the 10 s target
    engine.arrive("c2", "medical", 120.0)
    engine.abandon("c2", 150.0)
    rows = build_snapshot(engine, specs, {}, now=200.0, day_start=0.0, names={}).queues
    medical = rows["medical"].figures
    assert (medical.topic, medical.topic_name, medical.sl_target_seconds) == (
        "medical",
        "Medical help",
        10,
    )
    assert (medical.offered_30min, medical.answered_30min, medical.abandoned_30min) == (2, 1, 1)
    assert (medical.service_level_30min, medical.asa_30min_seconds) == (0.0, 15.0)
    assert rows["other"].figures.topic is None
    later = build_snapshot(engine, specs, {}, now=200.0 + 31 * 60, day_start=0.0, names={})
    assert later.queues["medical"].figures.answered_30min == 0
    assert later.queues["medical"].figures.answered_today == 1
