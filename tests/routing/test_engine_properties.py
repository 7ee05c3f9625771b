"""Invariants of the routing engine over random event sequences (hypothesis stateful testing).

The model below drives the engine with arbitrary interleavings of agent and caller actions and the
passing of time, and after every step checks what must always hold:
- a contact is never offered to (or held by) two agents, and no agent holds two contacts;
- no ready agent with a matching skill stays idle while a matching contact waits;
- every contact ends exactly once, and a contact the router still holds has not ended.
"""

from __future__ import annotations

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from hotline.core.errors import RoutingRejected
from hotline.routing.engine import RoutingEngine
from hotline.routing.types import (
    AgentSkill,
    AgentState,
    ContactEnded,
    ContactState,
    Decision,
    Offer,
    OverflowAction,
    OverflowRule,
    QueueSpec,
    SkillRequirement,
    Strategy,
)

SKILLS = ("medical", "psychology", "employment", "general")
AGENTS = tuple(f"a{i}" for i in range(6))


def _queues() -> list[QueueSpec]:
    return [
        QueueSpec(
            "medical",
            (SkillRequirement("medical", 3),),
            Strategy.LONGEST_IDLE,
            wrap_up_seconds=5,
            offer_timeout_seconds=10,
            overflow=(
                OverflowRule(20, OverflowAction.WIDEN, (SkillRequirement("general"),)),
                OverflowRule(60, OverflowAction.CALLBACK),
                OverflowRule(90, OverflowAction.MOVE, queue="general"),
            ),
        ),
        QueueSpec(
            "psychology",
            (SkillRequirement("psychology"),),
            Strategy.BEST_SKILL,
            priority=2,
            offer_timeout_seconds=8,
            overflow=(OverflowRule(45, OverflowAction.MESSAGE, message="later"),),
        ),
        QueueSpec(
            "employment",
            (SkillRequirement("employment"),),
            Strategy.ROUND_ROBIN,
            wrap_up_seconds=3,
        ),
        QueueSpec("general", (SkillRequirement("general"),), Strategy.LEAST_OCCUPIED),
    ]


def _satisfies(skills: dict[str, AgentSkill], reqs: tuple[SkillRequirement, ...]) -> bool:
    return all(r.skill in skills and skills[r.skill].level >= r.min_level for r in reqs)


skill_sets = st.lists(
    st.builds(
        AgentSkill,
        st.sampled_from(SKILLS),
        st.integers(1, 5),
        st.integers(0, 2),
    ),
    min_size=1,
    max_size=3,
    unique_by=lambda s: s.skill,
)


class RouterMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.engine = RoutingEngine(_queues(), short_abandon_seconds=2)
        self.now = 0.0
        self.next_contact = 0
        self.arrived: set[str] = set()
        self.ended: dict[str, int] = {}
        self.offered_to: dict[str, str] = {}  # contact -> agent, from Offer decisions

    # ---- helpers

    def _apply(self, decisions: list[Decision]) -> None:
        for d in decisions:
            if isinstance(d, ContactEnded):
                self.ended[d.contact_id] = self.ended.get(d.contact_id, 0) + 1
            elif isinstance(d, Offer):
                self.offered_to[d.contact_id] = d.agent_id

    def _contacts_in(self, *states: ContactState) -> list[str]:
        return sorted(c.contact_id for c in self.engine.contacts() if c.state in states)

    def _agents_in(self, *states: AgentState) -> list[str]:
        return sorted(a.agent_id for a in self.engine.agents() if a.state in states)

    # ---- rules

    @rule(delta=st.floats(0, 30, allow_nan=False))
    def time_passes(self, delta: float) -> None:
        self.now += delta
        self._apply(self.engine.advance(self.now))

    @rule(agent=st.sampled_from(AGENTS), skills=skill_sets, ready=st.booleans())
    def login(self, agent: str, skills: list[AgentSkill], ready: bool) -> None:
        try:
            self._apply(self.engine.login(agent, skills, self.now, ready=ready))
        except RoutingRejected:
            assert not self._logged_out(agent)

    @rule(agent=st.sampled_from(AGENTS), skills=skill_sets)
    def change_skills(self, agent: str, skills: list[AgentSkill]) -> None:
        try:
            self._apply(self.engine.set_skills(agent, skills, self.now))
        except RoutingRejected:
            assert agent not in {a.agent_id for a in self.engine.agents()}

    def _logged_out(self, agent: str) -> bool:
        return agent not in self._agents_in(*(s for s in AgentState if s is not AgentState.OFFLINE))

    @rule(agent=st.sampled_from(AGENTS))
    def ready(self, agent: str) -> None:
        try:
            self._apply(self.engine.set_ready(agent, self.now))
        except RoutingRejected:
            assert self._logged_out(agent)

    @rule(agent=st.sampled_from(AGENTS), reason=st.sampled_from(["break", "lunch"]))
    def not_ready(self, agent: str, reason: str) -> None:
        try:
            self._apply(self.engine.set_not_ready(agent, self.now, reason))
        except RoutingRejected:
            assert self._logged_out(agent)

    @rule(agent=st.sampled_from(AGENTS))
    def logout(self, agent: str) -> None:
        try:
            self._apply(self.engine.logout(agent, self.now))
        except RoutingRejected:
            assert agent not in {a.agent_id for a in self.engine.agents()}

    @rule(
        queue=st.sampled_from(["medical", "psychology", "employment", "general"]),
        priority=st.integers(0, 3),
    )
    def arrive(self, queue: str, priority: int) -> None:
        contact = f"c{self.next_contact}"
        self.next_contact += 1
        self.arrived.add(contact)
        self._apply(self.engine.arrive(contact, queue, self.now, priority=priority))

    @precondition(lambda self: bool(self._contacts_in(ContactState.OFFERED)))
    @rule(data=st.data())
    def answer(self, data: st.DataObject) -> None:
        contact = data.draw(st.sampled_from(self._contacts_in(ContactState.OFFERED)))
        self._apply(self.engine.answer(contact, self.now))

    @precondition(lambda self: bool(self._contacts_in(ContactState.OFFERED)))
    @rule(data=st.data())
    def decline(self, data: st.DataObject) -> None:
        contact = data.draw(st.sampled_from(self._contacts_in(ContactState.OFFERED)))
        self._apply(self.engine.decline(contact, self.now))

    @precondition(lambda self: bool(self._contacts_in(ContactState.CONNECTED)))
    @rule(data=st.data())
    def hangup(self, data: st.DataObject) -> None:
        contact = data.draw(st.sampled_from(self._contacts_in(ContactState.CONNECTED)))
        self._apply(self.engine.hangup(contact, self.now))

    @precondition(lambda self: bool(self._contacts_in(ContactState.CONNECTED)))
    @rule(data=st.data(), queue=st.sampled_from(["general", "employment"]))
    def transfer(self, data: st.DataObject, queue: str) -> None:
        contact = data.draw(st.sampled_from(self._contacts_in(ContactState.CONNECTED)))
        self._apply(self.engine.transfer(contact, queue, self.now))

    @precondition(lambda self: bool(self._contacts_in(ContactState.WAITING, ContactState.OFFERED)))
    @rule(data=st.data())
    def abandon(self, data: st.DataObject) -> None:
        candidates = [
            c.contact_id
            for c in self.engine.contacts()
            if c.state in (ContactState.WAITING, ContactState.OFFERED) and not c.is_callback
        ]
        if candidates:
            contact = data.draw(st.sampled_from(candidates))
            self._apply(self.engine.abandon(contact, self.now))

    @precondition(lambda self: bool(self._contacts_in(ContactState.WAITING)))
    @rule(data=st.data())
    def callback(self, data: st.DataObject) -> None:
        contact = data.draw(st.sampled_from(self._contacts_in(ContactState.WAITING)))
        self._apply(self.engine.request_callback(contact, self.now))

    @precondition(lambda self: bool(self._agents_in(AgentState.WRAP_UP)))
    @rule(data=st.data())
    def end_wrap_up(self, data: st.DataObject) -> None:
        agent = data.draw(st.sampled_from(self._agents_in(AgentState.WRAP_UP)))
        self._apply(self.engine.end_wrap_up(agent, self.now))

    # ---- invariants

    @invariant()
    def one_contact_per_agent_and_one_agent_per_contact(self) -> None:
        holders: dict[str, str] = {}
        for agent in self.engine.agents():
            holding = agent.state in (AgentState.RESERVED, AgentState.BUSY)
            assert (agent.contact_id is not None) == holding, agent
            if agent.contact_id is not None:
                assert agent.contact_id not in holders, "a contact held by two agents"
                holders[agent.contact_id] = agent.agent_id
        for contact in self.engine.contacts():
            if contact.state in (ContactState.OFFERED, ContactState.CONNECTED):
                assert holders.get(contact.contact_id) == contact.agent_id
                assert self.offered_to[contact.contact_id] == contact.agent_id
            else:
                assert contact.contact_id not in holders

    @invariant()
    def no_ready_agent_idles_while_a_matching_contact_waits(self) -> None:
        ready = [a for a in self.engine.agents() if a.state is AgentState.READY]
        for contact in self.engine.contacts():
            if contact.state is not ContactState.WAITING:
                continue
            for agent in ready:
                for reqs in contact.requirements:
                    assert not _satisfies(agent.skills, reqs), (contact, agent)

    @invariant()
    def every_contact_ends_exactly_once(self) -> None:
        assert all(count == 1 for count in self.ended.values()), self.ended
        held = {c.contact_id for c in self.engine.contacts()}
        assert held.isdisjoint(self.ended)
        assert held | set(self.ended) == self.arrived

    @invariant()
    def statistics_add_up(self) -> None:
        total = self.engine.stats.total()
        assert total.offered == len(self.arrived) - total.closed
        assert total.answered_in_target <= total.answered
        assert total.short_abandoned <= total.abandoned <= total.offered
        waiting = sum(1 for c in self.engine.contacts() if c.state is ContactState.WAITING)
        assert self.engine.waiting_count() <= waiting


TestRouter = RouterMachine.TestCase
TestRouter.settings = settings(
    max_examples=300,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
