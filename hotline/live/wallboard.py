"""The supervisor's wallboard as data: a `Snapshot` of every queue's figures and every agent's row,
and `apply`, which moves a snapshot on by one browser event.

Pure (the routing engine's state in, plain data out; no I/O, no clock): the live feed keeps its
own snapshot with it, the browser app follows the same rules, and the tests check Zulip's
invariant, that a snapshot plus the events after it equals a fresh snapshot.

One figure depends on time alone: the longest wait grows while nobody is answered. Sending an event
every second for it would flood the stream, so each queue row also says since when its longest
waiting contact has waited (`waiting_since`), and `at(now)` works the longest wait out for any
moment; rows are compared at one moment."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from hotline.live.events import AGENT_STATE, QUEUE_FIGURES
from hotline.routing.engine import RoutingEngine
from hotline.routing.figures import QueueFigures, queue_figures
from hotline.routing.types import AgentSkill, AgentSnapshot, ContactState, QueueSpec

_FIGURE_FIELDS = tuple(f.name for f in fields(QueueFigures))


@dataclass(frozen=True, slots=True)
class Person:
    """Who an agent id is, for people to read, and which queues their skills let them take."""

    user_id: str
    username: str
    name: str
    queues: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class AgentRow:
    """An agent on the wallboard: `since` is when they entered `state` (seconds since the epoch);
    `contact_id` the contact ringing them or connected to them."""

    username: str
    name: str
    state: str
    reason: str | None
    since: float
    contact_id: str | None
    queues: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "username": self.username,
            "name": self.name,
            "state": self.state,
            "reason": self.reason,
            "since": self.since,
            "contact_id": self.contact_id,
            "queues": list(self.queues),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AgentRow:
        return cls(
            username=data["username"],
            name=data["name"],
            state=data["state"],
            reason=data["reason"],
            since=data["since"],
            contact_id=data["contact_id"],
            queues=tuple(data["queues"]),
        )


@dataclass(frozen=True, slots=True)
class QueueRow:
    """A queue's figures as `GET /api/v1/queues` gives them, plus `waiting_since`: the arrival of
    the contact waiting longest (None when nobody waits), from which the longest wait counts."""

    figures: QueueFigures
    waiting_since: float | None

    @property
    def queue_id(self) -> str:
        return self.figures.queue_id

    def at(self, now: float) -> QueueRow:
        """The row as it reads at `now`: only the longest wait moves with time."""
        longest = 0.0 if self.waiting_since is None else max(0.0, now - self.waiting_since)
        return replace(self, figures=replace(self.figures, longest_wait_seconds=longest))

    def as_dict(self) -> dict[str, Any]:
        return {**self.figures.as_dict(), "waiting_since": self.waiting_since}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> QueueRow:
        figures = QueueFigures(**{name: data[name] for name in _FIGURE_FIELDS})
        return cls(
            figures=replace(figures, agents=dict(figures.agents)),
            waiting_since=data["waiting_since"],
        )


@dataclass(frozen=True)
class Snapshot:
    """`{"queues": [QueueRow], "agents": [AgentRow]}` on the wire; here keyed by queue id and by
    username, so that equality does not depend on order."""

    queues: Mapping[str, QueueRow] = field(default_factory=dict)
    agents: Mapping[str, AgentRow] = field(default_factory=dict)

    def at(self, now: float) -> Snapshot:
        """Every row as it reads at `now` (compare snapshots taken at different moments so)."""
        return Snapshot({q: row.at(now) for q, row in self.queues.items()}, dict(self.agents))

    def view(self, username: str, queues: Iterable[str]) -> Snapshot:
        """What an agent may see of it: their own row and the figures of their queues."""
        mine = set(queues)
        return Snapshot(
            {q: row for q, row in self.queues.items() if q in mine},
            {u: row for u, row in self.agents.items() if u == username},
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "queues": [row.as_dict() for row in self.queues.values()],
            "agents": [self.agents[u].as_dict() for u in sorted(self.agents)],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Snapshot:
        queues = [QueueRow.from_dict(q) for q in data["queues"]]
        agents = [AgentRow.from_dict(a) for a in data["agents"]]
        return cls({q.queue_id: q for q in queues}, {a.username: a for a in agents})


def apply(snapshot: Snapshot, message: Mapping[str, Any]) -> Snapshot:
    """The snapshot after one browser message (`{"type", "data", ...}` as sent). Each event that
    changes the wallboard carries the whole row it changes, so applying an event the snapshot
    already reflects changes nothing. Contact events and types this version does not know leave
    the wallboard as it is (agent rows get their contact with the agent's state)."""
    kind, data = message["type"], message["data"]
    if kind == AGENT_STATE:
        row = AgentRow.from_dict(data)
        return Snapshot(snapshot.queues, {**snapshot.agents, row.username: row})
    if kind == QUEUE_FIGURES:
        queue = QueueRow.from_dict(data["queue"])
        return Snapshot({**snapshot.queues, queue.queue_id: queue}, snapshot.agents)
    return snapshot


# ---------------------------------------------------------------------------- from the engine


def eligible_queues(
    skills: Mapping[str, AgentSkill], specs: Mapping[str, QueueSpec]
) -> frozenset[str]:
    """The queues whose skill requirements these skills meet (an agent may be offered their
    contacts)."""
    out = set()
    for queue_id, spec in specs.items():
        met = True
        for need in spec.skills:
            have = skills.get(need.skill)
            if have is None or have.level < need.min_level:
                met = False
                break
        if met:
            out.add(queue_id)
    return frozenset(out)


def agent_row(agent: AgentSnapshot, person: Person, specs: Mapping[str, QueueSpec]) -> AgentRow:
    queues = eligible_queues(agent.skills, specs)
    return AgentRow(
        username=person.username,
        name=person.name,
        state=agent.state.value,
        reason=agent.reason,
        since=agent.since,
        contact_id=agent.contact_id,
        queues=tuple(q for q in specs if q in queues),
    )


def queue_rows(
    engine: RoutingEngine,
    specs: Mapping[str, QueueSpec],
    *,
    now: float,
    day_start: float,
    names: Mapping[str, str],
) -> dict[str, QueueRow]:
    """Rows of the queues in `specs`, in their order: one pass over the contacts the router holds,
    whatever the number of queues (the feed recomputes only the queues an event touched)."""
    since: dict[str, float] = {}
    for contact in engine.contacts():
        if contact.state is ContactState.WAITING and contact.queue_id in specs:
            held = since.get(contact.queue_id)
            if held is None or contact.arrived < held:
                since[contact.queue_id] = contact.arrived
    figures = queue_figures(engine, specs, now=now, day_start=day_start, names=names)
    return {f.queue_id: QueueRow(f, since.get(f.queue_id)) for f in figures}


def build_snapshot(
    engine: RoutingEngine,
    specs: Mapping[str, QueueSpec],
    people: Mapping[str, Person],
    *,
    now: float,
    day_start: float,
    names: Mapping[str, str],
) -> Snapshot:
    """The wallboard now, straight from the engine: every queue, every agent the router knows
    (`people` by user id; an agent missing there shows under their id)."""
    agents: dict[str, AgentRow] = {}
    for agent in engine.agents():
        person = people.get(agent.agent_id) or Person(
            agent.agent_id, agent.agent_id, agent.agent_id
        )
        row = agent_row(agent, person, specs)
        agents[row.username] = row
    rows = queue_rows(engine, specs, now=now, day_start=day_start, names=names)
    return Snapshot(rows, agents)
