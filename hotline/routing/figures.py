"""Live figures of each queue, read from the routing engine: what a wallboard shows.

Pure (the engine's state and statistics in, plain data out): the HTTP API serves it, and the
simulator could show the same. "Today" is the statistics intervals since local midnight that this
router has seen (the router's statistics start when the process does; reports from the event log
cover whole days). "30min" is the router's sliding window (`RoutingStats.window`, one-minute
buckets): what ended its wait in the last 30 minutes, so it moves at each minute boundary even
when nothing happens (the live feed looks again at every minute)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from hotline.routing.engine import RoutingEngine
from hotline.routing.stats import IntervalStats
from hotline.routing.types import AgentSkill, AgentState, ContactState, QueueSpec, SkillRequirement


@dataclass(frozen=True, slots=True)
class QueueFigures:
    queue_id: str
    name: str
    waiting: int  # contacts waiting now, callbacks included
    callbacks_waiting: int
    ringing: int  # offers ringing an agent now
    longest_wait_seconds: float  # of the contacts waiting now
    expected_wait_seconds: float  # for a caller joining now (the router's estimate)
    agents: dict[str, int] = field(
        default_factory=dict
    )  # logged-in agents who may take it, by state
    offered_today: int = 0
    answered_today: int = 0
    abandoned_today: int = 0
    service_level_today: float | None = None
    asa_today_seconds: float | None = None
    # the sliding window: contacts whose wait ended (answered or abandoned) in the last 30 minutes
    offered_30min: int = 0
    answered_30min: int = 0
    abandoned_30min: int = 0
    service_level_30min: float | None = None
    asa_30min_seconds: float | None = None
    sl_target_seconds: float = 20.0
    topic: str | None = None  # the topic skill the queue serves, for grouping
    topic_name: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _eligible(skills: Mapping[str, AgentSkill], requirements: tuple[SkillRequirement, ...]) -> bool:
    for requirement in requirements:
        skill = skills.get(requirement.skill)
        if skill is None or skill.level < requirement.min_level:
            return False
    return True


def queue_figures(
    engine: RoutingEngine,
    specs: Mapping[str, QueueSpec],
    *,
    now: float,
    day_start: float,
    names: Mapping[str, str] | None = None,
) -> list[QueueFigures]:
    """Figures of every queue in `specs` at `now`; "today" counts intervals from `day_start`."""
    contacts = engine.contacts()
    agents = [a for a in engine.agents() if a.state is not AgentState.OFFLINE]
    out: list[QueueFigures] = []
    for queue_id, spec in specs.items():
        mine = [c for c in contacts if c.queue_id == queue_id]
        waiting = [c for c in mine if c.state is ContactState.WAITING]
        by_state: dict[str, int] = {}
        for agent in agents:
            if _eligible(agent.skills, spec.skills):
                by_state[agent.state.value] = by_state.get(agent.state.value, 0) + 1
        today = IntervalStats(start=day_start)
        for row in engine.stats.intervals(queue_id):
            if row.start + engine.stats.interval_seconds > day_start:
                today.merge(row)
        recent = engine.stats.window(queue_id, now)
        out.append(
            QueueFigures(
                queue_id=queue_id,
                name=(names or {}).get(queue_id, queue_id),
                waiting=len(waiting),
                callbacks_waiting=sum(1 for c in waiting if c.is_callback),
                ringing=sum(1 for c in mine if c.state is ContactState.OFFERED),
                longest_wait_seconds=max((now - c.arrived for c in waiting), default=0.0),
                expected_wait_seconds=engine.expected_wait(queue_id, now),
                agents=by_state,
                offered_today=today.offered,
                answered_today=today.answered,
                abandoned_today=today.abandoned,
                service_level_today=today.service_level,
                asa_today_seconds=today.asa_seconds,
                offered_30min=recent.offered,
                answered_30min=recent.answered,
                abandoned_30min=recent.abandoned,
                service_level_30min=recent.service_level,
                asa_30min_seconds=recent.asa_seconds,
                sl_target_seconds=spec.sl_target_seconds,
                topic=spec.topic,
                topic_name=spec.topic_name,
            )
        )
    return out
