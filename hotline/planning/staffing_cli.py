"""`hotline staff`: agents needed for a service-level or ASA target, for one workload or for every
interval of a forecast CSV. Thin: it turns options into `hotline.planning.staffing` calls."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import click

from hotline.core.errors import InvalidInput
from hotline.planning.staffing import (
    DEFAULT_INTERVAL_MINUTES,
    StaffingTarget,
    Workload,
    format_plan,
    format_staffing,
    plan_as_dict,
    plan_staffing,
    read_forecast,
    required_agents,
    staffing_as_dict,
    staffing_for,
    write_plan_chart,
    write_plan_csv,
)

DEFAULT_SL = 0.8


def _finite(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    """Click's FloatRange lets 'nan' and 'inf' through; no option here means either."""
    if value is not None and not math.isfinite(value):
        raise click.BadParameter(f"{value} is not a finite number.", ctx=ctx, param=param)
    return value


def _seconds(*, min_open: bool) -> click.FloatRange:
    return click.FloatRange(min=0, min_open=min_open)


@click.command("staff")
@click.option(
    "--calls-per-hour",
    type=click.FloatRange(min=0),
    callback=_finite,
    help="Calls arriving per hour.",
)
@click.option(
    "--calls",
    "calls_per_interval",
    type=click.FloatRange(min=0),
    callback=_finite,
    help="Calls arriving per interval of --interval-minutes, instead of --calls-per-hour.",
)
@click.option(
    "--forecast",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV with columns interval (HH:MM or ISO date-time), calls, aht and optionally "
    "patience: staff every interval.",
)
@click.option(
    "--aht",
    type=_seconds(min_open=True),
    callback=_finite,
    help="Average handle time in seconds (talk + hold + wrap-up). With --forecast: for rows "
    "without one.",
)
@click.option(
    "--patience",
    type=_seconds(min_open=True),
    callback=_finite,
    help="Mean patience of callers in seconds: use Erlang A (callers abandon) instead of Erlang C.",
)
@click.option(
    "--sl",
    "service_level",
    type=click.FloatRange(0, 1, min_open=True),
    help=f"Service-level target: share of calls answered within --sl-seconds "
    f"[default: {DEFAULT_SL}].",
)
@click.option(
    "--sl-seconds",
    type=_seconds(min_open=False),
    callback=_finite,
    default=20.0,
    show_default=True,
    help="Service-level threshold in seconds.",
)
@click.option(
    "--asa",
    "asa_seconds",
    type=_seconds(min_open=True),
    callback=_finite,
    help="Target average speed of answer in seconds, instead of --sl.",
)
@click.option(
    "--shrinkage",
    type=click.FloatRange(0, 1, max_open=True),
    default=0.0,
    show_default=True,
    help="Share of paid time agents are not on the phones (breaks, training), 0 to <1.",
)
@click.option(
    "--max-occupancy",
    type=click.FloatRange(0, 1, min_open=True),
    default=1.0,
    show_default=True,
    help="Highest acceptable occupancy, (0, 1].",
)
@click.option(
    "--max-abandon",
    type=click.FloatRange(0, 1, min_open=True),
    help="With --patience: highest acceptable share of callers who abandon, (0, 1].",
)
@click.option(
    "--interval-minutes",
    type=click.IntRange(1, 1440),
    help="Interval length for --calls and --forecast [default: inferred from the forecast, "
    f"else {DEFAULT_INTERVAL_MINUTES:g}].",
)
@click.option(
    "--agents",
    type=click.IntRange(min=1),
    help="Evaluate this many agents instead of searching for the number needed.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --forecast: write the plan as CSV here.",
)
@click.option(
    "--chart",
    "chart_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --forecast: draw the plan as a PNG here.",
)
def staff_command(
    calls_per_hour: float | None,
    calls_per_interval: float | None,
    forecast: Path | None,
    aht: float | None,
    patience: float | None,
    service_level: float | None,
    sl_seconds: float,
    asa_seconds: float | None,
    shrinkage: float,
    max_occupancy: float,
    max_abandon: float | None,
    interval_minutes: int | None,
    agents: int | None,
    as_json: bool,
    csv_path: Path | None,
    chart_path: Path | None,
) -> None:
    """Agents needed to meet a service-level or ASA target (Erlang C, or Erlang A with --patience).

    \b
    Examples:
      hotline staff --calls-per-hour 200 --aht 180 --sl 0.8 --sl-seconds 20
      hotline staff --calls-per-hour 200 --aht 180 --patience 120 --asa 15 --max-abandon 0.05
      hotline staff --forecast forecast.csv --csv plan.csv --chart plan.png
    """
    sources = [
        option
        for option, value in (
            ("--calls-per-hour", calls_per_hour),
            ("--calls", calls_per_interval),
            ("--forecast", forecast),
        )
        if value is not None
    ]
    if len(sources) != 1:
        raise InvalidInput(
            "give exactly one of --calls-per-hour, --calls or --forecast"
            + (f" (got {', '.join(sources)})" if sources else "")
        )
    if service_level is not None and asa_seconds is not None:
        raise InvalidInput("give either --sl or --asa as the target, not both")
    if agents is not None and (service_level is not None or asa_seconds is not None):
        raise InvalidInput("--agents evaluates a given staffing; it takes no --sl or --asa target")
    if forecast is None and (csv_path is not None or chart_path is not None):
        raise InvalidInput("--csv and --chart write a forecast's plan; they need --forecast")
    target = StaffingTarget(
        service_level=DEFAULT_SL
        if asa_seconds is None and service_level is None
        else service_level,
        sl_seconds=sl_seconds,
        asa_seconds=asa_seconds,
        max_occupancy=max_occupancy,
        max_abandon=max_abandon,
    )

    if forecast is not None:
        if agents is not None:
            raise InvalidInput("--agents evaluates one workload; it cannot be used with --forecast")
        intervals = read_forecast(forecast, default_aht=aht, default_patience=patience)
        plan = plan_staffing(
            intervals=intervals,
            target=target,
            shrinkage=shrinkage,
            interval_minutes=interval_minutes,
        )
        if csv_path is not None:
            write_plan_csv(plan, csv_path)
        if chart_path is not None:
            write_plan_chart(plan, chart_path)
        _emit(plan_as_dict(plan) if as_json else format_plan(plan), as_json)
        return

    if aht is None:
        raise InvalidInput("--aht (average handle time in seconds) is required")
    if max_abandon is not None and patience is None:
        raise InvalidInput("--max-abandon needs --patience: Erlang C assumes nobody abandons")
    if calls_per_hour is None:
        assert calls_per_interval is not None
        minutes = float(interval_minutes or DEFAULT_INTERVAL_MINUTES)
        calls_per_hour = calls_per_interval * 60.0 / minutes
    workload = Workload(calls_per_hour=calls_per_hour, aht_seconds=aht, patience_seconds=patience)
    if agents is None:
        staffing = required_agents(workload=workload, target=target, shrinkage=shrinkage)
        shown_target: StaffingTarget | None = target
    else:
        staffing = staffing_for(
            workload=workload, agents=agents, sl_seconds=sl_seconds, shrinkage=shrinkage
        )
        shown_target = None
    if as_json:
        _emit(staffing_as_dict(workload, staffing, shown_target), as_json)
    else:
        _emit(format_staffing(workload, staffing, shown_target), as_json)


def _emit(output: dict[str, Any] | str, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(output, indent=2, allow_nan=False))
    else:
        click.echo(output)
