"""`hotline simulate`: run the digital twin from the command line.

Two ways in: a few options for one queue (`--calls-per-hour 200 --aht 180 --agents 14`), or a
scenario file for everything else (queues, topics, shifts, callbacks; see docs/simulation.md).
Bad input ends in one line naming the option, or the file, line and field, with exit status 2.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from hotline.core.errors import InvalidInput

if TYPE_CHECKING:
    from hotline.planning.simulator import SimulationModel


@dataclass(frozen=True, slots=True)
class SimpleOptions:
    """The options that describe the one-queue model (None: not given)."""

    calls_per_hour: float | None = None
    aht: float | None = None
    agents: int | None = None
    hours: float | None = None
    patience: float | None = None
    sl_seconds: float | None = None
    wrap_up: float | None = None
    handle: str | None = None
    handle_sd: float | None = None
    interval_minutes: float | None = None
    arrivals: Path | None = None

    def given(self) -> list[str]:
        return [
            "--" + f.name.replace("_", "-")
            for f in fields(self)
            if getattr(self, f.name) is not None
        ]


_PATH = click.Path(path_type=Path, dir_okay=False)


@click.command("simulate")
@click.argument("scenario", required=False, type=_PATH)
@click.option("--calls-per-hour", type=float, help="Arrival rate (Poisson) of the one queue.")
@click.option("--aht", type=float, help="Mean handle time in seconds (talk; see --wrap-up).")
@click.option("--agents", type=int, help="Agents logged in for the whole run.")
@click.option("--hours", type=float, help="Simulated hours (default 8).")
@click.option(
    "--patience", type=float, help="Mean caller patience in seconds (exponential). Default: none."
)
@click.option("--sl-seconds", type=float, help="Service-level target time (default 20 s).")
@click.option("--wrap-up", type=float, help="Wrap-up after each contact (default 0 s).")
@click.option(
    "--handle",
    type=click.Choice(["exponential", "lognormal", "constant"]),
    help="Handle-time distribution (default exponential, as Erlang C assumes).",
)
@click.option("--handle-sd", type=float, help="Standard deviation of a lognormal handle time.")
@click.option("--interval-minutes", type=float, help="Report interval (default 15 minutes).")
@click.option(
    "--arrivals", type=_PATH, help="Replay arrival times from a CSV instead of --calls-per-hour."
)
@click.option("--volume-scale", type=float, help="Multiply arrival volumes (1.2: 20% more).")
@click.option("--seed", type=int, help="Random seed: the same seed gives the same result.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--csv", "csv_file", type=_PATH, help="Write the per-interval figures to a CSV file.")
@click.option("--chart", type=_PATH, help="Write a PNG chart of service level and queue length.")
def simulate_command(
    scenario: Path | None,
    volume_scale: float | None,
    seed: int | None,
    as_json: bool,
    csv_file: Path | None,
    chart: Path | None,
    **simple: object,
) -> None:
    """Simulate the contact centre, driving the production routing engine.

    \b
    One queue:   hotline simulate --calls-per-hour 200 --aht 180 --agents 14 --seed 1
    A scenario:  hotline simulate examples/scenario-covid.yaml --seed 1 --chart day.png

    Prints a table per interval (or JSON with --json): offered, answered, abandoned, service
    level, ASA, longest wait, abandon rate, occupancy, agents available and the longest queue.
    """
    # Imported here: `hotline --help` must not pay for numpy and the engine.
    from hotline.planning.report import format_table, summary, write_chart, write_csv
    from hotline.planning.simulator import simulate

    options = SimpleOptions(**simple)  # type: ignore[arg-type]
    if volume_scale is not None:
        _check(
            math.isfinite(volume_scale) and volume_scale > 0,
            "--volume-scale",
            "must be positive",
            volume_scale,
        )
    if scenario is not None:
        if options.given():
            raise InvalidInput(
                f"{', '.join(options.given())}: not with a scenario file (the file describes "
                "the model; only --seed, --volume-scale and the output options apply)"
            )
        from hotline.planning.scenario import load_scenario

        loaded = load_scenario(scenario)
        model = loaded.model
        if volume_scale is not None:
            model = scaled(model, volume_scale)
        if seed is None:
            seed = loaded.seed
    else:
        model = simple_model(options, volume_scale=volume_scale or 1.0)

    result = simulate(model, seed=seed)

    if csv_file is not None:
        _write(csv_file, lambda path: write_csv(result, path))
    if chart is not None:
        _write(chart, lambda path: write_chart(result, path))
    if as_json:
        click.echo(json.dumps(summary(result), indent=2))
    else:
        click.echo(format_table(result, wall_seconds=result.wall_seconds))


def _check(ok: bool, option: str, requirement: str, value: object) -> None:
    if not ok:
        raise InvalidInput(f"{option} {requirement} (got {value})", option=option)


def _seconds(value: float | None, option: str, default: float, *, zero_ok: bool) -> float:
    if value is None:
        return default
    ok = math.isfinite(value) and (value >= 0 if zero_ok else value > 0)
    _check(ok, option, "must be 0 or more seconds" if zero_ok else "must be positive", value)
    return value


def simple_model(options: SimpleOptions, *, volume_scale: float = 1.0) -> SimulationModel:
    """The one-queue model of the simple options: Poisson arrivals at a flat rate (or replayed
    ones), exponential handle time unless told otherwise, every agent logged in all the time."""
    from hotline.planning.distributions import (
        ArrivalSource,
        Constant,
        Distribution,
        Exponential,
        LogNormal,
        PoissonProfile,
    )
    from hotline.planning.scenario import read_arrivals_csv
    from hotline.planning.simulator import AgentPlan, SimulationModel, Topic
    from hotline.routing.types import AgentSkill, QueueSpec, SkillRequirement

    missing = [
        option
        for option, value in (("--aht", options.aht), ("--agents", options.agents))
        if value is None
    ]
    if options.calls_per_hour is None and options.arrivals is None:
        missing.insert(0, "--calls-per-hour (or --arrivals)")
    if missing:
        raise InvalidInput(
            f"missing {', '.join(missing)} (or give a scenario file; see hotline simulate --help)"
        )
    assert options.aht is not None
    assert options.agents is not None
    aht = _seconds(options.aht, "--aht", 0.0, zero_ok=False)
    agents = options.agents
    _check(agents >= 1, "--agents", "must be at least 1", agents)
    hours = _seconds(options.hours, "--hours", 8.0, zero_ok=False)
    sl_seconds = _seconds(options.sl_seconds, "--sl-seconds", 20.0, zero_ok=True)
    wrap_up = _seconds(options.wrap_up, "--wrap-up", 0.0, zero_ok=True)
    interval = 60.0 * _seconds(options.interval_minutes, "--interval-minutes", 15.0, zero_ok=False)
    patience: Distribution | None = None
    if options.patience is not None:
        patience = Exponential(_seconds(options.patience, "--patience", 0.0, zero_ok=False))
    handle: Distribution
    if options.handle == "lognormal":
        handle = LogNormal(aht, _seconds(options.handle_sd, "--handle-sd", aht, zero_ok=False))
    elif options.handle_sd is not None:
        raise InvalidInput("--handle-sd: only with --handle lognormal", option="--handle-sd")
    elif options.handle == "constant":
        handle = Constant(aht)
    else:
        handle = Exponential(aht)

    source: ArrivalSource
    if options.arrivals is not None:
        if options.calls_per_hour is not None:
            raise InvalidInput("--arrivals and --calls-per-hour: give one of them")
        if volume_scale != 1.0:
            raise InvalidInput("--volume-scale: not with --arrivals (a replay is as it was)")
        horizon = None if options.hours is None else hours * 3600.0
        source = read_arrivals_csv(options.arrivals, horizon=horizon)
    else:
        assert options.calls_per_hour is not None
        rate = options.calls_per_hour
        _check(math.isfinite(rate) and rate > 0, "--calls-per-hour", "must be positive", rate)
        source = PoissonProfile.constant(rate * volume_scale, hours, interval)

    queue = QueueSpec(
        "default",
        (SkillRequirement("default"),),
        wrap_up_seconds=wrap_up,
        sl_target_seconds=sl_seconds,
    )
    return SimulationModel(
        queues=(queue,),
        topics=(Topic("default", "default", handle, 1.0, patience),),
        arrivals=source,
        agents=AgentPlan.team("agent-", agents, [AgentSkill("default")]),
        interval_seconds=interval,
        name=f"one queue, {agents} agents",
    )


def scaled(model: SimulationModel, volume_scale: float) -> SimulationModel:
    """The model with every interval's expected volume multiplied (generated arrivals only)."""
    from hotline.planning.distributions import PoissonProfile

    source = model.arrivals
    if not isinstance(source, PoissonProfile):
        raise InvalidInput("--volume-scale: only for generated arrivals, not a replay")
    volumes = tuple(v * volume_scale for v in source.volumes)
    return replace(model, arrivals=replace(source, volumes=volumes))


def _write(path: Path, write: Callable[[Path], None]) -> None:
    try:
        write(path)
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot write: {exc.strerror}", file=str(path)) from None
