"""Erlang C against pyworkforce and closed forms; Erlang A against a brute-force birth-death chain
written independently here (numpy stationary distribution + the tagged caller's chain stepped
through time), plus limits, invariants and stability at thousands of agents."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyworkforce.queuing import ErlangC

from hotline.core.errors import InvalidInput
from hotline.planning.erlang import QueueMetrics, erlang_a, erlang_b, erlang_c, offered_load

# --- Erlang C ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("calls_per_30_min", "aht_minutes", "agents", "sl_seconds"),
    [
        (100, 3, 11, 20),
        (100, 3, 14, 20),
        (20, 4, 4, 15),
        (5, 6, 2, 30),
        (3000, 3, 301, 20),
        (3000, 3, 320, 20),
        (4000, 4.5, 620, 10),
    ],
)
def test_erlang_c_matches_pyworkforce(
    calls_per_30_min: float, aht_minutes: float, agents: int, sl_seconds: float
) -> None:
    reference = ErlangC(
        transactions=calls_per_30_min, aht=aht_minutes, asa=sl_seconds / 60, interval=30
    )
    ours = erlang_c(
        calls_per_hour=calls_per_30_min * 2,
        aht_seconds=aht_minutes * 60,
        agents=agents,
        sl_seconds=sl_seconds,
    )
    assert ours.p_wait == pytest.approx(reference.waiting_probability(agents), rel=1e-9)
    assert ours.service_level == pytest.approx(reference.service_level(agents), rel=1e-9)
    assert ours.occupancy == pytest.approx(reference.achieved_occupancy(agents), rel=1e-12)


def test_erlang_c_single_agent_is_the_m_m_1_queue() -> None:
    # M/M/1 has closed forms: P(wait) = rho, ASA = rho / (1 - rho) * AHT.
    metrics = erlang_c(calls_per_hour=12, aht_seconds=180, agents=1, sl_seconds=30)
    rho = 12 * 180 / 3600
    assert metrics.p_wait == pytest.approx(rho, rel=1e-12)
    assert metrics.asa_seconds == pytest.approx(rho / (1 - rho) * 180, rel=1e-12)
    assert metrics.service_level == pytest.approx(1 - rho * math.exp(-(1 - rho) * 30 / 180))
    assert metrics.mean_queue_length == pytest.approx(rho**2 / (1 - rho), rel=1e-12)


def test_erlang_c_with_no_more_agents_than_erlangs_is_unstable() -> None:
    metrics = erlang_c(calls_per_hour=200, aht_seconds=180, agents=10, sl_seconds=20)
    assert (metrics.p_wait, metrics.service_level, metrics.occupancy) == (1.0, 0.0, 1.0)
    assert metrics.asa_seconds == math.inf
    assert not metrics.stable


def test_no_calls_means_no_wait() -> None:
    metrics = erlang_c(calls_per_hour=0, aht_seconds=180, agents=0, sl_seconds=20)
    assert (metrics.p_wait, metrics.service_level, metrics.asa_seconds) == (0.0, 1.0, 0.0)


def test_erlang_b_at_thousands_of_agents_matches_the_poisson_ratio() -> None:
    # Independent route: B(n, A) = Poisson pmf(n) / Poisson cdf(n), summed in log space.
    agents, load = 5000, 4900.0
    log_pmf = [j * math.log(load) - load - math.lgamma(j + 1) for j in range(agents + 1)]
    top = max(log_pmf)
    log_cdf = top + math.log(math.fsum(math.exp(x - top) for x in log_pmf))
    assert erlang_b(agents=agents, load=load) == pytest.approx(
        math.exp(log_pmf[-1] - log_cdf), rel=1e-9
    )


def test_erlang_c_at_5000_agents_is_finite_and_monotone() -> None:
    curve = [
        erlang_c(calls_per_hour=98_000, aht_seconds=180, agents=n, sl_seconds=20)
        for n in range(4901, 5101, 10)
    ]
    levels = [m.service_level for m in curve]
    assert all(0 < level <= 1 for level in levels)
    assert all(math.isfinite(m.asa_seconds) and m.asa_seconds >= 0 for m in curve)
    assert levels == sorted(levels)
    assert levels[0] < 0.5 < 0.99 < levels[-1]


# --- Erlang A ---------------------------------------------------------------------------------


def _exp_small(matrix: np.ndarray) -> np.ndarray:
    """exp(matrix) by its Taylor series, for a matrix of small norm."""
    out = np.eye(len(matrix))
    term = np.eye(len(matrix))
    for i in range(1, 25):
        term = term @ matrix / i
        out = out + term
    return out


def brute_force_erlang_a(
    calls_per_hour: float,
    aht: float,
    agents: int,
    patience: float,
    sl_seconds: float,
    queue_cap: int = 80,
    step: float = 0.5,
) -> dict[str, float]:
    """M/M/n+M the long way: the truncated chain's stationary law by linear algebra, then each
    waiting caller's fate by stepping its own absorbing chain (k ahead -> served / abandoned)."""
    lam, mu, theta, n = calls_per_hour / 3600, 1 / aht, 1 / patience, agents
    size = n + queue_cap + 1
    generator = np.zeros((size, size))
    for j in range(size):
        if j + 1 < size:
            generator[j, j + 1] = lam
        if j > 0:
            generator[j, j - 1] = min(j, n) * mu + max(j - n, 0) * theta
        generator[j, j] = -generator[j].sum()
    system = np.vstack([generator.T, np.ones(size)])
    rhs = np.zeros(size + 1)
    rhs[-1] = 1
    pi = np.linalg.lstsq(system, rhs, rcond=None)[0]
    p_wait = pi[n:].sum()

    served, abandoned = queue_cap + 1, queue_cap + 2
    tagged = np.zeros((queue_cap + 3, queue_cap + 3))
    for k in range(queue_cap + 1):
        tagged[k, served if k == 0 else k - 1] = n * mu + k * theta
        tagged[k, abandoned] = theta
        tagged[k, k] = -(n * mu + k * theta + theta)
    steps_to_sl = max(1, round(sl_seconds / step))
    if sl_seconds > 0:
        step = sl_seconds / steps_to_sl
    propagate = _exp_small(tagged * step)
    state = np.zeros(queue_cap + 3)
    state[: queue_cap + 1] = pi[n:]  # arrivals see the time average (PASTA)
    served_by = [0.0]
    while state[: queue_cap + 1].sum() > 1e-13:
        state = state @ propagate
        served_by.append(state[served])
    curve = np.array(served_by)
    within = 1 - p_wait + (curve[steps_to_sl] if sl_seconds > 0 else 0.0)
    # E[wait; answered] = integral of P(answered later than t), by Simpson's rule.
    later = state[served] - curve
    if len(later) % 2 == 0:
        later = np.append(later, 0.0)
    integral = step / 3 * (later[0] + later[-1] + 4 * later[1:-1:2].sum() + 2 * later[2:-1:2].sum())
    return {
        "p_wait": float(p_wait),
        "service_level": float(within),
        "p_abandon": float(state[abandoned]),
        "asa_seconds": float(integral / (1 - p_wait + state[served])),
        "mean_queue_length": float(np.clip(np.arange(size) - n, 0, None) @ pi),
    }


@pytest.mark.parametrize(
    ("calls_per_hour", "aht", "agents", "patience", "sl_seconds"),
    [
        (200, 180, 14, 120, 20),  # the demo workload
        (200, 180, 9, 60, 30),  # fewer agents than Erlangs: abandonment keeps it stable
        (300, 240, 15, 300, 20),  # heavily loaded, patient callers
        (50, 300, 3, 90, 10),  # tiny team
        (200, 180, 14, 120, 0),  # SL at 0 s is the share answered at once
    ],
)
def test_erlang_a_matches_brute_force_chain(
    calls_per_hour: float, aht: float, agents: int, patience: float, sl_seconds: float
) -> None:
    reference = brute_force_erlang_a(calls_per_hour, aht, agents, patience, sl_seconds)
    ours = erlang_a(
        calls_per_hour=calls_per_hour,
        aht_seconds=aht,
        agents=agents,
        sl_seconds=sl_seconds,
        patience_seconds=patience,
    )
    for name in ("p_wait", "service_level", "p_abandon"):
        assert getattr(ours, name) == pytest.approx(reference[name], abs=1e-7), name
    assert ours.asa_seconds == pytest.approx(reference["asa_seconds"], rel=1e-6)
    assert ours.mean_queue_length == pytest.approx(reference["mean_queue_length"], rel=1e-7)


def test_erlang_a_with_endless_patience_approaches_erlang_c() -> None:
    c = erlang_c(calls_per_hour=200, aht_seconds=180, agents=12, sl_seconds=20)
    a = erlang_a(
        calls_per_hour=200, aht_seconds=180, agents=12, sl_seconds=20, patience_seconds=1e9
    )
    assert a.p_wait == pytest.approx(c.p_wait, abs=1e-6)
    assert a.service_level == pytest.approx(c.service_level, abs=1e-6)
    assert a.asa_seconds == pytest.approx(c.asa_seconds, rel=1e-5)
    assert a.p_abandon < 1e-6


def test_erlang_a_with_a_trickle_of_calls_answers_everyone_at_once() -> None:
    metrics = erlang_a(
        calls_per_hour=0.01, aht_seconds=180, agents=3, sl_seconds=20, patience_seconds=60
    )
    assert metrics.p_wait < 1e-9
    assert metrics.p_abandon < 1e-9
    assert metrics.service_level == pytest.approx(1.0, abs=1e-9)


def test_erlang_a_impatient_callers_wait_about_nothing() -> None:
    # Patience far below the SL threshold: whoever waits hangs up; answered callers barely wait.
    metrics = erlang_a(
        calls_per_hour=400, aht_seconds=180, agents=20, sl_seconds=20, patience_seconds=0.5
    )
    assert metrics.service_level == pytest.approx(1 - metrics.p_abandon, abs=1e-9)
    assert metrics.asa_seconds < 0.5


def test_erlang_a_at_twice_the_load_loses_half_the_calls_at_5000_agents() -> None:
    # Fluid limit: 5000 agents carry 5000 of the 10000 Erlangs; the rest abandon.
    metrics = erlang_a(
        calls_per_hour=200_000, aht_seconds=180, agents=5000, sl_seconds=20, patience_seconds=120
    )
    assert metrics.p_abandon == pytest.approx(0.5, abs=1e-3)
    assert metrics.occupancy == pytest.approx(1.0, abs=1e-3)
    assert metrics.p_wait == pytest.approx(1.0, abs=1e-6)


def test_erlang_a_at_5000_agents_is_finite_and_monotone() -> None:
    curve = [
        erlang_a(
            calls_per_hour=98_000,
            aht_seconds=180,
            agents=n,
            sl_seconds=20,
            patience_seconds=120,
        )
        for n in range(4000, 5001, 100)
    ]
    levels = [m.service_level for m in curve]
    assert all(0 < level <= 1 for level in levels)
    assert all(math.isfinite(m.asa_seconds) for m in curve)
    assert levels == sorted(levels)
    assert levels[0] < 0.85 < 0.99 < levels[-1]
    abandons = [m.p_abandon for m in curve]
    assert abandons == sorted(abandons, reverse=True)


@settings(max_examples=60, deadline=None)
@given(
    calls_per_hour=st.floats(1, 3000),
    aht=st.floats(30, 900),
    patience=st.floats(5, 900),
    agents=st.integers(1, 60),
    sl_seconds=st.floats(0, 120),
)
def test_erlang_a_invariants(
    calls_per_hour: float, aht: float, patience: float, agents: int, sl_seconds: float
) -> None:
    def at(n: int, t: float = sl_seconds) -> QueueMetrics:
        return erlang_a(
            calls_per_hour=calls_per_hour,
            aht_seconds=aht,
            agents=n,
            sl_seconds=t,
            patience_seconds=patience,
        )

    metrics, more = at(agents), at(agents + 1)
    for share in (metrics.p_wait, metrics.service_level, metrics.p_abandon, metrics.occupancy):
        assert 0 <= share <= 1 + 1e-12
    # Little's law for the queue: abandonment rate = patience rate * mean queue length.
    assert metrics.p_abandon * calls_per_hour / 3600 == pytest.approx(
        metrics.mean_queue_length / patience, rel=1e-9, abs=1e-12
    )
    # Answered within any time <= answered at all <= 1 - abandoned.
    assert metrics.service_level <= 1 - metrics.p_abandon + 1e-12
    assert at(agents, sl_seconds + 10).service_level >= metrics.service_level - 1e-12
    # One more agent never hurts (the staffing search relies on it).
    assert more.service_level >= metrics.service_level - 1e-12
    assert more.asa_seconds <= metrics.asa_seconds + 1e-9
    assert more.occupancy <= metrics.occupancy + 1e-12
    assert more.p_abandon <= metrics.p_abandon + 1e-12


@settings(max_examples=60, deadline=None)
@given(
    calls_per_hour=st.floats(1, 3000),
    aht=st.floats(30, 900),
    agents=st.integers(1, 80),
    sl_seconds=st.floats(0, 120),
)
def test_erlang_c_more_agents_never_hurt(
    calls_per_hour: float, aht: float, agents: int, sl_seconds: float
) -> None:
    def at(n: int) -> QueueMetrics:
        return erlang_c(
            calls_per_hour=calls_per_hour, aht_seconds=aht, agents=n, sl_seconds=sl_seconds
        )

    metrics, more = at(agents), at(agents + 1)
    assert 0 <= metrics.service_level <= more.service_level <= 1
    assert more.asa_seconds <= metrics.asa_seconds
    assert more.p_wait <= metrics.p_wait


# --- arguments --------------------------------------------------------------------------------


def test_offered_load_is_calls_per_second_times_aht() -> None:
    assert offered_load(calls_per_hour=200, aht_seconds=180) == pytest.approx(10.0)


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"calls_per_hour": -1.0}, "calls_per_hour"),
        ({"calls_per_hour": math.nan}, "calls_per_hour"),
        ({"aht_seconds": 0.0}, "aht_seconds"),
        ({"aht_seconds": -180.0}, "aht_seconds"),
        ({"agents": 0}, "agents"),
        ({"agents": -3}, "agents"),
        ({"sl_seconds": -1.0}, "sl_seconds"),
        ({"patience_seconds": 0.0}, "patience_seconds"),
        ({"patience_seconds": math.inf}, "patience_seconds"),
    ],
)
def test_out_of_range_arguments_are_named(arguments: dict[str, Any], named: str) -> None:
    values: dict[str, Any] = {
        "calls_per_hour": 200.0,
        "aht_seconds": 180.0,
        "agents": 14,
        "sl_seconds": 20.0,
        "patience_seconds": 120.0,
    }
    values.update(arguments)
    with pytest.raises(InvalidInput, match=named):
        erlang_a(**values)
