"""The random inputs of the digital twin: handle times, caller patience and arrival streams.

Everything here draws with numpy in blocks (one call per interval or per few thousand contacts,
never one per contact) because the simulator's loop must stay lean: it then reads plain Python
floats. The classes are frozen and pure; reading files (an arrivals CSV, an empirical sample) is
the scenario loader's job.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from hotline.core.errors import InvalidInput

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def _positive(name: str, value: float) -> None:
    if not math.isfinite(value) or value <= 0:
        raise InvalidInput(f"{name} must be a positive number of seconds (got {value!r})")


class Distribution(ABC):
    """A distribution of durations in seconds (handle time, patience, dial time)."""

    @property
    @abstractmethod
    def mean(self) -> float:
        """The expected value, in seconds: what an Erlang formula would be given."""

    @abstractmethod
    def sample(self, rng: np.random.Generator, size: int) -> FloatArray:
        """`size` independent draws."""

    @abstractmethod
    def describe(self) -> str:
        """A short human description, for reports."""


@dataclass(frozen=True, slots=True)
class Exponential(Distribution):
    """Memoryless durations: what Erlang C assumes of handle time, and Erlang A of patience."""

    mean_seconds: float

    def __post_init__(self) -> None:
        _positive("exponential mean", self.mean_seconds)

    @property
    def mean(self) -> float:
        return self.mean_seconds

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray:
        return rng.exponential(self.mean_seconds, size)

    def describe(self) -> str:
        return f"exponential(mean={self.mean_seconds:g}s)"


@dataclass(frozen=True, slots=True)
class LogNormal(Distribution):
    """Right-skewed durations, given by the mean and standard deviation people measure (not the
    underlying normal's mu and sigma): real handle times look like this more than exponential."""

    mean_seconds: float
    sd_seconds: float
    _mu: float = field(init=False, repr=False, compare=False)
    _sigma: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _positive("lognormal mean", self.mean_seconds)
        _positive("lognormal sd", self.sd_seconds)
        sigma2 = math.log1p((self.sd_seconds / self.mean_seconds) ** 2)
        object.__setattr__(self, "_sigma", math.sqrt(sigma2))
        object.__setattr__(self, "_mu", math.log(self.mean_seconds) - sigma2 / 2)

    @property
    def mean(self) -> float:
        return self.mean_seconds

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray:
        return rng.lognormal(self._mu, self._sigma, size)

    def describe(self) -> str:
        return f"lognormal(mean={self.mean_seconds:g}s, sd={self.sd_seconds:g}s)"


@dataclass(frozen=True, slots=True)
class Constant(Distribution):
    """Always the same duration: for what-if checks and deterministic tests."""

    seconds: float

    def __post_init__(self) -> None:
        _positive("constant duration", self.seconds)

    @property
    def mean(self) -> float:
        return self.seconds

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray:
        return np.full(size, self.seconds, dtype=np.float64)

    def describe(self) -> str:
        return f"constant({self.seconds:g}s)"


@dataclass(frozen=True, slots=True)
class Empirical(Distribution):
    """Resamples measured durations (e.g. last month's handle times of a topic) with replacement,
    so the simulated shape is the real one, tail and all."""

    values: tuple[float, ...]
    _array: FloatArray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.values:
            raise InvalidInput("an empirical distribution needs at least one value")
        array = np.asarray(self.values, dtype=np.float64)
        bad = ~np.isfinite(array) | (array <= 0)
        if bad.any():
            raise InvalidInput(
                f"empirical durations must be positive seconds (got {array[bad][0]!r})"
            )
        object.__setattr__(self, "_array", array)

    @property
    def mean(self) -> float:
        return float(self._array.mean())

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray:
        return self._array[rng.integers(0, self._array.size, size)]

    def describe(self) -> str:
        return f"empirical({self._array.size} values, mean={self.mean:.1f}s)"


# ---- arrivals ----


@dataclass(frozen=True, slots=True)
class ArrivalBlock:
    """A run of consecutive arrivals, in time order. `topics` (indexes into the scenario's topic
    list, -1 = draw from the mix) and `handle_seconds` (NaN = draw from the topic's distribution)
    are only set when replayed data carries them."""

    times: FloatArray
    topics: IntArray | None = None
    handle_seconds: FloatArray | None = None


class ArrivalSource(ABC):
    """Where contacts come from: generated from a forecast, or replayed from real arrival times."""

    @property
    @abstractmethod
    def duration(self) -> float:
        """Seconds from the start until arrivals stop."""

    @property
    @abstractmethod
    def expected_count(self) -> float:
        """Expected number of arrivals, for sizing and for reports."""

    @abstractmethod
    def blocks(self, rng: np.random.Generator, topic_ids: Sequence[str]) -> Iterator[ArrivalBlock]:
        """Arrival blocks in time order, drawn lazily so a long campaign never holds every
        contact's data at once."""


@dataclass(frozen=True, slots=True)
class PoissonProfile(ArrivalSource):
    """Poisson arrivals whose rate is constant within each interval and follows a volume profile
    (expected contacts per interval, as a forecast gives them). Drawing the count per interval and
    then uniform times within it is exactly a piecewise-constant Poisson process."""

    interval_seconds: float
    volumes: tuple[float, ...]
    horizon: float | None = None  # arrivals stop here, inside the last interval; None: at its end

    def __post_init__(self) -> None:
        _positive("interval length", self.interval_seconds)
        if self.horizon is not None:
            _positive("horizon", self.horizon)
        if not self.volumes:
            raise InvalidInput("a volume profile needs at least one interval")
        for index, volume in enumerate(self.volumes):
            if not math.isfinite(volume) or volume < 0:
                raise InvalidInput(
                    f"volume of interval {index} must be zero or more contacts (got {volume!r})"
                )

    @classmethod
    def constant(
        cls, calls_per_hour: float, hours: float, interval_seconds: float = 900.0
    ) -> PoissonProfile:
        """A flat rate over `hours`: the profile behind the simple command line."""
        if not math.isfinite(calls_per_hour) or calls_per_hour <= 0:
            raise InvalidInput(f"calls per hour must be positive (got {calls_per_hour!r})")
        _positive("hours", hours)
        horizon = hours * 3600.0
        count = max(1, math.ceil(horizon / interval_seconds - 1e-9))
        per_interval = calls_per_hour * interval_seconds / 3600.0
        return cls(interval_seconds, (per_interval,) * count, horizon=horizon)

    @property
    def duration(self) -> float:
        whole = self.interval_seconds * len(self.volumes)
        return whole if self.horizon is None else min(whole, self.horizon)

    @property
    def expected_count(self) -> float:
        total = 0.0
        for index, volume in enumerate(self.volumes):
            start = index * self.interval_seconds
            covered = min(self.interval_seconds, self.duration - start)
            if covered > 0:
                total += volume * covered / self.interval_seconds
        return total

    def blocks(self, rng: np.random.Generator, topic_ids: Sequence[str]) -> Iterator[ArrivalBlock]:
        length = self.interval_seconds
        horizon = self.duration
        for index, volume in enumerate(self.volumes):
            start = index * length
            if start >= horizon:
                break
            count = int(rng.poisson(volume)) if volume > 0 else 0
            if count == 0:
                continue
            offsets = rng.random(count)
            offsets.sort()
            times = start + offsets * length
            if start + length > horizon:
                # The rate stays that of a whole interval; arrivals after the horizon are cut.
                times = times[times < horizon]
            yield ArrivalBlock(times=times)


@dataclass(frozen=True, slots=True)
class ReplayedArrivals(ArrivalSource):
    """Real arrival times (seconds from the start, sorted), with the topic and handle time of each
    contact when the record has them: to ask "what if we had staffed that day differently"."""

    times: tuple[float, ...]
    topics: tuple[str | None, ...] | None = None
    handle_seconds: tuple[float | None, ...] | None = None
    horizon: float | None = None  # None: up to the last arrival
    block_size: int = 4096

    def __post_init__(self) -> None:
        previous = 0.0
        for index, at in enumerate(self.times):
            if not math.isfinite(at) or at < previous:
                raise InvalidInput(
                    f"arrival {index + 1}: times must be non-negative and sorted (got {at!r})"
                )
            previous = at
        for name, column in (("topics", self.topics), ("handle_seconds", self.handle_seconds)):
            if column is not None and len(column) != len(self.times):
                raise InvalidInput(f"replayed {name} must have one value per arrival")
        if self.horizon is not None:
            _positive("replay horizon", self.horizon)

    @property
    def duration(self) -> float:
        if self.horizon is not None:
            return self.horizon
        return self.times[-1] if self.times else 0.0

    @property
    def expected_count(self) -> float:
        if self.horizon is None:
            return float(len(self.times))
        return float(sum(1 for at in self.times if at < self.horizon))

    def blocks(self, rng: np.random.Generator, topic_ids: Sequence[str]) -> Iterator[ArrivalBlock]:
        index_of = {topic: index for index, topic in enumerate(topic_ids)}
        end = len(self.times)
        if self.horizon is not None:
            end = int(np.searchsorted(np.asarray(self.times), self.horizon, side="left"))
        for first in range(0, end, self.block_size):
            last = min(first + self.block_size, end)
            topics: IntArray | None = None
            if self.topics is not None:
                topics = np.fromiter(
                    (-1 if name is None else index_of[name] for name in self.topics[first:last]),
                    dtype=np.int64,
                    count=last - first,
                )
            handle: FloatArray | None = None
            if self.handle_seconds is not None:
                handle = np.fromiter(
                    (
                        math.nan if value is None else value
                        for value in self.handle_seconds[first:last]
                    ),
                    dtype=np.float64,
                    count=last - first,
                )
            yield ArrivalBlock(
                times=np.asarray(self.times[first:last], dtype=np.float64),
                topics=topics,
                handle_seconds=handle,
            )
