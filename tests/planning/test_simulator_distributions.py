"""The simulator's random inputs: each distribution has the mean it is given, arrivals follow
their profile, and bad parameters are refused with a message naming them."""

from __future__ import annotations

import numpy as np
import pytest

from hotline.core.errors import InvalidInput
from hotline.planning.distributions import (
    Constant,
    Empirical,
    Exponential,
    LogNormal,
    PoissonProfile,
    ReplayedArrivals,
)

N = 200_000


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(3)


def test_exponential_draws_have_the_given_mean(rng: np.random.Generator) -> None:
    draws = Exponential(180.0).sample(rng, N)
    assert draws.mean() == pytest.approx(180.0, rel=0.01)
    assert draws.std() == pytest.approx(180.0, rel=0.02)


def test_lognormal_is_given_by_the_mean_and_sd_people_measure(rng: np.random.Generator) -> None:
    draws = LogNormal(300.0, 150.0).sample(rng, N)
    assert draws.mean() == pytest.approx(300.0, rel=0.01)
    assert draws.std() == pytest.approx(150.0, rel=0.03)
    assert draws.min() > 0


def test_empirical_resamples_only_the_measured_values(rng: np.random.Generator) -> None:
    dist = Empirical((60.0, 120.0, 600.0))
    draws = dist.sample(rng, N)
    assert set(np.unique(draws)) == {60.0, 120.0, 600.0}
    assert draws.mean() == pytest.approx(dist.mean, rel=0.01)


def test_constant_is_constant(rng: np.random.Generator) -> None:
    assert set(Constant(42.0).sample(rng, 10)) == {42.0}


@pytest.mark.parametrize(
    "make",
    [
        lambda: Exponential(0.0),
        lambda: Exponential(-5.0),
        lambda: LogNormal(100.0, 0.0),
        lambda: Constant(float("nan")),
        lambda: Empirical(()),
        lambda: Empirical((10.0, -1.0)),
    ],
)
def test_a_duration_must_be_positive(make: object) -> None:
    with pytest.raises(InvalidInput):
        make()  # type: ignore[operator]


def test_poisson_arrivals_follow_the_volume_profile(rng: np.random.Generator) -> None:
    profile = PoissonProfile(900.0, (1000.0, 0.0, 3000.0))
    counts = [0, 0, 0]
    for _ in range(20):
        for block in profile.blocks(rng, ["t"]):
            assert np.all(np.diff(block.times) >= 0)
            for index in range(3):
                inside = (block.times >= index * 900.0) & (block.times < (index + 1) * 900.0)
                counts[index] += int(inside.sum())
    assert counts[0] / 20 == pytest.approx(1000.0, rel=0.02)
    assert counts[1] == 0
    assert counts[2] / 20 == pytest.approx(3000.0, rel=0.02)


def test_a_flat_rate_over_part_of_an_interval_keeps_its_rate(rng: np.random.Generator) -> None:
    profile = PoissonProfile.constant(3600.0, 0.25, interval_seconds=3600.0)  # 15 minutes
    assert profile.duration == pytest.approx(900.0)
    assert profile.expected_count == pytest.approx(900.0)
    times = np.concatenate([b.times for b in profile.blocks(rng, ["t"])])
    assert times.max() < 900.0
    assert times.size == pytest.approx(900.0, rel=0.15)


def test_a_negative_volume_is_refused() -> None:
    with pytest.raises(InvalidInput, match="volume of interval 1"):
        PoissonProfile(900.0, (10.0, -1.0))


def test_replayed_arrivals_come_back_in_blocks_with_their_topics(
    rng: np.random.Generator,
) -> None:
    replay = ReplayedArrivals(
        tuple(float(t) for t in range(10)), topics=("b", None) * 5, block_size=4
    )
    blocks = list(replay.blocks(rng, ["a", "b"]))
    assert [b.times.size for b in blocks] == [4, 4, 2]
    assert blocks[0].topics is not None
    assert blocks[0].topics.tolist() == [1, -1, 1, -1]


def test_replayed_arrivals_must_be_sorted() -> None:
    with pytest.raises(InvalidInput, match="arrival 2"):
        ReplayedArrivals((5.0, 1.0))
