"""The routing engine (ACD): pure, deterministic, fast.

Events and the time come in as method calls (`arrive`, `answer`, `hangup`, `set_ready`, ...,
each given `now`); decisions come out as a list (`Offer`, `OfferWithdrawn`, `ContactEnded`, ...).
There is no I/O and no clock inside, so the live service and the simulator run this same code, the
simulator far faster than real time.

How it decides. Every distinct "who may take it" (a set of skill requirements, with the strategy
of the queue that uses it) is a *pool*: the agents who satisfy it, a heap of its ready agents
ordered by the strategy, and a heap of the contacts waiting for it ordered by priority and
arrival. A queue has a pool; a widening overflow adds another pool to a contact. The engine keeps
one invariant after every call: no pool has both a ready agent and a waiting contact. So a new
contact is matched against the ready heaps of its pools, and an agent who becomes ready is matched
against the waiting heaps of the pools they belong to (the highest priority first, then the skill
they prefer, then the longest waiting). Heaps use lazy deletion: an entry carries the version of
its agent or contact at push time and is dropped when it surfaces stale. That keeps each decision
at O(pools x log n).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from typing import Any

from hotline.core.errors import RoutingRejected
from hotline.routing.stats import IntervalStats, RoutingStats
from hotline.routing.types import (
    AgentSkill,
    AgentSnapshot,
    AgentState,
    AgentStateChanged,
    CallbackSuggested,
    ContactEnded,
    ContactMoved,
    ContactSnapshot,
    ContactState,
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

READY = AgentState.READY
RESERVED = AgentState.RESERVED
BUSY = AgentState.BUSY
WRAP_UP = AgentState.WRAP_UP
NOT_READY = AgentState.NOT_READY
OFFLINE = AgentState.OFFLINE
_HANDLING = frozenset({RESERVED, BUSY, WRAP_UP})

WAITING = ContactState.WAITING
OFFERED = ContactState.OFFERED
CONNECTED = ContactState.CONNECTED
ENDED = ContactState.ENDED

# timer kinds
_T_OFFER = 0
_T_WRAP = 1
_T_OVERFLOW = 2
_T_RETRY = 3

_DEFAULT_AHT = 180.0  # expected-wait estimate before a queue has handled anything


class _Pool:
    __slots__ = ("index", "reqs", "strategy", "members", "ready", "waiting", "rr_counter")

    def __init__(self, index: int, reqs: tuple[SkillRequirement, ...], strategy: Strategy) -> None:
        self.index = index
        self.reqs = reqs
        self.strategy = strategy
        self.members: set[str] = set()
        # (key1, key2, seq, agent, version)
        self.ready: list[tuple[float, float, int, _Agent, int]] = []
        # (-priority, arrived, seq, contact, version)
        self.waiting: list[tuple[int, float, int, _Contact, int]] = []
        self.rr_counter = 0


class _Queue:
    __slots__ = ("spec", "pool", "overflow", "waiting", "row", "row_start", "row_end")

    def __init__(self, spec: QueueSpec, pool: _Pool) -> None:
        self.spec = spec
        self.pool = pool
        # the statistics row of the current interval, kept at hand for arrivals
        self.row = IntervalStats()
        self.row_start = float("inf")
        self.row_end = float("-inf")
        self.overflow: tuple[OverflowRule, ...] = tuple(
            sorted(spec.overflow, key=lambda r: r.after)
        )
        self.waiting = 0


class _Agent:
    __slots__ = (
        "id",
        "skills",
        "state",
        "since",
        "reason",
        "contact",
        "pools",
        "version",
        "pending",
        "idle_since",
        "login_at",
        "handling_total",
        "rr_last",
        "wrap_row",
        "wrap_rows",
    )

    def __init__(self, agent_id: str, skills: dict[str, AgentSkill], now: float) -> None:
        self.id = agent_id
        self.skills = skills
        self.state = OFFLINE
        self.since = now
        self.reason: str | None = None
        self.contact: _Contact | None = None
        # (pool, preference, -level sum on the pool's skills)
        self.pools: list[tuple[_Pool, int, int]] = []
        self.version = 0
        self.pending: tuple[AgentState, str | None] | None = None  # after the current contact
        self.idle_since = now
        self.login_at = now
        self.handling_total = 0.0
        self.rr_last: dict[int, int] = {}
        self.wrap_rows: tuple[IntervalStats, ...] | None = None


class _Contact:
    __slots__ = (
        "id",
        "queue",
        "priority",
        "arrived",
        "entered",
        "state",
        "agent",
        "pools",
        "version",
        "is_callback",
        "answered_at",
        "waited",
        "rows",
        "step",
        "queued",
    )

    def __init__(self, contact_id: str, queue: _Queue, priority: int, now: float) -> None:
        self.id = contact_id
        self.queue = queue
        self.priority = priority
        self.arrived = now  # keeps the contact's place: survives overflow moves and callbacks
        self.entered = now  # when it entered its current queue: overflow rules count from here
        self.state = WAITING
        self.agent: _Agent | None = None
        self.pools: list[_Pool] = [queue.pool]
        self.version = 0
        self.is_callback = False
        self.answered_at = 0.0
        self.waited = -1.0  # its wait, fixed at its first answer (a retried callback keeps it)
        # the statistics rows it counts in: its queue's, and the centre's (until a transfer)
        self.rows: tuple[IntervalStats, ...] = ()
        self.step = 0  # next overflow rule of its queue
        self.queued = False  # in its pools' waiting heaps and counted in its queue's waiting


def _satisfies(skills: dict[str, AgentSkill], reqs: tuple[SkillRequirement, ...]) -> bool:
    for req in reqs:
        have = skills.get(req.skill)
        if have is None or have.level < req.min_level:
            return False
    return True


class RoutingEngine:
    """The ACD. See the module docstring for how it decides."""

    def __init__(
        self,
        queues: Iterable[QueueSpec] = (),
        *,
        short_abandon_seconds: float = 0.0,
        interval_seconds: float = 900.0,
        window_seconds: float | None = 1800.0,
        start: float = 0.0,
    ) -> None:
        self.short_abandon_seconds = short_abandon_seconds
        self.stats = RoutingStats(interval_seconds, window_seconds or 0.0)
        self._track_window = window_seconds is not None
        self._queues: dict[str, _Queue] = {}
        self._pools: dict[tuple[tuple[SkillRequirement, ...], Strategy], _Pool] = {}
        self._agents: dict[str, _Agent] = {}
        self._contacts: dict[str, _Contact] = {}
        self._timers: list[tuple[float, int, int, Any, int]] = []
        self._seq = 0
        self._now = start
        self._out: list[Decision] = []
        for spec in queues:
            self._add_queue(spec)

    # ------------------------------------------------------------------ configuration

    def set_queue(self, spec: QueueSpec, now: float) -> list[Decision]:
        """Add a queue, or replace one live: contacts waiting in it move to its new pool."""
        self._begin(now)
        old = self._queues.get(spec.id)
        if old is None:
            self._add_queue(spec)
            return self._finish()
        self._check_spec(spec)
        old.spec = spec
        old.pool = self._pool_for(spec.skills, spec.strategy)
        old.overflow = tuple(sorted(spec.overflow, key=lambda r: r.after))
        for contact in list(self._contacts.values()):
            if contact.queue is old and contact.state is WAITING:
                self._leave_waiting(contact)
                contact.pools = [old.pool]
                contact.step = 0
                self._enqueue(contact, now)
        return self._finish()

    def _add_queue(self, spec: QueueSpec) -> None:
        self._check_spec(spec)
        self._queues[spec.id] = _Queue(spec, self._pool_for(spec.skills, spec.strategy))

    def _check_spec(self, spec: QueueSpec) -> None:
        for rule in spec.overflow:
            if rule.action is OverflowAction.MOVE and rule.queue is None:
                raise RoutingRejected(
                    f"queue {spec.id!r}: a move rule needs a queue", queue=spec.id
                )
            if rule.action is OverflowAction.WIDEN and not rule.skills:
                raise RoutingRejected(
                    f"queue {spec.id!r}: a widen rule needs skills", queue=spec.id
                )

    def _pool_for(self, reqs: tuple[SkillRequirement, ...], strategy: Strategy) -> _Pool:
        key = (tuple(sorted(reqs, key=lambda r: (r.skill, r.min_level))), strategy)
        pool = self._pools.get(key)
        if pool is None:
            pool = self._pools[key] = _Pool(len(self._pools), reqs, strategy)
            for agent in self._agents.values():
                if _satisfies(agent.skills, reqs):
                    self._join_pool(agent, pool)
                    if agent.state is READY:
                        self._push_ready(agent, pool, agent.pools[-1][2])
        return pool

    def _join_pool(self, agent: _Agent, pool: _Pool) -> None:
        pool.members.add(agent.id)
        # A queue that names no skill is served by every agent, at no particular preference.
        preference = agent.skills[pool.reqs[0].skill].preference if pool.reqs else 0
        level_sum = sum(agent.skills[r.skill].level for r in pool.reqs)
        agent.pools.append((pool, preference, -level_sum))

    # ------------------------------------------------------------------ agents

    def login(
        self, agent_id: str, skills: Iterable[AgentSkill], now: float, *, ready: bool = False
    ) -> list[Decision]:
        self._begin(now)
        agent = self._agents.get(agent_id)
        if agent is not None and agent.state is not OFFLINE:
            raise RoutingRejected(f"agent {agent_id!r} is already logged in", agent=agent_id)
        if agent is None:
            agent = self._agents[agent_id] = _Agent(agent_id, {}, now)
        agent.login_at = now
        agent.handling_total = 0.0
        self._assign_skills(agent, skills)
        self._set_state(agent, READY if ready else NOT_READY, now, None if ready else "login")
        if ready:
            self._agent_ready(agent, now, now)
        return self._finish()

    def logout(self, agent_id: str, now: float) -> list[Decision]:
        """Log out now, or after the contact the agent is handling."""
        self._begin(now)
        agent = self._agent(agent_id)
        if agent.state is OFFLINE:
            return self._finish()
        if agent.state in (BUSY, WRAP_UP):
            agent.pending = (OFFLINE, "logout")
        else:
            if agent.state is RESERVED:
                self._withdraw_offer(agent, now, "logout")
            self._set_state(agent, OFFLINE, now, "logout")
        return self._finish()

    def set_ready(self, agent_id: str, now: float) -> list[Decision]:
        self._begin(now)
        agent = self._agent(agent_id)
        state = agent.state
        if state is OFFLINE:
            raise RoutingRejected(f"agent {agent_id!r} is not logged in", agent=agent_id)
        if state is BUSY:
            agent.pending = None  # ready after this contact (ending any pending not-ready)
        elif state is WRAP_UP:
            agent.pending = None
            self._end_wrap_up(agent, now)
        elif state is NOT_READY:
            self._set_state(agent, READY, now, None)
            self._agent_ready(agent, now, now)
        return self._finish()

    def set_not_ready(self, agent_id: str, now: float, reason: str = "break") -> list[Decision]:
        """Not ready now; or, while handling a contact, once it and its wrap-up end."""
        self._begin(now)
        agent = self._agent(agent_id)
        state = agent.state
        if state is OFFLINE:
            raise RoutingRejected(f"agent {agent_id!r} is not logged in", agent=agent_id)
        if state in (BUSY, WRAP_UP):
            agent.pending = (NOT_READY, reason)
        elif state is RESERVED:
            self._withdraw_offer(agent, now, reason)
            self._set_state(agent, NOT_READY, now, reason)
        else:
            self._set_state(agent, NOT_READY, now, reason)
        return self._finish()

    def set_skills(self, agent_id: str, skills: Iterable[AgentSkill], now: float) -> list[Decision]:
        """Change an agent's skills live (a supervisor's edit): takes effect for the next offer."""
        self._begin(now)
        agent = self._agent(agent_id)
        for pool, _, _ in agent.pools:
            pool.members.discard(agent.id)
        self._assign_skills(agent, skills)
        if agent.state is READY:
            agent.version += 1  # old heap entries are stale now
            self._agent_ready(agent, now, agent.idle_since)
        return self._finish()

    def end_wrap_up(self, agent_id: str, now: float) -> list[Decision]:
        self._begin(now)
        agent = self._agent(agent_id)
        if agent.state is not WRAP_UP:
            raise RoutingRejected(f"agent {agent_id!r} is not in wrap-up", agent=agent_id)
        self._end_wrap_up(agent, now)
        return self._finish()

    def _assign_skills(self, agent: _Agent, skills: Iterable[AgentSkill]) -> None:
        agent.skills = {s.skill: s for s in skills}
        agent.pools = []
        for pool in self._pools.values():
            if _satisfies(agent.skills, pool.reqs):
                self._join_pool(agent, pool)

    # ------------------------------------------------------------------ contacts

    def arrive(
        self,
        contact_id: str,
        queue_id: str,
        now: float,
        *,
        priority: int = 0,
        arrived: float | None = None,
        callback: bool = False,
    ) -> list[Decision]:
        """A contact joins a queue. `arrived` restores an earlier arrival time (its place in line),
        as when waiting callbacks are rebuilt from the database after a restart. `callback`: the
        caller is about to ask for a callback, which a closed queue accepts too (it is called
        back once agents are there)."""
        self._begin(now)
        if contact_id in self._contacts:
            raise RoutingRejected(f"contact {contact_id!r} is already routed", contact=contact_id)
        queue = self._queues.get(queue_id)
        if queue is None:
            raise RoutingRejected(f"no queue {queue_id!r}", queue=queue_id)
        spec = queue.spec
        if not callback and spec.hours is not None and not spec.hours.is_open(now):
            self.stats.bucket(queue_id, now).closed += 1
            self.stats.bucket(RoutingStats.ALL, now).closed += 1
            self._out.append(
                ContactEnded(contact_id, queue_id, Outcome.CLOSED, 0.0, spec.closed_message, now)
            )
            return self._finish()
        contact = _Contact(contact_id, queue, priority + spec.priority, now)
        if arrived is not None:
            contact.arrived = min(arrived, now)
        self._contacts[contact_id] = contact
        self._count_offered(contact, now)
        self._enqueue(contact, now)
        return self._finish()

    def answer(self, contact_id: str, now: float) -> list[Decision]:
        self._begin(now)
        contact = self._contact(contact_id)
        if contact.state is not OFFERED:
            raise RoutingRejected(f"contact {contact_id!r} is not ringing", contact=contact_id)
        agent = contact.agent
        assert agent is not None
        contact.state = CONNECTED
        contact.version += 1  # cancels the offer timer
        contact.answered_at = now
        self._set_state(agent, BUSY, now, None)
        if contact.waited >= 0:  # a callback's retry: its answer was counted at the first try
            return self._finish()
        waited = contact.waited = now - contact.arrived
        in_target = waited <= contact.queue.spec.sl_target_seconds
        for row in contact.rows:
            row.answered += 1
            row.wait_answered_sum += waited
            if in_target:
                row.answered_in_target += 1
            if waited > row.longest_wait:
                row.longest_wait = waited
        if self._track_window:
            for key in (contact.queue.spec.id, RoutingStats.ALL):
                minute = self.stats.minute(key, now)
                minute.answered += 1
                minute.wait_answered_sum += waited
                if in_target:
                    minute.answered_in_target += 1
        return self._finish()

    def decline(self, contact_id: str, now: float) -> list[Decision]:
        """The agent refused the offer: the contact goes back to its place, the agent not-ready."""
        self._begin(now)
        contact = self._contact(contact_id)
        if contact.state is not OFFERED:
            raise RoutingRejected(f"contact {contact_id!r} is not ringing", contact=contact_id)
        self._offer_failed(contact, now, "declined")
        return self._finish()

    def hangup(self, contact_id: str, now: float) -> list[Decision]:
        """A connected contact ended (either side hung up): the agent goes to wrap-up."""
        self._begin(now)
        contact = self._contact(contact_id)
        if contact.state is not CONNECTED:
            raise RoutingRejected(f"contact {contact_id!r} is not connected", contact=contact_id)
        talk = now - contact.answered_at
        self._release_agent(contact, now, talk)
        self._end(contact, Outcome.HANDLED, contact.waited, now)
        return self._finish()

    def abandon(self, contact_id: str, now: float) -> list[Decision]:
        """The caller hung up before being answered (while waiting or while an offer rang)."""
        self._begin(now)
        contact = self._contact(contact_id)
        state = contact.state
        if state is CONNECTED:
            raise RoutingRejected(
                f"contact {contact_id!r} is connected: hang up", contact=contact_id
            )
        if state is OFFERED:
            agent = contact.agent
            assert agent is not None
            self._out.append(OfferWithdrawn(contact.id, agent.id, "abandoned"))
            contact.agent = None
            agent.contact = None
            self._set_state(agent, READY, now, None)
            self._agent_ready(agent, now, agent.idle_since)
        else:
            self._leave_waiting(contact)
        waited = now - contact.arrived
        short = waited < self.short_abandon_seconds
        for row in contact.rows:
            row.abandoned += 1
            if short:
                row.short_abandoned += 1
            if waited > row.longest_wait:
                row.longest_wait = waited
        if self._track_window:
            for key in (contact.queue.spec.id, RoutingStats.ALL):
                minute = self.stats.minute(key, now)
                minute.abandoned += 1
                if short:
                    minute.short_abandoned += 1
        self._end(contact, Outcome.ABANDONED, waited, now)
        return self._finish()

    def request_callback(self, contact_id: str, now: float) -> list[Decision]:
        """The caller asked to be called back: the contact keeps its place, the caller hangs up."""
        self._begin(now)
        contact = self._contact(contact_id)
        if contact.state is not WAITING:
            raise RoutingRejected(f"contact {contact_id!r} is not waiting", contact=contact_id)
        if not contact.is_callback:
            contact.is_callback = True
            for row in contact.rows:
                row.callbacks += 1
        return self._finish()

    def callback_failed(
        self, contact_id: str, now: float, *, retry_at: float | None = None
    ) -> list[Decision]:
        """The dialled caller did not answer. Retry later keeping the place, or give up."""
        self._begin(now)
        contact = self._contact(contact_id)
        if not contact.is_callback or contact.state is not CONNECTED:
            raise RoutingRejected(
                f"contact {contact_id!r} is not a connected callback", contact=contact_id
            )
        self._release_agent(contact, now, now - contact.answered_at)
        if retry_at is None:
            self._end(contact, Outcome.CALLBACK_FAILED, now - contact.arrived, now)
        else:
            # It keeps its statistics rows: the retry's talk counts as handling, its answer does
            # not count again (see `answer`).
            contact.state = WAITING
            contact.version += 1
            self._timer(max(retry_at, now), _T_RETRY, contact, contact.version)
        return self._finish()

    def transfer(self, contact_id: str, queue_id: str, now: float) -> list[Decision]:
        """Blind transfer of a connected contact to another queue: the agent goes to wrap-up."""
        self._begin(now)
        contact = self._contact(contact_id)
        target = self._queues.get(queue_id)
        if target is None:
            raise RoutingRejected(f"no queue {queue_id!r}", queue=queue_id)
        if contact.state is not CONNECTED:
            raise RoutingRejected(f"contact {contact_id!r} is not connected", contact=contact_id)
        self._release_agent(contact, now, now - contact.answered_at)
        source = contact.queue.spec.id
        for row in contact.rows:
            row.handled += 1  # the first agent's part of the contact is done
        contact.agent = None
        # A transfer is a new offer to the target queue: its wait counts from now, and the
        # centre-wide row, which counted the contact once already, is left out.
        self._move(contact, target, now, count_overflow=False)
        contact.arrived = now
        contact.rows = contact.rows[:1]
        self._out.append(ContactMoved(contact.id, source, queue_id))
        self._enqueue(contact, now)
        return self._finish()

    def cancel(self, contact_id: str, now: float) -> list[Decision]:
        """Remove a contact the service can no longer carry (its call leg failed)."""
        self._begin(now)
        contact = self._contact(contact_id)
        if contact.state is CONNECTED:
            self._release_agent(contact, now, now - contact.answered_at)
        elif contact.state is OFFERED:
            agent = contact.agent
            assert agent is not None
            self._out.append(OfferWithdrawn(contact.id, agent.id, "cancelled"))
            agent.contact = None
            self._set_state(agent, READY, now, None)
            self._agent_ready(agent, now, agent.idle_since)
        else:
            self._leave_waiting(contact)
        self._end(contact, Outcome.CANCELLED, now - contact.arrived, now)
        return self._finish()

    # ------------------------------------------------------------------ time

    def next_deadline(self) -> float | None:
        timers = self._timers
        while timers:
            _, _, kind, obj, version = timers[0]
            if obj.version == version:
                return timers[0][0]
            heapq.heappop(timers)
        return None

    def advance(self, now: float) -> list[Decision]:
        self._begin(now)
        return self._finish()

    # ------------------------------------------------------------------ reading

    def expected_wait(self, queue_id: str, now: float) -> float:
        """Estimated wait for a contact joining `queue_id` now (announced to callers)."""
        queue = self._queues.get(queue_id)
        if queue is None:
            raise RoutingRejected(f"no queue {queue_id!r}", queue=queue_id)
        pool = queue.pool
        staffed = 0
        for agent_id in pool.members:
            agent = self._agents[agent_id]
            if agent.state is READY:
                return 0.0
            if agent.state in _HANDLING:
                staffed += 1
        recent = self.stats.window(queue_id, now) if self._track_window else None
        aht = (recent.aht_seconds if recent else None) or self.stats.total(queue_id).aht_seconds
        aht = aht or _DEFAULT_AHT
        return (queue.waiting + 1) * aht / max(staffed, 1)

    def waiting_count(self, queue_id: str | None = None) -> int:
        if queue_id is None:
            return sum(q.waiting for q in self._queues.values())
        queue = self._queues.get(queue_id)
        if queue is None:
            raise RoutingRejected(f"no queue {queue_id!r}", queue=queue_id)
        return queue.waiting

    def queue_ids(self) -> list[str]:
        return list(self._queues)

    def agent(self, agent_id: str) -> AgentSnapshot:
        agent = self._agent(agent_id)
        return AgentSnapshot(
            agent.id,
            agent.state,
            agent.since,
            agent.reason,
            agent.contact.id if agent.contact else None,
            dict(agent.skills),
        )

    def agents(self) -> list[AgentSnapshot]:
        return [self.agent(agent_id) for agent_id in self._agents]

    def contact(self, contact_id: str) -> ContactSnapshot:
        return self._snapshot(self._contact(contact_id))

    def contacts(self) -> list[ContactSnapshot]:
        """Contacts the router holds (waiting, ringing, connected), oldest first."""
        return [self._snapshot(c) for c in sorted(self._contacts.values(), key=lambda c: c.arrived)]

    @staticmethod
    def _snapshot(c: _Contact) -> ContactSnapshot:
        return ContactSnapshot(
            c.id,
            c.queue.spec.id,
            c.state,
            c.arrived,
            c.priority,
            c.is_callback,
            c.agent.id if c.agent else None,
            tuple(p.reqs for p in c.pools),
        )

    # ------------------------------------------------------------------ internals

    def _begin(self, now: float) -> None:
        if now < self._now:
            raise RoutingRejected(f"time went backwards: {now} < {self._now}", now=now)
        self._now = now
        timers = self._timers
        while timers and timers[0][0] <= now:
            at, _, kind, obj, version = heapq.heappop(timers)
            if obj.version != version:
                continue
            if kind == _T_WRAP:
                self._end_wrap_up(obj, at)
            elif kind == _T_OFFER:
                self._offer_failed(obj, at, "missed")
            elif kind == _T_OVERFLOW:
                self._overflow(obj, at)
            else:  # _T_RETRY
                self._enqueue(obj, at)

    def _finish(self) -> list[Decision]:
        if self._timers and self._timers[0][0] <= self._now:
            self._begin(self._now)  # timers the command itself set in the past (a late overflow)
        out = self._out
        self._out = []
        return out

    def _agent(self, agent_id: str) -> _Agent:
        agent = self._agents.get(agent_id)
        if agent is None:
            raise RoutingRejected(f"no agent {agent_id!r}", agent=agent_id)
        return agent

    def _contact(self, contact_id: str) -> _Contact:
        contact = self._contacts.get(contact_id)
        if contact is None:
            raise RoutingRejected(f"no contact {contact_id!r} in the router", contact=contact_id)
        return contact

    def _timer(self, at: float, kind: int, obj: Any, version: int) -> None:
        self._seq += 1
        heapq.heappush(self._timers, (at, self._seq, kind, obj, version))

    def _set_state(self, agent: _Agent, state: AgentState, now: float, reason: str | None) -> None:
        previous = agent.state
        if previous is READY or previous in _HANDLING:
            since = agent.since
            stats = self.stats
            handling = previous is not READY
            if stats.centre_start <= since and now < stats.centre_end:  # the hot path, inlined
                if handling:
                    stats.centre_row.handling_seconds += now - since
                else:
                    stats.centre_row.available_seconds += now - since
            else:
                stats.agent_time(since, now, handling)
            if handling:
                agent.handling_total += now - since
        agent.state = state
        agent.since = now
        agent.reason = reason
        agent.version += 1
        self._out.append(AgentStateChanged(agent.id, state, reason, now))

    def _count_offered(self, contact: _Contact, now: float) -> None:
        queue = contact.queue
        if not queue.row_start <= now < queue.row_end:
            queue.row = self.stats.bucket(queue.spec.id, now)
            queue.row_start = queue.row.start
            queue.row_end = queue.row.start + self.stats.interval_seconds
        stats = self.stats
        centre = (
            stats.centre_row
            if stats.centre_start <= now < stats.centre_end
            else stats.bucket(RoutingStats.ALL, now)
        )
        rows = (queue.row, centre)
        queue.row.offered += 1
        centre.offered += 1
        contact.rows = rows

    # -- matching

    def _push_ready(self, agent: _Agent, pool: _Pool, pref_level: int = 0) -> None:
        strategy = pool.strategy
        if strategy is Strategy.LONGEST_IDLE:
            key1 = agent.idle_since
            key2 = 0.0
        elif strategy is Strategy.BEST_SKILL:
            key1 = float(pref_level)
            key2 = agent.idle_since
        elif strategy is Strategy.ROUND_ROBIN:
            key1 = float(agent.rr_last.get(pool.index, 0))
            key2 = agent.idle_since
        else:  # LEAST_OCCUPIED: occupancy since login, measured as the agent became ready
            staffed = agent.since - agent.login_at
            key1 = agent.handling_total / staffed if staffed > 0 else 0.0
            key2 = agent.idle_since
        self._seq += 1
        heap = pool.ready
        heapq.heappush(heap, (key1, key2, self._seq, agent, agent.version))
        if len(heap) > 2 * len(pool.members) + 64:
            pool.ready = [e for e in heap if e[3].version == e[4] and e[3].state is READY]
            heapq.heapify(pool.ready)

    def _agent_ready(self, agent: _Agent, now: float, idle_since: float) -> None:
        """The agent just became ready: take the best waiting contact, or join the ready heaps."""
        agent.idle_since = idle_since
        best: tuple[int, int, float, int] | None = None
        best_contact: _Contact | None = None
        best_pool: _Pool | None = None
        for pool, pref, _ in agent.pools:
            waiting = pool.waiting
            while waiting:
                neg_prio, arrived, seq, contact, version = waiting[0]
                if contact.version == version and contact.state is WAITING:
                    key = (neg_prio, pref, arrived, seq)
                    if best is None or key < best:
                        best, best_contact, best_pool = key, contact, pool
                    break
                heapq.heappop(waiting)
        if best_contact is not None:
            assert best_pool is not None
            self._offer(best_contact, agent, best_pool, now)
            return
        for pool, _, level in agent.pools:
            self._push_ready(agent, pool, level)

    def _enqueue(self, contact: _Contact, now: float) -> None:
        """The contact waits (again): offer it to the best ready agent or put it in line."""
        contact.state = WAITING
        contact.version += 1
        for pool in contact.pools:
            ready = pool.ready
            while ready:
                _, _, _, agent, version = ready[0]
                if agent.version == version and agent.state is READY:
                    heapq.heappop(ready)
                    self._offer(contact, agent, pool, now)
                    return
                heapq.heappop(ready)
        queue = contact.queue
        queue.waiting += 1
        contact.queued = True
        for pool in contact.pools:
            self._seq += 1
            heapq.heappush(
                pool.waiting,
                (-contact.priority, contact.arrived, self._seq, contact, contact.version),
            )
        if contact.step < len(queue.overflow):
            self._timer(
                contact.entered + queue.overflow[contact.step].after,
                _T_OVERFLOW,
                contact,
                contact.version,
            )

    def _leave_waiting(self, contact: _Contact) -> None:
        if contact.queued:
            contact.queue.waiting -= 1
            contact.queued = False
        contact.version += 1  # its heap entries and timers are stale from now on

    def _offer(self, contact: _Contact, agent: _Agent, pool: _Pool, now: float) -> None:
        if contact.queued:
            contact.queue.waiting -= 1
            contact.queued = False
        contact.state = OFFERED
        contact.version += 1
        contact.agent = agent
        agent.contact = contact
        if pool.strategy is Strategy.ROUND_ROBIN:
            pool.rr_counter += 1
            agent.rr_last[pool.index] = pool.rr_counter
        self._set_state(agent, RESERVED, now, None)
        deadline = now + contact.queue.spec.offer_timeout_seconds
        self._timer(deadline, _T_OFFER, contact, contact.version)
        self._out.append(
            Offer(contact.id, agent.id, contact.queue.spec.id, deadline, contact.is_callback)
        )

    def _offer_failed(self, contact: _Contact, now: float, reason: str) -> None:
        agent = contact.agent
        assert agent is not None
        self._out.append(OfferWithdrawn(contact.id, agent.id, reason))
        contact.agent = None
        agent.contact = None
        self._set_state(agent, NOT_READY, now, reason)
        self._enqueue(contact, now)

    def _withdraw_offer(self, agent: _Agent, now: float, reason: str) -> None:
        contact = agent.contact
        assert contact is not None
        self._out.append(OfferWithdrawn(contact.id, agent.id, reason))
        contact.agent = None
        agent.contact = None
        self._enqueue(contact, now)

    def _release_agent(self, contact: _Contact, now: float, talk: float) -> None:
        """The agent's part of a contact is over: wrap-up (timer), or straight to the next state."""
        agent = contact.agent
        assert agent is not None
        agent.contact = None
        contact.agent = None
        for row in contact.rows:
            row.handle_sum += talk
        if self._track_window:
            self.stats.minute(contact.queue.spec.id, now).handle_sum += talk
        wrap = contact.queue.spec.wrap_up_seconds
        if wrap > 0:
            self._set_state(agent, WRAP_UP, now, None)
            agent.wrap_rows = contact.rows
            self._timer(now + wrap, _T_WRAP, agent, agent.version)
        else:
            self._after_contact(agent, now)

    def _end_wrap_up(self, agent: _Agent, now: float) -> None:
        rows = agent.wrap_rows
        if rows is not None:
            wrapped = now - agent.since
            for row in rows:
                row.handle_sum += wrapped
            agent.wrap_rows = None
        self._after_contact(agent, now)

    def _after_contact(self, agent: _Agent, now: float) -> None:
        pending = agent.pending
        if pending is not None:
            agent.pending = None
            self._set_state(agent, pending[0], now, pending[1])
            return
        self._set_state(agent, READY, now, None)
        self._agent_ready(agent, now, now)

    def _end(
        self,
        contact: _Contact,
        outcome: Outcome,
        waited: float,
        now: float,
        message: str | None = None,
    ) -> None:
        if outcome is Outcome.HANDLED:
            for row in contact.rows:
                row.handled += 1
            if self._track_window:
                self.stats.minute(contact.queue.spec.id, now).handled += 1
        contact.state = ENDED
        contact.version += 1
        contact.agent = None
        del self._contacts[contact.id]
        self._out.append(
            ContactEnded(contact.id, contact.queue.spec.id, outcome, waited, message, now)
        )

    # -- overflow

    def _overflow(self, contact: _Contact, now: float) -> None:
        queue = contact.queue
        rule = queue.overflow[contact.step]
        contact.step += 1
        action = rule.action
        if action is OverflowAction.WIDEN:
            pool = self._pool_for(rule.skills, queue.spec.strategy)
            if pool not in contact.pools:
                contact.pools.append(pool)
                self._out.append(ContactMoved(contact.id, queue.spec.id, queue.spec.id, True))
            self._requeue(contact, now)
        elif action is OverflowAction.MOVE:
            target = self._queues.get(rule.queue or "")
            if target is None:  # the target was removed by a later publish: stay put
                self._requeue(contact, now)
                return
            self._leave_waiting(contact)
            source = queue.spec.id
            self._move(contact, target, now, count_overflow=True)
            self._out.append(ContactMoved(contact.id, source, target.spec.id))
            self._enqueue(contact, now)
        elif action is OverflowAction.CALLBACK:
            if not contact.is_callback:
                self._out.append(CallbackSuggested(contact.id, queue.spec.id, rule.message))
            self._requeue(contact, now)
        else:  # MESSAGE
            if contact.is_callback:  # nobody is on the line to hear it: keep the place
                self._requeue(contact, now)
                return
            self._leave_waiting(contact)
            self._end(contact, Outcome.MESSAGE, now - contact.arrived, now, rule.message)

    def _requeue(self, contact: _Contact, now: float) -> None:
        """Put a waiting contact through matching again (after its pools changed)."""
        self._leave_waiting(contact)
        self._enqueue(contact, now)

    def _move(self, contact: _Contact, target: _Queue, now: float, *, count_overflow: bool) -> None:
        if count_overflow:
            contact.rows[0].overflowed += 1
        contact.queue = target
        contact.pools = [target.pool]
        contact.entered = now
        contact.step = 0
        row = self.stats.bucket(target.spec.id, now)
        row.offered += 1
        contact.rows = (row, *contact.rows[1:])
