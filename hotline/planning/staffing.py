"""Staffing: how many agents a queue needs to meet a service-level or ASA target, for one workload
or for every interval of a forecast, and the table, CSV, JSON and chart a planner reads.

The queueing math is in `hotline.planning.erlang`; this module searches over it, adds shrinkage and
the occupancy cap, and reads and writes files. Everything here is synchronous and free of global
state, so the CLI and (later) the API can call it directly.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

from hotline.core.errors import InvalidInput
from hotline.planning.erlang import QueueMetrics, erlang_a, erlang_c, offered_load

# Targets are met "to within rounding": 0.8 computed as 0.7999999999999 still counts.
_TOLERANCE = 1e-9
# A search that needs more agents than this has been given nonsense (or a target of exactly 1).
MAX_AGENTS = 1_000_000
DEFAULT_INTERVAL_MINUTES = 30.0


@dataclass(frozen=True, slots=True)
class StaffingTarget:
    """What "enough agents" means: a service level (share answered within `sl_seconds`) or an
    ASA, and at most `max_occupancy` so agents are not run at 100% for hours.

    Exactly one of `service_level` and `asa_seconds` is set; `sl_seconds` is also the threshold
    the reported service level is measured at when the target is an ASA. `max_abandon` caps the
    share of callers who hang up (Erlang A only): an ASA target alone counts only answered
    callers, so a team small enough to lose most callers can still meet it.
    """

    service_level: float | None = 0.8
    sl_seconds: float = 20.0
    asa_seconds: float | None = None
    max_occupancy: float = 1.0
    max_abandon: float | None = None

    def __post_init__(self) -> None:
        if (self.service_level is None) == (self.asa_seconds is None):
            raise InvalidInput("give either a service-level target or an ASA target, not both")
        if self.service_level is not None and not 0 < self.service_level <= 1:
            raise InvalidInput(
                f"service level target must be in (0, 1], got {self.service_level!r}"
            )
        if not (math.isfinite(self.sl_seconds) and self.sl_seconds >= 0):
            raise InvalidInput(
                f"sl_seconds must be a number of seconds >= 0, got {self.sl_seconds!r}"
            )
        if self.asa_seconds is not None and not (
            math.isfinite(self.asa_seconds) and self.asa_seconds > 0
        ):
            raise InvalidInput(
                f"ASA target must be a number of seconds > 0, got {self.asa_seconds!r}"
            )
        if not 0 < self.max_occupancy <= 1:
            raise InvalidInput(f"max occupancy must be in (0, 1], got {self.max_occupancy!r}")
        if self.max_abandon is not None and not 0 < self.max_abandon <= 1:
            raise InvalidInput(f"max abandon must be in (0, 1], got {self.max_abandon!r}")

    def met_by(self, metrics: QueueMetrics) -> bool:
        """Whether a staffing's metrics meet this target (both the SL/ASA and the occupancy)."""
        if metrics.occupancy > self.max_occupancy + _TOLERANCE:
            return False
        if self.max_abandon is not None and metrics.p_abandon > self.max_abandon + _TOLERANCE:
            return False
        if self.service_level is not None:
            return metrics.service_level >= self.service_level - _TOLERANCE
        assert self.asa_seconds is not None
        return metrics.asa_seconds <= self.asa_seconds + _TOLERANCE

    def describe(self) -> str:
        """One line for people, e.g. "80% answered within 20 s, occupancy at most 85%"."""
        if self.service_level is not None:
            goal = f"{_percent(self.service_level)} answered within {self.sl_seconds:g} s"
        else:
            goal = f"ASA at most {self.asa_seconds:g} s"
        if self.max_occupancy < 1:
            goal += f", occupancy at most {_percent(self.max_occupancy)}"
        if self.max_abandon is not None:
            goal += f", at most {_percent(self.max_abandon, 1)} abandoned"
        return goal


@dataclass(frozen=True, slots=True)
class Workload:
    """The calls one queue must absorb: a rate, a handle time and, for Erlang A, a patience."""

    calls_per_hour: float
    aht_seconds: float
    patience_seconds: float | None = None

    def __post_init__(self) -> None:
        offered_load(calls_per_hour=self.calls_per_hour, aht_seconds=self.aht_seconds)  # checks
        patience = self.patience_seconds
        if patience is not None and not (math.isfinite(patience) and patience > 0):
            raise InvalidInput(
                f"patience_seconds must be a number of seconds > 0, got {patience!r}"
            )


@dataclass(frozen=True, slots=True)
class Staffing:
    """Agents needed on the phones (`agents`), agents to schedule once shrinkage takes its share
    (`scheduled_agents`), and what that staffing achieves (`metrics`)."""

    agents: int
    scheduled_agents: int
    shrinkage: float
    metrics: QueueMetrics


def evaluate(*, workload: Workload, agents: int, sl_seconds: float) -> QueueMetrics:
    """The metrics of `agents` agents under Erlang A if a patience is known, else Erlang C."""
    if workload.patience_seconds is None:
        return erlang_c(
            calls_per_hour=workload.calls_per_hour,
            aht_seconds=workload.aht_seconds,
            agents=agents,
            sl_seconds=sl_seconds,
        )
    return erlang_a(
        calls_per_hour=workload.calls_per_hour,
        aht_seconds=workload.aht_seconds,
        agents=agents,
        sl_seconds=sl_seconds,
        patience_seconds=workload.patience_seconds,
    )


def scheduled_agents(agents: int, shrinkage: float) -> int:
    """Agents to schedule so that `agents` remain after shrinkage: ceil(agents / (1 - shrinkage)).

    The tolerance keeps 14 / 0.7 = 20.000000000000004 from becoming 21.
    """
    _check_shrinkage(shrinkage)
    return math.ceil(agents / (1.0 - shrinkage) - _TOLERANCE)


def staffing_for(
    *, workload: Workload, agents: int, sl_seconds: float, shrinkage: float
) -> Staffing:
    """A given number of agents, evaluated: for "what if we only have 12 people tonight?"."""
    metrics = evaluate(workload=workload, agents=agents, sl_seconds=sl_seconds)
    return Staffing(agents, scheduled_agents(agents, shrinkage), shrinkage, metrics)


def required_agents(
    *, workload: Workload, target: StaffingTarget, shrinkage: float = 0.0
) -> Staffing:
    """The fewest agents that meet `target`, then the scheduled agents after shrinkage.

    Under both models every added agent raises the service level and lowers ASA, occupancy and
    abandonment (the property tests check it), so a doubling search followed by bisection finds
    the smallest sufficient number.
    """
    _check_shrinkage(shrinkage)
    load = offered_load(calls_per_hour=workload.calls_per_hour, aht_seconds=workload.aht_seconds)
    if load == 0:
        agents = 0
    else:
        agents = _smallest(
            lambda n: target.met_by(
                evaluate(workload=workload, agents=n, sl_seconds=target.sl_seconds)
            ),
            start=_lower_bound(load, workload, target),
        )
    return staffing_for(
        workload=workload, agents=agents, sl_seconds=target.sl_seconds, shrinkage=shrinkage
    )


def _lower_bound(load: float, workload: Workload, target: StaffingTarget) -> int:
    """A number of agents no sufficient staffing is below, to start the search near the answer."""
    if workload.patience_seconds is None:
        # Erlang C needs more agents than Erlangs, and occupancy is exactly load / agents.
        return max(math.floor(load) + 1, math.ceil(load / target.max_occupancy - _TOLERANCE))
    # Agents answer at most `agents / load` of the calls: SL <= 1 - abandoned <= agents / load.
    answered = max(
        target.service_level or 0.0,
        1.0 - (target.max_abandon if target.max_abandon is not None else 1.0),
    )
    return max(1, math.floor(answered * load))


def _smallest(good: Callable[[int], bool], *, start: int) -> int:
    """Smallest n >= start with good(n), for a `good` that stays true once it is true."""
    if start > MAX_AGENTS:
        raise InvalidInput(f"this workload needs more than {MAX_AGENTS:,} agents; check the inputs")
    if good(start):
        return start
    low, step = start, 1
    while True:
        high = low + step
        if high > MAX_AGENTS:
            raise InvalidInput(
                f"the target is not met by any number of agents up to {MAX_AGENTS:,}"
            )
        if good(high):
            break
        low, step = high, step * 2
    while high - low > 1:
        middle = (low + high) // 2
        if good(middle):
            high = middle
        else:
            low = middle
    return high


# --- forecasts -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ForecastInterval:
    """One row of a forecast: calls expected in the interval that starts at `start`."""

    label: str  # the interval as written in the file, shown back to the planner
    start: datetime  # HH:MM labels are placed on 2000-01-01 so intervals can be compared
    calls: float
    aht_seconds: float
    patience_seconds: float | None
    line: int  # line in the file, for messages
    source: str = "forecast"  # the file, for messages


@dataclass(frozen=True, slots=True)
class PlanRow:
    """The staffing of one interval of a plan."""

    interval: ForecastInterval
    workload: Workload
    staffing: Staffing


@dataclass(frozen=True, slots=True)
class StaffingPlan:
    """Required agents per interval of a forecast, and the totals a planner schedules from."""

    interval_minutes: float
    target: StaffingTarget
    shrinkage: float
    rows: tuple[PlanRow, ...]

    @property
    def agent_hours(self) -> float:
        return sum(row.staffing.agents for row in self.rows) * self.interval_minutes / 60.0

    @property
    def scheduled_agent_hours(self) -> float:
        return (
            sum(row.staffing.scheduled_agents for row in self.rows) * self.interval_minutes / 60.0
        )

    @property
    def peak(self) -> PlanRow:
        """The first interval needing the most agents."""
        return max(self.rows, key=lambda row: row.staffing.agents)


REQUIRED_COLUMNS = ("interval", "calls")


def read_forecast(
    path: Path, *, default_aht: float | None = None, default_patience: float | None = None
) -> tuple[ForecastInterval, ...]:
    """Read a forecast CSV with columns interval (HH:MM or ISO date-time), calls (in that interval),
    aht (seconds) and optionally patience (seconds). Blank aht/patience cells take the defaults.

    Every problem is an `InvalidInput` whose message names the file, line and column, and whose
    details carry them (`file`, `line`, `column`) for the API.
    """
    name = str(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as stream:
            rows = list(_read_rows(stream, name, default_aht, default_patience))
    except UnicodeDecodeError as exc:
        raise _bad(name, None, None, f"not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise _bad(name, None, None, f"cannot read: {exc.strerror or exc}") from None
    if not rows:
        raise _bad(name, None, None, "no intervals after the header")
    kinds = {_kind(row) for row in rows}
    if len(kinds) > 1:
        raise _bad(
            name,
            None,
            "interval",
            f"mixed formats ({', '.join(sorted(kinds))}); use one throughout",
        )
    for before, after in zip(rows, rows[1:], strict=False):
        if after.start <= before.start:
            raise _bad(
                name,
                after.line,
                "interval",
                f"{after.label} does not come after {before.label} (line {before.line}); "
                "sort the file by interval",
            )
    return tuple(rows)


def _read_rows(
    stream: Iterable[str], name: str, default_aht: float | None, default_patience: float | None
) -> Iterable[ForecastInterval]:
    reader = csv.DictReader(stream)
    try:
        header = reader.fieldnames
        if not header:
            raise _bad(name, None, None, "empty file; expected a header line: interval,calls,aht")
        columns = [column.strip().lower() for column in header]
        reader.fieldnames = columns
        required = REQUIRED_COLUMNS if default_aht is not None else (*REQUIRED_COLUMNS, "aht")
        missing = [column for column in required if column not in columns]
        if missing:
            hint = " (or give --aht)" if missing == ["aht"] else ""
            raise _bad(
                name,
                1,
                None,
                f"missing column{'s' if len(missing) > 1 else ''} "
                f"{', '.join(repr(m) for m in missing)}{hint}; "
                f"found {', '.join(repr(c) for c in columns)}",
            )
        for row in reader:
            line = reader.line_num
            if None in row:
                raise _bad(name, line, None, f"more fields than the header's {len(columns)}")
            if any(value is None for value in row.values()):
                raise _bad(name, line, None, f"fewer fields than the header's {len(columns)}")
            cells = {key: value.strip() for key, value in row.items()}
            if not any(cells.values()):
                continue  # a line of bare commas, as spreadsheets leave behind

            calls = _number(cells, "calls", None, zero_ok=True, name=name, line=line)
            aht = _number(cells, "aht", default_aht, zero_ok=False, name=name, line=line)
            if calls is None or aht is None:
                column = "calls" if calls is None else "aht"
                hint = " (or give --aht for such rows)" if column == "aht" else ""
                raise _bad(name, line, column, f"empty{hint}")
            yield ForecastInterval(
                label=cells["interval"],
                start=_interval_start(cells["interval"], name, line),
                calls=calls,
                aht_seconds=aht,
                patience_seconds=_number(
                    cells, "patience", default_patience, zero_ok=False, name=name, line=line
                ),
                line=line,
                source=name,
            )
    except csv.Error as exc:
        raise _bad(name, reader.line_num, None, str(exc)) from None


def _number(
    cells: dict[str, str],
    column: str,
    default: float | None,
    *,
    zero_ok: bool,
    name: str,
    line: int,
) -> float | None:
    """A cell as a finite number >= 0 (> 0 unless `zero_ok`); blank or absent: `default`."""
    text = cells.get(column, "")
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise _bad(name, line, column, f"{text!r} is not a number") from None
    if not (math.isfinite(value) and (value > 0 or (zero_ok and value == 0))):
        raise _bad(name, line, column, f"must be a number {'>=' if zero_ok else '>'} 0, got {text}")
    return value


def _bad(name: str, line: int | None, column: str | None, problem: str) -> InvalidInput:
    """An error about a forecast file, as `file:line: column 'x': problem`."""
    where = name if line is None else f"{name}:{line}"
    what = problem if column is None else f"column '{column}': {problem}"
    return InvalidInput(f"{where}: {what}", file=name, line=line, column=column)


_TIME_DAY = datetime(2000, 1, 1)
_CLOCK_TIME = re.compile(r"\d{1,2}:\d{2}(:\d{2})?")  # 8:00, 08:00, 08:00:00


def _interval_start(text: str, name: str, line: int) -> datetime:
    try:
        if _CLOCK_TIME.fullmatch(text):
            hours, rest = text.split(":", 1)
            return datetime.combine(_TIME_DAY, time.fromisoformat(f"{int(hours):02d}:{rest}"))
        return datetime.fromisoformat(text)
    except ValueError:
        raise _bad(
            name, line, "interval", f"{text!r} is neither HH:MM nor an ISO date-time"
        ) from None


def _kind(interval: ForecastInterval) -> str:
    if _CLOCK_TIME.fullmatch(interval.label):
        return "HH:MM"
    return "date-times" if interval.start.tzinfo is None else "date-times with a time zone"


def infer_interval_minutes(intervals: Sequence[ForecastInterval]) -> float | None:
    """The interval length a forecast implies: the shortest gap between consecutive intervals
    (gaps may be longer where the line is closed). None for a single interval."""
    gaps = [
        (after.start - before.start) / timedelta(minutes=1)
        for before, after in zip(intervals, intervals[1:], strict=False)
    ]
    return min(gaps) if gaps else None


def plan_staffing(
    *,
    intervals: Sequence[ForecastInterval],
    target: StaffingTarget,
    shrinkage: float = 0.0,
    interval_minutes: float | None = None,
) -> StaffingPlan:
    """Required agents for every interval of a forecast. Without `interval_minutes` the length is
    inferred from the forecast (30 minutes for a single interval); with it, intervals may not
    overlap."""
    _check_shrinkage(shrinkage)
    inferred = infer_interval_minutes(intervals)
    if interval_minutes is None:
        minutes = inferred if inferred is not None else DEFAULT_INTERVAL_MINUTES
    else:
        if not (math.isfinite(interval_minutes) and interval_minutes > 0):
            raise InvalidInput(f"interval minutes must be > 0, got {interval_minutes!r}")
        minutes = interval_minutes
        for before, after in zip(intervals, intervals[1:], strict=False):
            gap = (after.start - before.start) / timedelta(minutes=1)
            if gap < minutes:
                raise _bad(
                    after.source,
                    after.line,
                    "interval",
                    f"{after.label} starts {gap:g} minutes after {before.label}, within the "
                    f"{minutes:g}-minute interval before it",
                )
    rows = []
    for interval in intervals:
        workload = Workload(
            calls_per_hour=interval.calls * 60.0 / minutes,
            aht_seconds=interval.aht_seconds,
            patience_seconds=interval.patience_seconds,
        )
        staffing = required_agents(workload=workload, target=target, shrinkage=shrinkage)
        rows.append(PlanRow(interval, workload, staffing))
    return StaffingPlan(minutes, target, shrinkage, tuple(rows))


def _check_shrinkage(shrinkage: float) -> None:
    if not 0 <= shrinkage < 1:
        raise InvalidInput(f"shrinkage must be in [0, 1), got {shrinkage!r}")


# --- output ----------------------------------------------------------------------------------


def staffing_as_dict(
    workload: Workload, staffing: Staffing, target: StaffingTarget | None
) -> dict[str, Any]:
    """The JSON shape of one staffing; infinities (an unstable Erlang C queue) become null."""
    metrics = staffing.metrics
    out: dict[str, Any] = {
        "model": metrics.model,
        "calls_per_hour": workload.calls_per_hour,
        "aht_seconds": workload.aht_seconds,
        "patience_seconds": workload.patience_seconds,
        "offered_load": metrics.offered_load,
        "target": None if target is None else _target_as_dict(target),
        "agents": staffing.agents,
        "shrinkage": staffing.shrinkage,
        "scheduled_agents": staffing.scheduled_agents,
        "sl_seconds": metrics.sl_seconds,
        "service_level": metrics.service_level,
        "asa_seconds": _finite(metrics.asa_seconds),
        "p_wait": metrics.p_wait,
        "occupancy": metrics.occupancy,
        "mean_queue_length": _finite(metrics.mean_queue_length),
    }
    if metrics.model == "erlang_a":
        out["p_abandon"] = metrics.p_abandon
    return out


def plan_as_dict(plan: StaffingPlan) -> dict[str, Any]:
    """The JSON shape of a plan: settings, one entry per interval, and totals."""
    peak = plan.peak
    return {
        "interval_minutes": plan.interval_minutes,
        "target": _target_as_dict(plan.target),
        "shrinkage": plan.shrinkage,
        "intervals": [_plan_row_record(row) for row in plan.rows],
        "peak_agents": peak.staffing.agents,
        "peak_scheduled_agents": peak.staffing.scheduled_agents,
        "peak_interval": peak.interval.label,
        "agent_hours": plan.agent_hours,
        "scheduled_agent_hours": plan.scheduled_agent_hours,
    }


PLAN_COLUMNS = (
    "interval",
    "calls",
    "aht_seconds",
    "patience_seconds",
    "calls_per_hour",
    "offered_load",
    "agents",
    "scheduled_agents",
    "service_level",
    "asa_seconds",
    "p_wait",
    "p_abandon",
    "occupancy",
)


def _plan_row_record(row: PlanRow) -> dict[str, Any]:
    metrics = row.staffing.metrics
    return {
        "interval": row.interval.label,
        "calls": row.interval.calls,
        "aht_seconds": row.interval.aht_seconds,
        "patience_seconds": row.interval.patience_seconds,
        "calls_per_hour": row.workload.calls_per_hour,
        "offered_load": metrics.offered_load,
        "agents": row.staffing.agents,
        "scheduled_agents": row.staffing.scheduled_agents,
        "service_level": metrics.service_level,
        "asa_seconds": _finite(metrics.asa_seconds),
        "p_wait": metrics.p_wait,
        "p_abandon": metrics.p_abandon if metrics.model == "erlang_a" else None,
        "occupancy": metrics.occupancy,
    }


def write_plan_csv(plan: StaffingPlan, path: Path) -> None:
    """The plan as CSV, one line per interval, for a spreadsheet or a scheduling tool."""
    try:
        with path.open("w", newline="", encoding="utf-8") as stream:
            writer = csv.DictWriter(stream, fieldnames=PLAN_COLUMNS)
            writer.writeheader()
            for row in plan.rows:
                record = _plan_row_record(row)
                writer.writerow({key: _csv_cell(value) for key, value in record.items()})
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot write: {exc.strerror or exc}") from None


def write_plan_chart(plan: StaffingPlan, path: Path) -> None:
    """A PNG of calls and required agents per interval. matplotlib is imported here, and drawn
    without pyplot's global state, so importing this module stays cheap and thread-safe."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    labels = [row.interval.label for row in plan.rows]
    positions = list(range(len(labels)))
    figure = Figure(figsize=(max(8.0, 0.25 * len(labels)), 6.0), layout="constrained")
    FigureCanvasAgg(figure)
    calls_axes, agents_axes = figure.subplots(2, 1, sharex=True, height_ratios=(1, 2))
    calls_axes.bar(positions, [row.interval.calls for row in plan.rows], color="#9ab")
    calls_axes.set_ylabel(f"calls per {plan.interval_minutes:g} min")
    edges = [position - 0.5 for position in [*positions, len(positions)]]
    agents_axes.stairs(
        [row.staffing.scheduled_agents for row in plan.rows],
        edges,
        baseline=None,
        linewidth=2,
        label=f"scheduled (shrinkage {_percent(plan.shrinkage)})",
    )
    agents_axes.stairs(
        [row.staffing.agents for row in plan.rows],
        edges,
        baseline=None,
        linewidth=2,
        label="on the phones",
    )
    agents_axes.set_ylabel("agents")
    agents_axes.set_ylim(bottom=0)
    agents_axes.legend(loc="upper left")
    every = max(1, len(labels) // 24)
    agents_axes.set_xticks(positions[::every], labels[::every], rotation=45, ha="right")
    figure.suptitle(f"Staffing plan: {plan.target.describe()}")
    try:
        figure.savefig(path, format="png", dpi=100)
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot write: {exc.strerror or exc}") from None


def format_staffing(workload: Workload, staffing: Staffing, target: StaffingTarget | None) -> str:
    """A short table for people reading a terminal."""
    metrics = staffing.metrics
    model = "Erlang C" if metrics.model == "erlang_c" else "Erlang A"
    lines = [
        f"{model}: {workload.calls_per_hour:g} calls/hour, AHT {workload.aht_seconds:g} s"
        + (
            f", patience {workload.patience_seconds:g} s"
            if workload.patience_seconds is not None
            else ""
        )
        + f" ({metrics.offered_load:.2f} Erlangs)",
    ]
    if target is not None:
        lines.append(f"target: {target.describe()}")
    cells = [
        ("agents on the phones", str(staffing.agents)),
        (
            f"agents to schedule ({_percent(staffing.shrinkage)} shrinkage)",
            str(staffing.scheduled_agents),
        ),
        (f"service level ({metrics.sl_seconds:g} s)", _percent(metrics.service_level, 1)),
        ("ASA", _seconds(metrics.asa_seconds)),
        ("callers who wait", _percent(metrics.p_wait, 1)),
    ]
    if metrics.model == "erlang_a":
        cells.append(("callers who abandon", _percent(metrics.p_abandon, 1)))
    cells.append(("occupancy", _percent(metrics.occupancy, 1)))
    width = max(len(label) for label, _ in cells)
    lines += [f"  {label:<{width}}  {value:>8}" for label, value in cells]
    if not metrics.stable:
        lines.append("  the queue is unstable: more calls arrive than these agents can handle")
    return "\n".join(lines)


def format_plan(plan: StaffingPlan) -> str:
    """The plan as an aligned table, one line per interval, with the totals under it."""
    erlang_a_used = any(row.workload.patience_seconds is not None for row in plan.rows)
    header = ["interval", "calls", "AHT s", "Erlangs", "agents", "scheduled", "SL", "ASA s", "occ."]
    if erlang_a_used:
        header.append("abandon")
    table = [header]
    for row in plan.rows:
        metrics = row.staffing.metrics
        cells = [
            row.interval.label,
            f"{row.interval.calls:g}",
            f"{row.interval.aht_seconds:g}",
            f"{metrics.offered_load:.2f}",
            str(row.staffing.agents),
            str(row.staffing.scheduled_agents),
            _percent(metrics.service_level, 1),
            f"{metrics.asa_seconds:.1f}",
            _percent(metrics.occupancy, 1),
        ]
        if erlang_a_used:
            cells.append(_percent(metrics.p_abandon, 1) if metrics.model == "erlang_a" else "-")
        table.append(cells)
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    lines = [
        "  ".join(
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(line, widths, strict=True))
        )
        for line in table
    ]
    peak = plan.peak
    lines += [
        "",
        f"target: {plan.target.describe()}; {plan.interval_minutes:g}-minute intervals; "
        f"shrinkage {_percent(plan.shrinkage)}",
        f"peak: {peak.staffing.agents} agents ({peak.staffing.scheduled_agents} scheduled) at "
        f"{peak.interval.label}; {plan.agent_hours:.1f} agent-hours "
        f"({plan.scheduled_agent_hours:.1f} scheduled)",
    ]
    return "\n".join(lines)


def _target_as_dict(target: StaffingTarget) -> dict[str, Any]:
    return {
        "service_level": target.service_level,
        "sl_seconds": target.sl_seconds,
        "asa_seconds": target.asa_seconds,
        "max_occupancy": target.max_occupancy,
        "max_abandon": target.max_abandon,
    }


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _csv_cell(value: Any) -> Any:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "" if value is None else value


def _percent(share: float, decimals: int = 0) -> str:
    return f"{share * 100:.{decimals}f}%"


def _seconds(seconds: float) -> str:
    return f"{seconds:.1f} s" if math.isfinite(seconds) else "never"
