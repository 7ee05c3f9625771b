"""The digital twin against queueing theory: with Poisson arrivals, exponential handle times, one
FIFO queue, no wrap-up and offers answered at once, the simulated centre *is* M/M/N (Erlang C),
and with exponential patience M/M/N+M (Erlang A). So the simulated service level, ASA, abandon
rate and occupancy must agree with hotline.planning.erlang within a confidence interval the test
computes: batch means over one long run (a batch per report interval, the first dropped as
warm-up from an empty centre), 99% Student-t intervals.

Each check also bounds the interval's half-width, so a check cannot pass by being vague. Seeds
are fixed: a failure is reproducible, not a flake.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from statistics import NormalDist

import pytest

from hotline.planning.distributions import Exponential, PoissonProfile
from hotline.planning.erlang import QueueMetrics, erlang_a, erlang_c
from hotline.planning.simulator import AgentPlan, SimulationModel, Topic, simulate
from hotline.routing.stats import IntervalStats
from hotline.routing.types import AgentSkill, QueueSpec, SkillRequirement

CONFIDENCE = 0.99
SL_SECONDS = 20.0
WARM_UP_BATCHES = 1

pytestmark = pytest.mark.slow


def t_quantile(p: float, df: int) -> float:
    """Student-t quantile by the Cornish-Fisher expansion (Abramowitz & Stegun 26.7.5): good to
    about 1e-4 for the 25+ degrees of freedom used here, without scipy."""
    z = NormalDist().inv_cdf(p)
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    return z + g1 / df + g2 / df**2 + g3 / df**3 + g4 / df**4


@dataclass(frozen=True)
class Estimate:
    mean: float
    half_width: float

    def contains(self, value: float) -> bool:
        return abs(self.mean - value) <= self.half_width

    def __str__(self) -> str:
        return f"{self.mean:.4f} ± {self.half_width:.4f}"


def batch_means(values: list[float]) -> Estimate:
    n = len(values)
    half = t_quantile(0.5 + CONFIDENCE / 2, n - 1) * statistics.stdev(values) / math.sqrt(n)
    return Estimate(statistics.fmean(values), half)


@dataclass(frozen=True)
class Point:
    agents: int
    calls_per_hour: float
    aht_seconds: float
    patience_seconds: float | None
    contacts: int
    batches: int
    seed: int

    def theory(self) -> QueueMetrics:
        if self.patience_seconds is None:
            return erlang_c(
                calls_per_hour=self.calls_per_hour,
                aht_seconds=self.aht_seconds,
                agents=self.agents,
                sl_seconds=SL_SECONDS,
            )
        return erlang_a(
            calls_per_hour=self.calls_per_hour,
            aht_seconds=self.aht_seconds,
            agents=self.agents,
            sl_seconds=SL_SECONDS,
            patience_seconds=self.patience_seconds,
        )

    def simulate_batches(self) -> list[IntervalStats]:
        hours = self.contacts / self.calls_per_hour
        # Whole seconds: interval boundaries stay exact in floating point.
        batch = float(round(hours * 3600.0 / (self.batches + WARM_UP_BATCHES)))
        per_batch = self.calls_per_hour * batch / 3600.0
        queue = QueueSpec("q", (SkillRequirement("s"),), sl_target_seconds=SL_SECONDS)
        patience = None if self.patience_seconds is None else Exponential(self.patience_seconds)
        model = SimulationModel(
            queues=(queue,),
            topics=(Topic("t", "q", Exponential(self.aht_seconds), 1.0, patience),),
            arrivals=PoissonProfile(batch, (per_batch,) * (self.batches + WARM_UP_BATCHES)),
            agents=AgentPlan.team("a", self.agents, [AgentSkill("s")]),
            interval_seconds=batch,
            ring_seconds=0.0,  # an offer is answered at once: M/M/N has no ringing
            sample_seconds=batch,  # the queue-length chart is not needed here
        )
        result = simulate(model, seed=self.seed)
        rows = result.intervals()
        assert len(rows) == self.batches + WARM_UP_BATCHES
        return rows[WARM_UP_BATCHES:]


def load(erlangs: float, aht: float = 300.0) -> float:
    """Calls per hour that offer `erlangs` of work at handle time `aht`."""
    return erlangs * 3600.0 / aht


ERLANG_C_POINTS = {
    "10 agents at 80%": Point(10, load(8.0), 300.0, None, 100_000, 30, seed=11),
    "50 agents at 90%": Point(50, load(45.0), 300.0, None, 200_000, 30, seed=12),
    "350 agents at 93%": Point(350, load(325.5), 300.0, None, 400_000, 40, seed=13),
}

ERLANG_A_POINTS = {
    "14 agents, 200/h, AHT 180 s, patience 120 s": Point(14, 200.0, 180.0, 120.0, 80_000, 30, 21),
    "100 agents overloaded 110%, patience 60 s": Point(
        100, load(110.0), 300.0, 60.0, 150_000, 30, 22
    ),
    "370 agents at 97%, patience 180 s": Point(370, load(359.0), 300.0, 180.0, 400_000, 40, 23),
}


def _check(name: str, rows_values: list[float], expected: float, max_half_width: float) -> str:
    estimate = batch_means(rows_values)
    problems = []
    if not estimate.contains(expected):
        problems.append(f"{name}: simulated {estimate} does not contain theory {expected:.4f}")
    if estimate.half_width > max_half_width:
        problems.append(f"{name}: interval {estimate} wider than {max_half_width:.4f}")
    return "; ".join(problems)


def _values(rows: list[IntervalStats], attribute: str) -> list[float]:
    out = []
    for row in rows:
        value = getattr(row, attribute)
        assert value is not None, f"a batch without {attribute}: make batches longer"
        out.append(float(value))
    return out


@pytest.mark.parametrize("point", ERLANG_C_POINTS.values(), ids=ERLANG_C_POINTS.keys())
def test_without_abandonment_the_simulated_centre_matches_erlang_c(point: Point) -> None:
    theory = point.theory()
    rows = point.simulate_batches()
    # Without abandonment a busy centre drifts through long congested spells, so batch waits
    # vary a lot: the ASA interval is the widest of these checks, relatively (60%) or, where the
    # ASA is a second or two as in a large centre, absolutely (2 s).
    asa_width = max(0.6 * theory.asa_seconds, 2.0)
    problems = [
        _check("service level", _values(rows, "service_level"), theory.service_level, 0.05),
        _check("ASA", _values(rows, "asa_seconds"), theory.asa_seconds, asa_width),
        _check("occupancy", _values(rows, "occupancy"), theory.occupancy, 0.015),
    ]
    assert sum(row.abandoned for row in rows) == 0
    assert not any(problems), "; ".join(p for p in problems if p)


@pytest.mark.parametrize("point", ERLANG_A_POINTS.values(), ids=ERLANG_A_POINTS.keys())
def test_with_exponential_patience_the_simulated_centre_matches_erlang_a(point: Point) -> None:
    theory = point.theory()
    rows = point.simulate_batches()
    problems = [
        _check("service level", _values(rows, "service_level"), theory.service_level, 0.03),
        _check("ASA", _values(rows, "asa_seconds"), theory.asa_seconds, 0.35 * theory.asa_seconds),
        _check("abandon rate", _values(rows, "abandon_rate"), theory.p_abandon, 0.012),
        _check("occupancy", _values(rows, "occupancy"), theory.occupancy, 0.015),
    ]
    assert not any(problems), "; ".join(p for p in problems if p)


def test_the_t_quantile_matches_tabulated_values() -> None:
    # t tables: t(0.995; 29) = 2.756, t(0.995; 39) = 2.708, t(0.975; 30) = 2.042
    assert t_quantile(0.995, 29) == pytest.approx(2.756, abs=2e-3)
    assert t_quantile(0.995, 39) == pytest.approx(2.708, abs=2e-3)
    assert t_quantile(0.975, 30) == pytest.approx(2.042, abs=2e-3)
