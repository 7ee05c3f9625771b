"""Queue statistics, kept by the routing engine as it decides (pure, no I/O).

Two views, both cheap to update on the hot path:
- per interval (15 minutes by default; 30/60-minute views are merged from it), contacts counted in
  the interval they arrived in, as workforce planning counts them;
- a sliding window (e.g. the last 30 minutes, for the wallboard), built from one-minute buckets of
  what happened in each minute (answers, abandons).
Agent time (handling vs available) feeds occupancy per interval for the whole centre."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, fields, replace

_COUNTERS = (
    "offered",
    "answered",
    "abandoned",
    "short_abandoned",
    "answered_in_target",
    "wait_answered_sum",
    "handle_sum",
    "handled",
    "callbacks",
    "overflowed",
    "closed",
    "handling_seconds",
    "available_seconds",
)


@dataclass(slots=True)
class IntervalStats:
    """Counters of one queue (or all queues) over one interval."""

    start: float = 0.0
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    short_abandoned: int = 0  # abandons under the short-abandon threshold: out of the SL
    answered_in_target: int = 0
    wait_answered_sum: float = 0.0
    longest_wait: float = 0.0
    handle_sum: float = 0.0  # talk + wrap-up
    handled: int = 0
    callbacks: int = 0  # contacts that became callbacks
    overflowed: int = 0  # moved out to another queue
    closed: int = 0  # arrived while the queue was closed
    handling_seconds: float = 0.0  # agent time offered/busy/wrap-up (centre-wide rows only)
    available_seconds: float = 0.0  # agent time ready and idle (centre-wide rows only)

    @property
    def service_level(self) -> float | None:
        base = self.offered - self.short_abandoned
        return self.answered_in_target / base if base > 0 else None

    @property
    def asa_seconds(self) -> float | None:
        return self.wait_answered_sum / self.answered if self.answered else None

    @property
    def aht_seconds(self) -> float | None:
        return self.handle_sum / self.handled if self.handled else None

    @property
    def abandon_rate(self) -> float | None:
        return self.abandoned / self.offered if self.offered else None

    @property
    def occupancy(self) -> float | None:
        total = self.handling_seconds + self.available_seconds
        return self.handling_seconds / total if total > 0 else None

    def merge(self, other: IntervalStats) -> None:
        for name in _COUNTERS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.longest_wait = max(self.longest_wait, other.longest_wait)

    def as_dict(self) -> dict[str, float | int | None]:
        out: dict[str, float | int | None] = {f.name: getattr(self, f.name) for f in fields(self)}
        out.update(
            service_level=self.service_level,
            asa_seconds=self.asa_seconds,
            aht_seconds=self.aht_seconds,
            abandon_rate=self.abandon_rate,
            occupancy=self.occupancy,
        )
        return out


@dataclass(slots=True)
class _Minute:
    minute: int
    answered: int = 0
    answered_in_target: int = 0
    abandoned: int = 0
    short_abandoned: int = 0
    wait_answered_sum: float = 0.0
    handle_sum: float = 0.0
    handled: int = 0


class RoutingStats:
    """The engine's statistics. `bucket()` hands the engine the row a contact's counters go to."""

    ALL = ""  # key of the centre-wide rows

    def __init__(self, interval_seconds: float = 900.0, window_seconds: float = 1800.0) -> None:
        if interval_seconds <= 0:
            raise ValueError("interval_seconds must be positive")
        self.interval_seconds = interval_seconds
        self.window_seconds = window_seconds
        self._rows: dict[tuple[str, int], IntervalStats] = {}
        self._minutes: dict[str, deque[_Minute]] = {}
        # The centre-wide row of the interval [centre_start, centre_end) that agent time last
        # went to. Nearly every update falls in it again, so the engine's hot path adds to it
        # directly (see RoutingEngine._set_state) and only calls agent_time across a boundary.
        self.centre_start = float("inf")
        self.centre_end = float("-inf")
        self.centre_row = IntervalStats()

    # ---- updates (called by the engine) ----

    def bucket(self, queue_id: str, at: float) -> IntervalStats:
        index = int(at // self.interval_seconds)
        key = (queue_id, index)
        row = self._rows.get(key)
        if row is None:
            row = self._rows[key] = IntervalStats(start=index * self.interval_seconds)
        return row

    def minute(self, queue_id: str, at: float) -> _Minute:
        """The one-minute bucket for events happening at `at`, for the sliding window."""
        minute = int(at // 60)
        buckets = self._minutes.get(queue_id)
        if buckets is None:
            buckets = self._minutes[queue_id] = deque()
        if buckets and buckets[-1].minute >= minute:
            if buckets[-1].minute == minute:
                return buckets[-1]
            for bucket in reversed(buckets):  # an event stamped in an earlier minute: rare
                if bucket.minute == minute:
                    return bucket
        bucket = _Minute(minute)
        buckets.append(bucket)
        keep = int(self.window_seconds // 60) + 2
        while buckets and buckets[0].minute < minute - keep:
            buckets.popleft()
        return bucket

    def agent_time(self, start: float, end: float, handling: bool) -> None:
        """Account an agent's time in one state, split across interval boundaries."""
        length = self.interval_seconds
        while end > start:
            index = int(start // length)
            # the next boundary, nudged past `start` when float rounding puts it at or before it
            boundary = max((index + 1) * length, start + length * 1e-9)
            cut = end if end <= boundary else boundary
            row = self.bucket(self.ALL, start)
            if handling:
                row.handling_seconds += cut - start
            else:
                row.available_seconds += cut - start
            self.centre_start, self.centre_end, self.centre_row = index * length, boundary, row
            start = cut

    # ---- reading ----

    def intervals(
        self, queue_id: str | None = None, *, length: float | None = None
    ) -> list[IntervalStats]:
        """Rows sorted by start; `length` a multiple of the base interval (e.g. 1800, 3600)."""
        key = self.ALL if queue_id is None else queue_id
        found = sorted(((i, r) for (q, i), r in self._rows.items() if q == key), key=lambda x: x[0])
        rows = [replace(r) for _, r in found]  # copies: readers never change the counters
        if queue_id is not None:
            # agent time is kept centre-wide; a queue's rows carry the centre's occupancy
            for (index, _), row in zip(found, rows, strict=True):
                centre = self._rows.get((self.ALL, index))
                if centre is not None:
                    row.handling_seconds = centre.handling_seconds
                    row.available_seconds = centre.available_seconds
        if length is None or length == self.interval_seconds:
            return rows
        if length % self.interval_seconds:
            raise ValueError("length must be a multiple of the base interval")
        merged: dict[int, IntervalStats] = {}
        for row in rows:
            index = int(row.start // length)
            target = merged.get(index)
            if target is None:
                target = merged[index] = IntervalStats(start=index * length)
            target.merge(row)
        return [merged[i] for i in sorted(merged)]

    def total(self, queue_id: str | None = None) -> IntervalStats:
        out = IntervalStats(start=0.0)
        rows = self.intervals(queue_id)
        if rows:
            out.start = rows[0].start
        for row in rows:
            out.merge(row)
        return out

    def window(self, queue_id: str | None, now: float) -> IntervalStats:
        """What happened in the last `window_seconds` (by event time) in a queue or the centre."""
        out = IntervalStats(start=now - self.window_seconds)
        first = int((now - self.window_seconds) // 60)
        for bucket in self._minutes.get(self.ALL if queue_id is None else queue_id, ()):
            if bucket.minute <= first:
                continue
            out.answered += bucket.answered
            out.answered_in_target += bucket.answered_in_target
            out.abandoned += bucket.abandoned
            out.short_abandoned += bucket.short_abandoned
            out.wait_answered_sum += bucket.wait_answered_sum
            out.handle_sum += bucket.handle_sum
            out.handled += bucket.handled
        # in a window, contacts "offered" are those that reached an end of their wait in it
        out.offered = out.answered + out.abandoned
        return out
