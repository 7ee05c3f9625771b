"""Erlang C and Erlang A: the steady state of one queue answered by a fixed number of agents.

Pure math (standard library only, no I/O), so the staffing calculator and the simulator's tests can
both use it as the theory to compare against.

Public API (every argument keyword-only, times in seconds, rates in calls per hour):

    offered_load(*, calls_per_hour, aht_seconds) -> float
        Erlangs: how many agents would be busy all the time if nobody ever waited.
    erlang_b(*, agents, load) -> float
        Share of calls blocked when there is no queue at all (M/M/N/N).
    erlang_c(*, calls_per_hour, aht_seconds, agents, sl_seconds) -> QueueMetrics
        M/M/N: callers wait as long as it takes (nobody abandons).
    erlang_a(*, calls_per_hour, aht_seconds, agents, sl_seconds, patience_seconds) -> QueueMetrics
        M/M/N+M: each caller hangs up after an exponential patience with mean `patience_seconds`
        unless answered first.

`QueueMetrics` is a frozen dataclass with `model`, `agents`, `calls_per_hour`, `aht_seconds`,
`patience_seconds`, `sl_seconds`, `offered_load`, `p_wait`, `service_level`, `asa_seconds`,
`p_abandon`, `occupancy` and `mean_queue_length`; its docstring defines each one. In short:
`service_level` is the share of *all* arriving callers answered within `sl_seconds` (callers who
abandon count in the denominator, as not answered), `asa_seconds` is the mean wait of *answered*
callers (those answered at once count as 0 s) and `p_abandon` is the share of all callers who hang
up before an answer.

Both models are exact, not approximations: Erlang C by the Erlang B recursion carried in log space,
Erlang A by summing the birth-death chain's stationary distribution until the tail is below e^-50
of its largest term, with the waiting time of a caller who finds k callers ahead written in closed
form (a regularised incomplete beta). No factorials are formed, so both stay finite and accurate
for tens of thousands of agents and loads of thousands of Erlangs.

Arguments out of range raise `hotline.core.errors.InvalidInput`, which names the argument.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from hotline.core.errors import InvalidInput

__all__ = [
    "QueueMetrics",
    "erlang_a",
    "erlang_b",
    "erlang_c",
    "offered_load",
]

# The Erlang A sum stops once a term, past the mode, is this many nats below the largest one.
_TAIL_NATS = 50.0
# Longest queue the Erlang A sum will walk; beyond it the inputs are not a contact centre.
_MAX_QUEUE_STATES = 5_000_000


@dataclass(frozen=True, slots=True)
class QueueMetrics:
    """Long-run performance of one queue with `agents` agents logged in and available.

    Attributes:
        model: "erlang_c" (nobody abandons) or "erlang_a" (exponential patience).
        agents: agents answering calls (net of shrinkage).
        calls_per_hour: arrival rate of calls.
        aht_seconds: average handle time.
        patience_seconds: mean patience (Erlang A), None for Erlang C.
        sl_seconds: the service-level threshold the `service_level` is measured at.
        offered_load: Erlangs, calls per second times AHT.
        p_wait: share of callers who find every agent busy and have to wait at all.
        service_level: share of all arriving callers answered within `sl_seconds`; callers who
            abandon, at any time, count as not answered.
        asa_seconds: mean wait of the callers who are answered (0 s for those answered at once);
            `math.inf` when none are (Erlang C with `agents <= offered_load`).
        p_abandon: share of all callers who hang up before an answer (0.0 under Erlang C).
        occupancy: share of the agents' time spent handling calls, answered calls' load / agents.
        mean_queue_length: time-average number of callers waiting (`math.inf` if unstable).
    """

    model: Literal["erlang_c", "erlang_a"]
    agents: int
    calls_per_hour: float
    aht_seconds: float
    patience_seconds: float | None
    sl_seconds: float
    offered_load: float
    p_wait: float
    service_level: float
    asa_seconds: float
    p_abandon: float
    occupancy: float
    mean_queue_length: float

    @property
    def stable(self) -> bool:
        """False only for Erlang C with too few agents, where the queue grows without bound."""
        return math.isfinite(self.mean_queue_length)


def offered_load(*, calls_per_hour: float, aht_seconds: float) -> float:
    """Offered load in Erlangs: the agents busy on average if every call were answered at once."""
    _check_rate(calls_per_hour)
    _check_positive("aht_seconds", aht_seconds)
    return calls_per_hour / 3600.0 * aht_seconds


def erlang_b(*, agents: int, load: float) -> float:
    """Blocking probability of M/M/N/N (no queue), the building block of Erlang C and A."""
    _check_agents(agents)
    if not (math.isfinite(load) and load >= 0):
        raise InvalidInput(f"load must be a finite number of Erlangs >= 0, got {load!r}")
    return math.exp(_log_erlang_b(agents, load))


def erlang_c(
    *, calls_per_hour: float, aht_seconds: float, agents: int, sl_seconds: float
) -> QueueMetrics:
    """Erlang C (M/M/N): the classic staffing model, for queues where callers do not hang up.

    With `agents <= offered_load` the queue is unstable: every caller waits forever, so the result
    has p_wait 1, service level 0, ASA and queue length `math.inf` and occupancy 1.
    """
    load = _checked_load(calls_per_hour, aht_seconds, agents)
    _check_sl_seconds(sl_seconds)

    def result(
        p_wait: float, service_level: float, asa: float, occupancy: float, queue: float
    ) -> QueueMetrics:
        return QueueMetrics(
            model="erlang_c",
            agents=agents,
            calls_per_hour=calls_per_hour,
            aht_seconds=aht_seconds,
            patience_seconds=None,
            sl_seconds=sl_seconds,
            offered_load=load,
            p_wait=p_wait,
            service_level=service_level,
            asa_seconds=asa,
            p_abandon=0.0,
            occupancy=occupancy,
            mean_queue_length=queue,
        )

    if load == 0:
        return result(0.0, 1.0, 0.0, 0.0, 0.0)
    if agents <= load:
        return result(1.0, 0.0, math.inf, 1.0, math.inf)

    spare = agents - load
    log_b = _log_erlang_b(agents, load)
    # C = N B / (N - A (1 - B)), kept in logs so that a B far below 1e-308 stays exact.
    p_wait = math.exp(math.log(agents) + log_b - math.log(spare + load * math.exp(log_b)))
    # Given a wait, it is exponential with rate (N - A) / AHT.
    late = math.exp(math.log(p_wait) - spare * sl_seconds / aht_seconds) if p_wait > 0 else 0.0
    return result(
        p_wait=p_wait,
        service_level=1.0 - late,
        asa=p_wait * aht_seconds / spare,
        occupancy=load / agents,
        queue=p_wait * load / spare,
    )


def erlang_a(
    *,
    calls_per_hour: float,
    aht_seconds: float,
    agents: int,
    sl_seconds: float,
    patience_seconds: float,
) -> QueueMetrics:
    """Erlang A (M/M/N+M): Erlang C plus callers who hang up after an exponential patience.

    More honest than Erlang C for a busy hotline, where abandonment is what keeps the queue
    finite; it is always stable, even with fewer agents than Erlangs.
    """
    load = _checked_load(calls_per_hour, aht_seconds, agents)
    _check_sl_seconds(sl_seconds)
    _check_positive("patience_seconds", patience_seconds)

    def result(
        p_wait: float,
        service_level: float,
        asa: float,
        p_abandon: float,
        occupancy: float,
        queue: float,
    ) -> QueueMetrics:
        return QueueMetrics(
            model="erlang_a",
            agents=agents,
            calls_per_hour=calls_per_hour,
            aht_seconds=aht_seconds,
            patience_seconds=patience_seconds,
            sl_seconds=sl_seconds,
            offered_load=load,
            p_wait=p_wait,
            service_level=service_level,
            asa_seconds=asa,
            p_abandon=p_abandon,
            occupancy=occupancy,
            mean_queue_length=queue,
        )

    if load == 0:
        return result(0.0, 1.0, 0.0, 0.0, 0.0, 0.0)

    arrival = calls_per_hour / 3600.0  # per second
    service = agents / aht_seconds  # completions per second with every agent busy
    abandon = 1.0 / patience_seconds  # hang-ups per second per waiting caller

    # Stationary distribution, relative to the state "N-1 agents busy": the states with a free
    # agent weigh 1 / ErlangB(N-1, A) together, and "N busy, k waiting" weighs q_k, where
    # q_0 = A / N and q_k = q_{k-1} * arrival / (service + k * abandon).
    log_free = -_log_erlang_b(agents - 1, load)
    log_arrival = math.log(arrival)
    log_q = math.log(load) - math.log(agents)
    log_terms: list[float] = []
    top = log_free
    while True:
        log_terms.append(log_q)
        top = max(top, log_q)
        step = log_arrival - math.log(service + len(log_terms) * abandon)
        log_q += step
        # Past the mode the terms fall ever faster (log-concave), so once one is negligible the
        # whole rest of the tail is too.
        if step < 0 and log_q < top - _TAIL_NATS:
            break
        if len(log_terms) > _MAX_QUEUE_STATES:
            raise InvalidInput(
                "calls_per_hour * patience_seconds is too large for the Erlang A solver "
                f"({calls_per_hour} calls/hour, patience {patience_seconds} s)"
            )

    # A caller who finds k waiting is answered if it outlasts k+1 stages: in the stage with i
    # callers still ahead the queue moves at rate service + i * abandon, and the caller hangs up
    # at rate `abandon`. Hence P(answered | k) = service / (service + (k+1) abandon) (the product
    # telescopes), the mean wait of answered callers sums 1/(service + (i+1) abandon), and
    # P(answered within t | k) = P(answered | k) * I_x(k+1, c) with x = 1 - exp(-abandon t),
    # c = service/abandon + 1. I_x(k+1, c) = P(NegBin(c, x) > k), summed below term by term.
    free = math.exp(log_free - top)
    waiting = answered = within = wait_of_answered = gave_up = queue = 0.0
    stage_time = cdf = 0.0
    shape = service / abandon + 1.0
    log_pmf = -(service + abandon) * sl_seconds  # log P(NegBin = 0) = c log(1 - x)
    # x = 1 - exp(-abandon t); with a very long patience abandon * t can underflow to 0
    exponent = abandon * sl_seconds
    log_x = math.log(-math.expm1(-exponent)) if exponent > 0 else -math.inf
    for k, log_term in enumerate(log_terms):
        weight = math.exp(log_term - top)
        leave_rate = service + (k + 1) * abandon
        p_answer = service / leave_rate
        stage_time += 1.0 / leave_rate
        if sl_seconds > 0:
            if k > 0:
                log_pmf += log_x + math.log((k - 1 + shape) / k)
            cdf += math.exp(log_pmf)
            beyond = max(0.0, 1.0 - cdf)
        else:
            beyond = 0.0
        waiting += weight
        answered += weight * p_answer
        within += weight * p_answer * beyond
        wait_of_answered += weight * p_answer * stage_time
        gave_up += weight * (k + 1) * abandon / leave_rate
        queue += weight * k

    total = free + waiting
    p_abandon = gave_up / total
    return result(
        p_wait=waiting / total,
        service_level=(free + within) / total,
        asa=wait_of_answered / (free + answered),
        p_abandon=p_abandon,
        occupancy=load * (1.0 - p_abandon) / agents,
        queue=queue / total,
    )


def _log_erlang_b(servers: int, load: float) -> float:
    """log ErlangB(servers, load) by B(m) = A B(m-1) / (m + A B(m-1)), carried in logs so that
    neither overflow (A^m / m!) nor underflow (B < 1e-308) can occur."""
    if servers == 0:
        return 0.0
    if load == 0:
        return -math.inf
    log_load = math.log(load)
    log_b = 0.0
    for m in range(1, servers + 1):
        log_b = log_load + log_b - math.log(m + math.exp(log_load + log_b))
    return log_b


def _checked_load(calls_per_hour: float, aht_seconds: float, agents: int) -> float:
    load = offered_load(calls_per_hour=calls_per_hour, aht_seconds=aht_seconds)
    _check_agents(agents)
    if agents == 0 and load > 0:
        raise InvalidInput(f"agents must be at least 1 when calls arrive, got {agents}")
    return load


def _check_agents(agents: int) -> None:
    if isinstance(agents, bool) or not isinstance(agents, int) or agents < 0:
        raise InvalidInput(f"agents must be a whole number >= 0, got {agents!r}")


def _check_rate(calls_per_hour: float) -> None:
    if not (math.isfinite(calls_per_hour) and calls_per_hour >= 0):
        raise InvalidInput(f"calls_per_hour must be a finite number >= 0, got {calls_per_hour!r}")


def _check_positive(name: str, seconds: float) -> None:
    if not (math.isfinite(seconds) and seconds > 0):
        raise InvalidInput(f"{name} must be a finite number of seconds > 0, got {seconds!r}")


def _check_sl_seconds(sl_seconds: float) -> None:
    if not (math.isfinite(sl_seconds) and sl_seconds >= 0):
        raise InvalidInput(
            f"sl_seconds must be a finite number of seconds >= 0, got {sl_seconds!r}"
        )
