"""The staffing search (smallest sufficient team, occupancy cap, shrinkage) and forecast plans:
reading the CSV, per-interval staffing, and the CSV / chart / JSON a planner gets back."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pyworkforce.queuing import ErlangC

from hotline.core.errors import InvalidInput
from hotline.planning.staffing import (
    PLAN_COLUMNS,
    StaffingTarget,
    Workload,
    evaluate,
    format_plan,
    infer_interval_minutes,
    plan_as_dict,
    plan_staffing,
    read_forecast,
    required_agents,
    scheduled_agents,
    write_plan_chart,
    write_plan_csv,
)

DEMO = Workload(calls_per_hour=200, aht_seconds=180)
SL_80_20 = StaffingTarget(service_level=0.8, sl_seconds=20)


# --- the search -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    (
        "calls_per_30_min",
        "aht_minutes",
        "sl_seconds",
        "service_level",
        "max_occupancy",
        "shrinkage",
    ),
    [
        (100, 3, 20, 0.8, 1.0, 0.3),
        (20, 4, 15, 0.9, 1.0, 0.25),
        (5, 6, 20, 0.8, 1.0, 0.1),
        (3000, 3, 20, 0.8, 1.0, 0.35),
        (1500, 4, 30, 0.9, 0.85, 0.3),
    ],
)
def test_erlang_c_staffing_matches_pyworkforce(
    calls_per_30_min: float,
    aht_minutes: float,
    sl_seconds: float,
    service_level: float,
    max_occupancy: float,
    shrinkage: float,
) -> None:
    reference = ErlangC(
        transactions=calls_per_30_min,
        aht=aht_minutes,
        asa=sl_seconds / 60,
        interval=30,
        shrinkage=shrinkage,
    ).required_positions(service_level=service_level, max_occupancy=max_occupancy)
    ours = required_agents(
        workload=Workload(calls_per_hour=calls_per_30_min * 2, aht_seconds=aht_minutes * 60),
        target=StaffingTarget(
            service_level=service_level, sl_seconds=sl_seconds, max_occupancy=max_occupancy
        ),
        shrinkage=shrinkage,
    )
    assert ours.agents == reference["raw_positions"]
    assert ours.scheduled_agents == reference["positions"]
    assert ours.metrics.service_level == pytest.approx(reference["service_level"], rel=1e-9)


@pytest.mark.parametrize(
    "workload",
    [
        DEMO,
        Workload(calls_per_hour=200, aht_seconds=180, patience_seconds=120),
        Workload(calls_per_hour=9000, aht_seconds=240, patience_seconds=300),
        Workload(calls_per_hour=40, aht_seconds=300, patience_seconds=60),
    ],
    ids=["erlang-c", "erlang-a", "erlang-a-large", "erlang-a-small"],
)
@pytest.mark.parametrize(
    "target",
    [
        SL_80_20,
        StaffingTarget(service_level=0.95, sl_seconds=10),
        StaffingTarget(service_level=None, asa_seconds=15),
        StaffingTarget(service_level=0.5, sl_seconds=60, max_occupancy=0.8),
        StaffingTarget(service_level=None, asa_seconds=30, max_abandon=0.02),
    ],
    ids=["sl-80-20", "sl-95-10", "asa-15", "occupancy-80", "asa-30-abandon-2"],
)
def test_required_agents_is_the_fewest_that_meet_the_target(
    workload: Workload, target: StaffingTarget
) -> None:
    staffing = required_agents(workload=workload, target=target)
    fewer = evaluate(workload=workload, agents=staffing.agents - 1, sl_seconds=target.sl_seconds)
    assert target.met_by(staffing.metrics)
    assert not target.met_by(fewer)


def test_demo_workload_needs_14_agents_under_erlang_c_and_12_with_abandonment() -> None:
    patient = required_agents(workload=DEMO, target=SL_80_20)
    impatient = required_agents(
        workload=Workload(calls_per_hour=200, aht_seconds=180, patience_seconds=120),
        target=SL_80_20,
    )
    assert (patient.agents, impatient.agents) == (14, 12)
    assert impatient.metrics.p_abandon > 0


def test_abandon_cap_stops_an_asa_target_being_met_by_losing_callers() -> None:
    # ASA counts only answered callers: one agent "meets" 15 s while 65% of callers hang up.
    workload = Workload(calls_per_hour=12, aht_seconds=600, patience_seconds=60)
    asa_only = required_agents(workload=workload, target=StaffingTarget(None, asa_seconds=15))
    capped = required_agents(
        workload=workload, target=StaffingTarget(None, asa_seconds=15, max_abandon=0.1)
    )
    assert (asa_only.agents, asa_only.metrics.p_abandon > 0.6) == (1, True)
    assert capped.agents == 4
    assert capped.metrics.p_abandon <= 0.1


def test_occupancy_cap_adds_agents_beyond_the_service_level() -> None:
    # 100 Erlangs meet 80/20 with about 108 agents; at most 85% occupancy needs 100 / 0.85.
    workload = Workload(calls_per_hour=2000, aht_seconds=180)
    capped = required_agents(
        workload=workload, target=StaffingTarget(service_level=0.8, max_occupancy=0.85)
    )
    uncapped = required_agents(workload=workload, target=StaffingTarget(service_level=0.8))
    assert uncapped.agents < 118 == capped.agents


@pytest.mark.parametrize(
    ("agents", "shrinkage", "scheduled"),
    [(14, 0.3, 20), (21, 0.3, 30), (168, 0.3, 240), (10, 0.0, 10), (0, 0.5, 0), (7, 0.3, 10)],
)
def test_scheduled_agents_round_up_without_float_noise(
    agents: int, shrinkage: float, scheduled: int
) -> None:
    assert scheduled_agents(agents, shrinkage) == scheduled


def test_no_calls_need_no_agents() -> None:
    staffing = required_agents(
        workload=Workload(calls_per_hour=0, aht_seconds=180), target=SL_80_20, shrinkage=0.3
    )
    assert (staffing.agents, staffing.scheduled_agents) == (0, 0)


def test_thousands_of_erlangs_are_staffed() -> None:
    staffing = required_agents(
        workload=Workload(calls_per_hour=100_000, aht_seconds=180), target=SL_80_20
    )
    assert 5000 < staffing.agents < 5100
    assert staffing.metrics.service_level >= 0.8


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"service_level": 0.0}, "service level"),
        ({"service_level": 1.2}, "service level"),
        ({"service_level": 0.8, "asa_seconds": 20.0}, "not both"),
        ({"service_level": None}, "either"),
        ({"service_level": None, "asa_seconds": 0.0}, "ASA"),
        ({"max_occupancy": 0.0}, "occupancy"),
        ({"sl_seconds": -5.0}, "sl_seconds"),
        ({"max_abandon": 0.0}, "abandon"),
    ],
)
def test_bad_targets_are_refused(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        StaffingTarget(**arguments)


@pytest.mark.parametrize("shrinkage", [1.0, 1.5, -0.1])
def test_shrinkage_must_leave_someone_on_the_phones(shrinkage: float) -> None:
    with pytest.raises(InvalidInput, match="shrinkage"):
        required_agents(workload=DEMO, target=SL_80_20, shrinkage=shrinkage)


# --- forecasts --------------------------------------------------------------------------------


def write(tmp_path: Path, text: str, name: str = "forecast.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_forecast_rows_are_read_with_defaults_for_blank_cells(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "Interval,Calls,AHT,Patience\n08:00,50,200,\n8:30,100,,90\n\n09:00,0,180,\n",
    )
    rows = read_forecast(path, default_aht=240, default_patience=None)
    assert [(r.label, r.calls, r.aht_seconds, r.patience_seconds) for r in rows] == [
        ("08:00", 50, 200, None),
        ("8:30", 100, 240, 90),
        ("09:00", 0, 180, None),
    ]
    assert infer_interval_minutes(rows) == 30


def test_interval_length_is_the_shortest_gap_between_iso_intervals(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "interval,calls,aht\n"
        "2024-05-01T08:00,10,180\n2024-05-01T08:15,10,180\n2024-05-01T09:00,10,180\n",
    )
    assert infer_interval_minutes(read_forecast(path)) == 15


def test_plan_staffs_each_interval_from_its_calls_per_interval(tmp_path: Path) -> None:
    path = write(
        tmp_path, "interval,calls,aht,patience\n08:00,50,180,\n08:15,50,180,120\n08:30,0,180,\n"
    )
    plan = plan_staffing(intervals=read_forecast(path), target=SL_80_20, shrinkage=0.3)
    # 50 calls in 15 minutes are the demo's 200 calls per hour.
    assert plan.interval_minutes == 15
    assert [row.staffing.agents for row in plan.rows] == [14, 12, 0]
    assert [row.staffing.scheduled_agents for row in plan.rows] == [20, 18, 0]
    assert plan.peak.interval.label == "08:00"
    assert plan.agent_hours == pytest.approx((14 + 12) / 4)


def test_given_interval_length_overrides_the_inferred_one(tmp_path: Path) -> None:
    path = write(tmp_path, "interval,calls,aht\n08:00,100,180\n09:00,100,180\n")
    plan = plan_staffing(intervals=read_forecast(path), target=SL_80_20, interval_minutes=30)
    assert plan.rows[0].workload.calls_per_hour == 200
    assert plan.rows[0].staffing.agents == 14


def test_single_interval_defaults_to_30_minutes(tmp_path: Path) -> None:
    path = write(tmp_path, "interval,calls,aht\n08:00,100,180\n")
    plan = plan_staffing(intervals=read_forecast(path), target=SL_80_20)
    assert plan.interval_minutes == 30


def test_overlapping_intervals_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "interval,calls,aht\n08:00,100,180\n08:30,100,180\n")
    with pytest.raises(
        InvalidInput, match=r"forecast\.csv:3: column 'interval': 08:30 .*60-minute"
    ):
        plan_staffing(intervals=read_forecast(path), target=SL_80_20, interval_minutes=60)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"forecast\.csv: empty file"),
        ("interval,calls\n08:00,10\n", r"forecast\.csv:1: missing column 'aht'"),
        ("interval,calls,aht\n", r"forecast\.csv: no intervals"),
        ("interval,calls,aht\n08:00,10,180\n08:30,many,180\n", r":3: column 'calls': 'many'"),
        ("interval,calls,aht\n08:00,-4,180\n", r":2: column 'calls': must be a number >= 0"),
        ("interval,calls,aht\n08:00,4,0\n", r":2: column 'aht': must be a number > 0"),
        ("interval,calls,aht\n08:00,4,\n", r":2: column 'aht': empty"),
        ("interval,calls,aht\n08:00,4,nan\n", r":2: column 'aht': must be"),
        ("interval,calls,aht,patience\n08:00,4,180,-1\n", r":2: column 'patience'"),
        ("interval,calls,aht\neight,4,180\n", r":2: column 'interval': 'eight' is neither"),
        ("interval,calls,aht\n08:00,4,180,9\n", r":2: more fields"),
        ("interval,calls,aht\n08:00,4\n", r":2: fewer fields"),
        ("interval,calls,aht\n09:00,4,180\n08:30,4,180\n", r":3: column 'interval': 08:30 does"),
        ("interval,calls,aht\n2024-05-01T08:00,4,180\n08:30,4,180\n", "'interval': mixed formats"),
    ],
    ids=[
        "empty",
        "no-aht-column",
        "header-only",
        "calls-not-a-number",
        "negative-calls",
        "zero-aht",
        "blank-aht",
        "nan-aht",
        "negative-patience",
        "bad-interval",
        "extra-field",
        "missing-field",
        "unsorted",
        "mixed-formats",
    ],
)
def test_malformed_forecasts_name_file_line_and_column(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        read_forecast(write(tmp_path, text))


def test_non_utf8_forecast_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "forecast.csv"
    path.write_bytes(b"interval,calls,aht\n08:00,\xff\xfe,180\n")
    with pytest.raises(InvalidInput, match="not UTF-8"):
        read_forecast(path)


# --- output -----------------------------------------------------------------------------------


@pytest.fixture
def plan_file(tmp_path: Path) -> Path:
    return write(
        tmp_path,
        "interval,calls,aht,patience\n08:00,40,200,\n08:30,100,180,\n09:00,160,180,120\n",
    )


def test_plan_csv_has_one_line_per_interval(tmp_path: Path, plan_file: Path) -> None:
    plan = plan_staffing(intervals=read_forecast(plan_file), target=SL_80_20, shrinkage=0.25)
    out = tmp_path / "plan.csv"
    write_plan_csv(plan, out)
    with out.open(newline="") as stream:
        reader = csv.DictReader(stream)
        records = list(reader)
    assert tuple(reader.fieldnames or ()) == PLAN_COLUMNS
    assert [r["interval"] for r in records] == ["08:00", "08:30", "09:00"]
    assert [int(r["agents"]) for r in records] == [row.staffing.agents for row in plan.rows]
    assert [r["p_abandon"] == "" for r in records] == [True, True, False]
    assert float(records[1]["service_level"]) >= 0.8


def test_plan_chart_is_a_png(tmp_path: Path, plan_file: Path) -> None:
    plan = plan_staffing(intervals=read_forecast(plan_file), target=SL_80_20)
    out = tmp_path / "plan.png"
    write_plan_chart(plan, out)
    assert out.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_unwritable_output_is_an_invalid_input(tmp_path: Path, plan_file: Path) -> None:
    plan = plan_staffing(intervals=read_forecast(plan_file), target=SL_80_20)
    with pytest.raises(InvalidInput, match="cannot write"):
        write_plan_csv(plan, tmp_path / "missing-dir" / "plan.csv")


def test_plan_summary_names_the_peak(plan_file: Path) -> None:
    plan = plan_staffing(intervals=read_forecast(plan_file), target=SL_80_20)
    summary = plan_as_dict(plan)
    assert summary["peak_interval"] == "09:00"
    assert summary["peak_agents"] == max(r["agents"] for r in summary["intervals"])
    assert "peak:" in format_plan(plan)


def test_importing_staffing_does_not_import_matplotlib() -> None:
    probe = "import sys, hotline.planning.staffing_cli; print('matplotlib' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "False"
