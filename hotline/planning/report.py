"""What a simulation run measured, for people and for programs: a text table, a JSON document,
a CSV file and a PNG chart (service level per interval and queue length over the day).

Figures come from the routing engine's own statistics (`SimulationResult.intervals`), so a
simulated service level is computed exactly as the live wallboard computes a real one. Outputs
carry the seed and never the wall time, so the same seed gives byte-identical files.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

from hotline.planning.simulator import SimulationResult
from hotline.routing.stats import IntervalStats

# The per-interval and total figures, in output order: (key, header in the table, format).
_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("offered", "offered", "d"),
    ("answered", "answered", "d"),
    ("abandoned", "abandoned", "d"),
    ("service_level", "SL", "%"),
    ("asa_seconds", "ASA s", ".1f"),
    ("longest_wait_seconds", "max wait s", ".0f"),
    ("abandon_rate", "aband.", "%"),
    ("occupancy", "occup.", "%"),
    ("agents", "agents", ".1f"),
    ("max_waiting", "max queue", "d"),
)


def clock_label(seconds: float) -> str:
    """`HH:MM` of a time of day given in seconds after midnight (past 24 h: `+1d HH:MM`)."""
    minutes = int(round(seconds / 60.0))
    days, minutes = divmod(minutes, 24 * 60)
    label = f"{minutes // 60:02d}:{minutes % 60:02d}"
    return f"+{days}d {label}" if days else label


def _figures(row: IntervalStats, length: float) -> dict[str, Any]:
    return {
        "offered": row.offered,
        "answered": row.answered,
        "abandoned": row.abandoned,
        "short_abandoned": row.short_abandoned,
        "answered_in_target": row.answered_in_target,
        "service_level": row.service_level,
        "asa_seconds": row.asa_seconds,
        "longest_wait_seconds": row.longest_wait,
        "abandon_rate": row.abandon_rate,
        "occupancy": row.occupancy,
        "aht_seconds": row.aht_seconds,
        "handled": row.handled,
        "callbacks": row.callbacks,
        # agents ready or handling (not on break, not logged out), on average over the interval
        "agents": (row.handling_seconds + row.available_seconds) / length if length > 0 else None,
    }


def _waiting_in(result: SimulationResult, start: float, end: float) -> tuple[int, float]:
    """Most and mean contacts waiting among the queue-length samples taken in [start, end)."""
    step = result.model.sample_seconds
    first = math.ceil(start / step - 1e-9)
    last = math.ceil(end / step - 1e-9)
    values = result.queue_samples[first:last]
    if not values:
        return 0, 0.0
    return max(values), sum(values) / len(values)


def summary(result: SimulationResult) -> dict[str, Any]:
    """The run as a JSON-ready mapping: totals at the top level (offered, answered, abandoned,
    service_level, asa_seconds, abandon_rate, occupancy...), then `queues` and `intervals`."""
    model = result.model
    length = model.interval_seconds
    horizon = result.horizon
    total = result.total()
    out: dict[str, Any] = {
        "name": model.name,
        "seed": result.seed,
        "simulated_hours": horizon / 3600.0,
        "interval_minutes": length / 60.0,
        "sl_target_seconds": {q.id: q.sl_target_seconds for q in model.queues},
        "contacts": result.contacts,
    }
    totals = _figures(total, horizon)
    max_waiting, mean_waiting = _waiting_in(result, 0.0, horizon)
    totals["max_waiting"] = max_waiting
    totals["mean_waiting"] = mean_waiting
    out.update(totals)
    out["outcomes"] = dict(sorted(result.outcomes.items()))
    out["queues"] = {}
    for queue in model.queues:
        figures = _figures(result.total(queue.id), horizon)
        del figures["occupancy"], figures["agents"]  # agent time is kept centre-wide
        out["queues"][queue.id] = figures
    intervals = []
    for row in result.intervals():
        end = min(row.start + length, horizon)
        figures = _figures(row, end - row.start)
        most, mean = _waiting_in(result, row.start, end)
        figures["max_waiting"] = most
        figures["mean_waiting"] = mean
        intervals.append(
            {"start": row.start, "time": clock_label(model.clock_start + row.start), **figures}
        )
    out["intervals"] = intervals
    return out


def _cell(value: Any, fmt: str) -> str:
    if value is None:
        return "-"
    if fmt == "%":
        return f"{value:.1%}"
    if fmt == "d":
        return str(int(value))
    return format(value, fmt)


def format_table(result: SimulationResult, *, wall_seconds: float | None = None) -> str:
    """A plain-text table: one row per interval, then the total and a line per queue."""
    data = summary(result)
    headers = ["time", *(h for _, h, _ in _COLUMNS)]
    rows = [
        [row["time"], *(_cell(row[key], fmt) for key, _, fmt in _COLUMNS)]
        for row in data["intervals"]
    ]
    total_row = ["total", *(_cell(data[key], fmt) for key, _, fmt in _COLUMNS)]
    widths = [max(len(h), *(len(r[i]) for r in [*rows, total_row])) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if i else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    rule = "-" * len(line(headers))
    targets = sorted(set(data["sl_target_seconds"].values()))
    target_text = "/".join(f"{t:g}" for t in targets)
    out = [
        f"{data['name']}: {data['contacts']} contacts over {data['simulated_hours']:g} h, "
        f"seed {data['seed']}; SL = answered within {target_text} s",
        line(headers),
        rule,
        *(line(r) for r in rows),
        rule,
        line(total_row),
    ]
    if len(data["queues"]) > 1:
        out.append("")
        q_headers = ["queue", "offered", "answered", "abandoned", "SL", "ASA s", "max wait s"]
        q_rows = [
            [
                queue_id,
                str(q["offered"]),
                str(q["answered"]),
                str(q["abandoned"]),
                _cell(q["service_level"], "%"),
                _cell(q["asa_seconds"], ".1f"),
                _cell(q["longest_wait_seconds"], ".0f"),
            ]
            for queue_id, q in data["queues"].items()
        ]
        q_widths = [max(len(h), *(len(r[i]) for r in q_rows)) for i, h in enumerate(q_headers)]
        for cells in [q_headers, *q_rows]:
            out.append(
                "  ".join(
                    c.rjust(w) if i else c.ljust(w)
                    for i, (c, w) in enumerate(zip(cells, q_widths, strict=True))
                )
            )
    if wall_seconds is not None and wall_seconds > 0:
        out.append(
            f"(simulated in {wall_seconds:.2f} s: {result.contacts / wall_seconds:,.0f} contacts/s)"
        )
    return "\n".join(out)


def write_csv(result: SimulationResult, path: Path) -> None:
    """One row per interval and a last `total` row; empty cells where a rate is undefined."""
    data = summary(result)
    keys = [
        "offered",
        "answered",
        "abandoned",
        "short_abandoned",
        "service_level",
        "asa_seconds",
        "longest_wait_seconds",
        "abandon_rate",
        "occupancy",
        "aht_seconds",
        "callbacks",
        "agents",
        "max_waiting",
        "mean_waiting",
    ]

    def cells(row: dict[str, Any]) -> list[str]:
        return ["" if row[k] is None else f"{row[k]:.6g}" for k in keys]

    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["start_seconds", "time", *keys])
        for row in data["intervals"]:
            writer.writerow([f"{row['start']:g}", row["time"], *cells(row)])
        writer.writerow(["", "total", *cells(data)])


def write_chart(result: SimulationResult, path: Path) -> None:
    """A PNG: service level (and abandon rate) per interval above, contacts waiting (sampled
    every `sample_seconds`) and agents available below, against the time of day."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = summary(result)
    model = result.model
    hours0 = model.clock_start / 3600.0
    length_h = model.interval_seconds / 3600.0
    starts = [hours0 + row["start"] / 3600.0 for row in data["intervals"]]
    sl = [
        math.nan if row["service_level"] is None else 100.0 * row["service_level"]
        for row in data["intervals"]
    ]
    abandon = [
        math.nan if row["abandon_rate"] is None else 100.0 * row["abandon_rate"]
        for row in data["intervals"]
    ]
    agents = [row["agents"] or 0.0 for row in data["intervals"]]
    sample_hours = [hours0 + t / 3600.0 for t in result.sample_times()]

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 7), sharex=True)
    top.bar(starts, sl, width=length_h * 0.9, align="edge", color="#4c78a8", label="service level")
    top.plot([s + length_h / 2 for s in starts], abandon, "o-", color="#e45756", label="abandoned")
    targets = "/".join(f"{t:g}" for t in sorted(set(data["sl_target_seconds"].values())))
    top.set_ylabel(f"% (SL: answered within {targets} s)")
    top.set_ylim(0, 105)
    top.grid(axis="y", alpha=0.3)
    top.legend(loc="lower left")
    total_sl = data["service_level"]
    top.set_title(
        f"{model.name}: {data['offered']} offered, SL "
        f"{'-' if total_sl is None else f'{total_sl:.1%}'}, "
        f"abandoned {(data['abandon_rate'] or 0):.1%}, occupancy {(data['occupancy'] or 0):.1%} "
        f"(seed {result.seed})"
    )

    bottom.plot(sample_hours, result.queue_samples, color="#f58518", lw=1, label="waiting")
    bottom.set_ylabel(f"contacts waiting (every {model.sample_seconds:g} s)")
    bottom.set_xlabel("time of day (h)")
    bottom.grid(alpha=0.3)
    right = bottom.twinx()
    right.step(
        [*starts, starts[-1] + length_h] if starts else [],
        [*agents, agents[-1]] if agents else [],
        where="post",
        color="#54a24b",
        lw=1.5,
        label="agents available",
    )
    right.set_ylabel("agents ready or handling")
    right.set_ylim(bottom=0)
    lines = bottom.get_legend_handles_labels()
    more = right.get_legend_handles_labels()
    bottom.legend(lines[0] + more[0], lines[1] + more[1], loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
