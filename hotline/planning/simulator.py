"""The digital twin's core: a discrete-event simulation that drives the production routing engine.

The engine decides exactly as it does in the live service; this module only plays the world around
it: callers arrive (generated or replayed), wait until answered or out of patience, talk for a drawn
handle time, sometimes accept a callback; agents log in and out by their shifts and take breaks.
A staffing plan checked here is a measurement of the real router, not of a model of it.

Why the loop looks the way it does: a two-million-contact campaign should run in about a minute,
so per-contact work is a few heap operations and three engine calls. Arrivals are drawn per
interval with numpy and merged from arrays instead of going through the heap; the only other event
sources are one heapq of `(time, seq, kind, index)` tuples and the engine's own timers
(`next_deadline()`); contacts are plain integers (their id is `str(index)`), their state one byte.
"""

from __future__ import annotations

import heapq
import math
import random
import secrets
import time
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from hotline.core.errors import InvalidInput
from hotline.planning.distributions import (
    ArrivalBlock,
    ArrivalSource,
    Constant,
    Distribution,
    FloatArray,
)
from hotline.routing.engine import RoutingEngine
from hotline.routing.stats import IntervalStats, RoutingStats
from hotline.routing.types import (
    AgentSkill,
    AgentState,
    AgentStateChanged,
    CallbackSuggested,
    ContactEnded,
    Decision,
    Offer,
    OfferWithdrawn,
    QueueSpec,
)

# ---- the model: what to simulate ----


@dataclass(frozen=True, slots=True)
class Topic:
    """A kind of contact: where it queues, how long it takes, how long its callers wait."""

    id: str
    queue_id: str
    handle: Distribution
    weight: float = 1.0  # share of arrivals, relative to the other topics' weights
    patience: Distribution | None = None  # None: callers wait as long as it takes
    priority: int = 0


@dataclass(frozen=True, slots=True)
class Break:
    """A planned break: it starts at `start` or, if the agent is on a contact then, once that
    contact and its wrap-up end; it lasts `duration` from when it actually starts."""

    start: float
    duration: float


@dataclass(frozen=True, slots=True)
class AgentPlan:
    """One agent's day: skills, shift (seconds from the simulation's start) and breaks."""

    id: str
    skills: tuple[AgentSkill, ...]
    login: float = 0.0
    logout: float | None = None  # None: stays until the simulation ends
    breaks: tuple[Break, ...] = ()

    @staticmethod
    def team(
        prefix: str,
        count: int,
        skills: Sequence[AgentSkill],
        *,
        login: float = 0.0,
        logout: float | None = None,
        breaks: Sequence[Break] = (),
        break_spread: float = 0.0,
    ) -> tuple[AgentPlan, ...]:
        """`count` agents with the same shift; each break's start is spread evenly over
        `break_spread` seconds so a team does not leave the floor all at once."""
        plans = []
        for k in range(count):
            offset = break_spread * k / count if count else 0.0
            plans.append(
                AgentPlan(
                    f"{prefix}{k + 1}",
                    tuple(skills),
                    login,
                    logout,
                    tuple(Break(b.start + offset, b.duration) for b in breaks),
                )
            )
        return tuple(plans)


@dataclass(frozen=True, slots=True)
class CallbackPolicy:
    """What callers and dialling do when the router suggests a callback (an overflow rule with
    action `callback` in the queue's spec)."""

    accept: float = 0.0  # share of callers offered a callback who take it
    reach: float = 1.0  # share of callback dials that reach the caller
    dial: Distribution = field(default_factory=lambda: Constant(30.0))  # a failed dial's time
    retry_seconds: float | None = 1800.0  # None: a failed callback is not retried
    max_attempts: int = 3


@dataclass(frozen=True, slots=True)
class SimulationModel:
    """Everything a run needs. Times are seconds from the simulation's start."""

    queues: tuple[QueueSpec, ...]
    topics: tuple[Topic, ...]
    arrivals: ArrivalSource
    agents: tuple[AgentPlan, ...]
    interval_seconds: float = 900.0
    ring_seconds: float = 0.0  # an offer is answered this long after it starts ringing
    short_abandon_seconds: float = 0.0
    callbacks: CallbackPolicy = field(default_factory=CallbackPolicy)
    sample_seconds: float = 60.0  # how often the queue length is sampled, for the chart
    clock_start: float = 0.0  # seconds after midnight at the simulation's start, for labels
    name: str = "simulation"

    @property
    def horizon(self) -> float:
        """Arrivals stop here; contacts still in the system are then played out to their end."""
        return self.arrivals.duration

    def validate(self) -> None:
        """Check what the engine cannot: that the pieces refer to each other consistently."""
        if not self.queues:
            raise InvalidInput("a simulation needs at least one queue")
        queue_ids = {q.id for q in self.queues}
        if len(queue_ids) != len(self.queues):
            raise InvalidInput("queue ids must be unique")
        if not self.topics:
            raise InvalidInput("a simulation needs at least one topic")
        if len({t.id for t in self.topics}) != len(self.topics):
            raise InvalidInput("topic ids must be unique")
        if len(self.topics) > 255:
            raise InvalidInput("a simulation takes at most 255 topics")
        for topic in self.topics:
            if topic.queue_id not in queue_ids:
                raise InvalidInput(f"topic {topic.id!r}: no queue {topic.queue_id!r}")
            if not math.isfinite(topic.weight) or topic.weight < 0:
                raise InvalidInput(f"topic {topic.id!r}: weight must be zero or more")
        if sum(t.weight for t in self.topics) <= 0:
            raise InvalidInput("at least one topic needs a positive weight")
        if not self.agents:
            raise InvalidInput("a simulation needs at least one agent")
        if len({a.id for a in self.agents}) != len(self.agents):
            raise InvalidInput("agent ids must be unique")
        for plan in self.agents:
            if plan.logout is not None and plan.logout <= plan.login:
                raise InvalidInput(f"agent {plan.id!r}: the shift ends before it starts")
            for brk in plan.breaks:
                if brk.duration <= 0:
                    raise InvalidInput(f"agent {plan.id!r}: a break must last some time")
        if not (self.interval_seconds >= 1 and float(self.interval_seconds).is_integer()):
            # Whole seconds keep interval boundaries exact in floating point: the engine's
            # statistics split agent time at k * interval_seconds.
            raise InvalidInput(
                "the report interval must be a whole number of seconds "
                f"(got {self.interval_seconds})"
            )
        if not self.sample_seconds > 0:
            raise InvalidInput("sample_seconds must be positive")
        if self.ring_seconds < 0:
            raise InvalidInput("ring_seconds must be zero or more")
        for spec in self.queues:
            if self.ring_seconds >= spec.offer_timeout_seconds:
                # Every offer would time out and leave its agent not-ready for good.
                raise InvalidInput(
                    f"ring_seconds ({self.ring_seconds:g}) must be shorter than queue "
                    f"{spec.id!r}'s offer timeout ({spec.offer_timeout_seconds:g})"
                )
        cb = self.callbacks
        if not (0.0 <= cb.accept <= 1.0 and 0.0 <= cb.reach <= 1.0):
            raise InvalidInput("callback accept and reach must be shares between 0 and 1")
        if cb.max_attempts < 1:
            raise InvalidInput("callback max_attempts must be at least 1")
        if cb.retry_seconds is not None and cb.retry_seconds <= 0:
            raise InvalidInput("callback retry_seconds must be positive")


# ---- the result ----


@dataclass(slots=True)
class SimulationResult:
    """What a run measured. Counters come from the engine's own statistics (`stats`), so the
    simulated figures are computed exactly as the live wallboard and reports compute them."""

    model: SimulationModel
    seed: int
    stats: RoutingStats
    contacts: int  # arrivals generated
    outcomes: dict[str, int]  # how contacts ended, by `Outcome` value
    queue_samples: list[int]  # contacts waiting at 0, sample_seconds, 2 * sample_seconds, ...
    end_time: float  # simulated time when the last contact ended (or the horizon, if later)
    wall_seconds: float
    events: int  # events processed (arrivals, timers, schedule changes)

    @property
    def horizon(self) -> float:
        return self.model.horizon

    def intervals(self, queue_id: str | None = None) -> list[IntervalStats]:
        """Per-interval rows up to the horizon (the drain after it carries no arrivals)."""
        horizon = self.model.horizon
        return [row for row in self.stats.intervals(queue_id) if row.start < horizon]

    def total(self, queue_id: str | None = None) -> IntervalStats:
        """The whole run: every contact, and agent time up to the horizon."""
        out = IntervalStats(start=0.0)
        for row in self.intervals(queue_id):
            out.merge(row)
        return out

    def sample_times(self) -> list[float]:
        step = self.model.sample_seconds
        return [k * step for k in range(len(self.queue_samples))]


# ---- the run ----

_INF = math.inf

# contact states (one byte each)
_WAITING = 0
_RINGING = 1
_CONNECTED = 2
_CALLBACK = 3  # the caller hung up and waits for a call back: no abandonment any more
_ENDED = 4

# event kinds in the heap
_HANGUP = 0
_ABANDON = 1
_ANSWER = 2  # a ringing offer is picked up (ring_seconds > 0)
_DIAL_FAILED = 3  # a callback dial did not reach the caller
_LOGIN = 4
_LOGOUT = 5
_BREAK = 6
_BREAK_END = 7


def simulate(
    model: SimulationModel, *, seed: int | None = None, engine: RoutingEngine | None = None
) -> SimulationResult:
    """Run `model` once. The same seed gives the same result; None draws a seed (reported in the
    result so the run can be repeated). `engine` may be given pre-built, e.g. to inspect it
    afterwards; by default one is built from the model's queues."""
    model.validate()
    if seed is None:
        seed = secrets.randbelow(2**32)
    if engine is None:
        engine = RoutingEngine(
            model.queues,
            short_abandon_seconds=model.short_abandon_seconds,
            interval_seconds=model.interval_seconds,
            window_seconds=None,  # the wallboard's sliding window is of no use here
            start=0.0,
        )
    return _Run(model, seed, engine).run()


class _Contacts:
    """Per-block contact data, turned into Python lists for cheap scalar reads in the loop."""

    __slots__ = ("times", "queues", "priorities", "abandon_at")

    def __init__(
        self, times: list[float], queues: list[str], priorities: list[int], abandon_at: list[float]
    ) -> None:
        self.times = times
        self.queues = queues
        self.priorities = priorities
        self.abandon_at = abandon_at


class _Run:
    def __init__(self, model: SimulationModel, seed: int, engine: RoutingEngine) -> None:
        self.model = model
        self.seed = seed
        self.engine = engine
        self.rng = np.random.default_rng(seed)
        # Rare per-event draws (callback choices) come from a fast scalar generator of their own.
        self.py_rng = random.Random(int(self.rng.integers(0, 2**63)))
        topics = model.topics
        self.topic_queue = np.array([t.queue_id for t in topics], dtype=object)
        self.topic_priority = np.array([t.priority for t in topics], dtype=np.int64)
        weights = np.array([t.weight for t in topics], dtype=np.float64)
        self.topic_p = weights / weights.sum()
        self.handle = array("d")  # handle time of contact i, appended block by block

    def _blocks(self) -> Iterator[_Contacts]:
        """Arrival blocks with each contact's queue, priority, abandon time and handle time."""
        rng = self.rng
        topics = self.model.topics
        n_topics = len(topics)
        for block in self.model.arrivals.blocks(rng, [t.id for t in topics]):
            n = block.times.size
            if n == 0:
                continue
            topic = self._topics_of(block, n, n_topics)
            handle = np.empty(n, dtype=np.float64)
            patience = np.full(n, _INF, dtype=np.float64)
            if n_topics == 1:
                spec = topics[0]
                handle[:] = spec.handle.sample(rng, n)
                if spec.patience is not None:
                    patience[:] = spec.patience.sample(rng, n)
            else:
                for index, spec in enumerate(topics):
                    mask = topic == index
                    count = int(np.count_nonzero(mask))
                    if count == 0:
                        continue
                    handle[mask] = spec.handle.sample(rng, count)
                    if spec.patience is not None:
                        patience[mask] = spec.patience.sample(rng, count)
            if block.handle_seconds is not None:
                given = ~np.isnan(block.handle_seconds)
                handle[given] = block.handle_seconds[given]
            self.handle.frombytes(handle.tobytes())
            abandon_at: FloatArray = block.times + patience
            yield _Contacts(
                block.times.tolist(),
                self.topic_queue[topic].tolist(),
                self.topic_priority[topic].tolist(),
                abandon_at.tolist(),
            )

    def _topics_of(self, block: ArrivalBlock, n: int, n_topics: int) -> np.ndarray:
        if n_topics == 1:
            return np.zeros(n, dtype=np.int64)
        drawn = self.rng.choice(n_topics, size=n, p=self.topic_p)
        if block.topics is None:
            return drawn
        return np.where(block.topics >= 0, block.topics, drawn)

    def run(self) -> SimulationResult:
        """The event loop: kept in one function, with locals bound once, because it is hot."""
        model = self.model
        engine = self.engine
        started = time.perf_counter()

        arrive = engine.arrive
        answer = engine.answer
        hangup = engine.hangup
        abandon = engine.abandon
        advance = engine.advance
        next_deadline = engine.next_deadline
        waiting_count = engine.waiting_count
        heap: list[tuple[float, int, int, int]] = []
        push = heapq.heappush
        pop = heapq.heappop

        handle = self.handle
        state = bytearray()
        ring = model.ring_seconds
        ringing: dict[int, int] = {}  # contact -> seq of its pending _ANSWER event
        cb = model.callbacks
        py_random = self.py_rng.random
        attempts: dict[int, int] = {}
        plans = model.agents
        agent_index = {plan.id: k for k, plan in enumerate(plans)}
        breaks_due: list[list[float]] = [[] for _ in plans]  # durations of breaks asked for
        on_break: set[str] = set()
        logged_in: set[str] = set()
        outcomes: dict[str, int] = {}
        sample_step = model.sample_seconds
        samples: list[int] = []
        horizon = model.horizon

        NOT_READY = AgentState.NOT_READY
        OFFLINE = AgentState.OFFLINE

        seq = 0
        ended = 0

        # Agent schedules go into the heap up front: a few events per agent.
        for k, plan in enumerate(plans):
            heap.append((plan.login, seq, _LOGIN, k))
            seq += 1
            if plan.logout is not None:
                heap.append((plan.logout, seq, _LOGOUT, k))
                seq += 1
            for brk in plan.breaks:
                heap.append((brk.start, seq, _BREAK, k))
                seq += 1
        heapq.heapify(heap)
        # Durations of each agent's breaks, latest first: a _BREAK event pops the earliest.
        break_length: list[list[float]] = [
            [b.duration for b in sorted(p.breaks, key=lambda b: b.start, reverse=True)]
            for p in plans
        ]

        def consume(decisions: list[Decision], now: float) -> None:
            """Act on the engine's decisions. The list may be reused by the engine's next call,
            so follow-up commands are collected first and issued after the loop."""
            nonlocal seq, ended
            follow: list[Offer | CallbackSuggested] | None = None
            for d in decisions:
                if isinstance(d, AgentStateChanged):
                    st = d.state
                    if st is NOT_READY or st is OFFLINE:
                        agent_left(d, now)
                elif isinstance(d, Offer):
                    if follow is None:
                        follow = [d]
                    else:
                        follow.append(d)
                elif isinstance(d, ContactEnded):
                    state[int(d.contact_id)] = _ENDED
                    ended += 1
                    key = d.outcome.value
                    outcomes[key] = outcomes.get(key, 0) + 1
                elif isinstance(d, OfferWithdrawn):
                    i = int(d.contact_id)
                    ringing.pop(i, None)
                    if state[i] == _RINGING:
                        state[i] = _WAITING
                elif isinstance(d, CallbackSuggested):
                    if follow is None:
                        follow = [d]
                    else:
                        follow.append(d)
            if follow is None:
                return
            for d in follow:
                i = int(d.contact_id)
                if isinstance(d, Offer):
                    if ring > 0.0:
                        if state[i] != _CALLBACK:
                            state[i] = _RINGING
                        ringing[i] = seq
                        push(heap, (now + ring, seq, _ANSWER, i))
                        seq += 1
                    else:
                        connect(d.contact_id, i, d.is_callback, now)
                elif state[i] == _WAITING and py_random() < cb.accept:
                    # CallbackSuggested: this caller takes the callback and hangs up.
                    state[i] = _CALLBACK
                    consume(engine.request_callback(d.contact_id, now), now)

        def agent_left(d: AgentStateChanged, now: float) -> None:
            """Not ready or logged out: rare, so out of `consume`'s hot loop. A break starts
            when the engine says so (perhaps after a contact) and runs its full length."""
            nonlocal seq
            k = agent_index[d.agent_id]
            if d.state is OFFLINE:
                logged_in.discard(d.agent_id)
                on_break.discard(d.agent_id)
                breaks_due[k].clear()
            elif d.reason == "break" and breaks_due[k]:
                on_break.add(d.agent_id)
                push(heap, (now + breaks_due[k].pop(), seq, _BREAK_END, k))
                seq += 1

        def connect(contact_id: str, i: int, is_callback: bool, now: float) -> None:
            nonlocal seq
            decisions = answer(contact_id, now)
            state[i] = _CONNECTED
            if is_callback and cb.reach < 1.0 and py_random() >= cb.reach:
                dial = float(cb.dial.sample(self.rng, 1)[0])
                push(heap, (now + dial, seq, _DIAL_FAILED, i))
            else:
                push(heap, (now + handle[i], seq, _HANGUP, i))
            seq += 1
            consume(decisions, now)

        blocks = self._blocks()
        block = next(blocks, None)
        b_times: list[float] = block.times if block else []
        b_queues: list[str] = block.queues if block else []
        b_prio: list[int] = block.priorities if block else []
        b_abandon: list[float] = block.abandon_at if block else []
        b_i = 0
        b_n = len(b_times)
        t_arrival = b_times[0] if b_n else _INF
        next_id = 0
        next_sample = 0.0
        events = 0
        now = 0.0

        while True:
            t_heap = heap[0][0] if heap else _INF
            t_engine = next_deadline()
            if t_engine is None:
                t_engine = _INF
            t = t_arrival if t_arrival <= t_heap else t_heap
            if t_engine < t:
                t = t_engine
            if t == _INF:
                break
            if t > horizon and t_arrival == _INF and next_id == ended:
                break  # arrivals are over and every contact has ended
            now = t
            events += 1
            while next_sample <= now:
                samples.append(waiting_count())
                next_sample += sample_step

            if t_engine <= now and t_engine < t_heap and t_engine < t_arrival:
                consume(advance(now), now)
            elif t_arrival <= t_heap:
                i = next_id
                next_id += 1
                state.append(_WAITING)
                consume(arrive(str(i), b_queues[b_i], now, priority=b_prio[b_i]), now)
                if state[i] <= _RINGING:
                    abandon_at = b_abandon[b_i]
                    if abandon_at != _INF:
                        push(heap, (abandon_at, seq, _ABANDON, i))
                        seq += 1
                b_i += 1
                if b_i == b_n:
                    block = next(blocks, None)
                    if block is None:
                        b_n = 0
                        t_arrival = _INF
                    else:
                        b_times = block.times
                        b_queues = block.queues
                        b_prio = block.priorities
                        b_abandon = block.abandon_at
                        b_i = 0
                        b_n = len(b_times)
                        t_arrival = b_times[0]
                else:
                    t_arrival = b_times[b_i]
            else:
                _, ev_seq, kind, i = pop(heap)
                if kind == _HANGUP:
                    consume(hangup(str(i), now), now)
                elif kind == _ABANDON:
                    if state[i] <= _RINGING:
                        ringing.pop(i, None)
                        consume(abandon(str(i), now), now)
                elif kind == _ANSWER:
                    if ringing.get(i) == ev_seq:  # still ringing: not withdrawn meanwhile
                        del ringing[i]
                        connect(str(i), i, state[i] == _CALLBACK, now)
                elif kind == _DIAL_FAILED:
                    tries = attempts.get(i, 1)
                    retry_at: float | None = None
                    if cb.retry_seconds is not None and tries < cb.max_attempts:
                        attempts[i] = tries + 1
                        retry_at = now + cb.retry_seconds
                        state[i] = _CALLBACK
                    consume(engine.callback_failed(str(i), now, retry_at=retry_at), now)
                else:
                    decisions = self._schedule(
                        kind, i, now, logged_in, on_break, breaks_due, break_length
                    )
                    if decisions is not None:
                        consume(decisions, now)

        # Play out timers still pending (a last wrap-up), then log everyone out, so the
        # engine closes every agent's time and occupancy covers the whole run.
        while (deadline := next_deadline()) is not None:
            now = max(now, deadline)
            consume(advance(now), now)
        end_time = max(now, horizon)
        while next_sample <= end_time:
            samples.append(waiting_count())
            next_sample += sample_step
        for agent_id in sorted(logged_in):
            consume(engine.logout(agent_id, end_time), end_time)

        return SimulationResult(
            model=model,
            seed=self.seed,
            stats=engine.stats,
            contacts=next_id,
            outcomes=outcomes,
            queue_samples=samples,
            end_time=end_time,
            wall_seconds=time.perf_counter() - started,
            events=events,
        )

    def _schedule(
        self,
        kind: int,
        k: int,
        now: float,
        logged_in: set[str],
        on_break: set[str],
        breaks_due: list[list[float]],
        break_length: list[list[float]],
    ) -> list[Decision] | None:
        """An agent's shift or break event: rare, so kept out of the hot loop. Returns the
        engine's decisions for the loop to consume (None when no command was due).

        A break that falls while the agent is on a contact is deferred by the engine until the
        contact and its wrap-up end; its length counts from when it really starts (see
        `consume`). A break due while another is still pending or running is skipped."""
        engine = self.engine
        plan = self.model.agents[k]
        agent_id = plan.id
        if kind == _LOGIN:
            logged_in.add(agent_id)
            return engine.login(agent_id, plan.skills, now, ready=True)
        if kind == _LOGOUT:
            if agent_id in logged_in:
                return engine.logout(agent_id, now)
            return None
        if kind == _BREAK:
            duration = break_length[k].pop()
            if agent_id in logged_in and agent_id not in on_break and not breaks_due[k]:
                breaks_due[k].append(duration)
                return engine.set_not_ready(agent_id, now, "break")
            return None
        if kind == _BREAK_END and agent_id in on_break:
            on_break.discard(agent_id)
            return engine.set_ready(agent_id, now)
        return None
